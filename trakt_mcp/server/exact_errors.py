"""Middleware that names what was wrong in a malformed request. The SDK checks a spec method's params against the
protocol's own models before any handler runs and answers a failure with -32602 "Invalid request parameters" and
nothing else, so a client cannot tell which parameter to fix. This re-checks those params the same way and
answers with the same code, naming each offending parameter and what was expected (never echoing its value)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from mcp_types import methods
from pydantic import ValidationError

SDK_MESSAGE = "Invalid request parameters"
MAX_PROBLEMS = 5


async def name_invalid_params(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    try:
        return await call_next(ctx)
    except (MCPError, ValidationError) as exc:
        # The SDK raises pydantic's ValidationError (its dispatcher turns it into the bare -32602) or an MCPError.
        if isinstance(exc, MCPError) and (exc.error.code != INVALID_PARAMS or exc.error.message != SDK_MESSAGE):
            raise
        problems = _problems(ctx.method, str(ctx.protocol_version), ctx.params)
        if not problems:
            raise
        where = "; ".join(f"{path}: {what}" for path, what in problems[:MAX_PROBLEMS])
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Invalid params for {ctx.method}: {where}",
            data={"params": [path for path, _ in problems[:MAX_PROBLEMS]]},
        ) from None


def _problems(method: str, version: str, params: Any) -> list[tuple[str, str]]:
    try:
        methods.validate_client_request(method, version, params)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            loc = [str(part) for part in error["loc"] if not str(part).startswith(("function-", "tagged-union"))]
            path = ".".join(loc[1:] if loc and loc[0] == "params" else loc) or "params"
            found.setdefault(path, "required" if error["type"] == "missing" else error["msg"])
        return list(found.items())
    except Exception:  # a method the protocol does not describe at this version: nothing to add
        return []
    return []
