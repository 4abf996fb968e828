"""JSON from outside the process, read within bounds: at most `max_bytes` long and `max_depth` levels deep, so a
hostile line (a few thousand nested brackets, a gigabyte of text) gets an error instead of a RecursionError or an
exhausted memory. Used by every reader of untrusted JSON: the stdio reader, the policy file, Trakt's answers."""

from __future__ import annotations

import json
import re
from typing import Any

#: Deeper than any MCP request, tool argument, policy or Trakt answer needs, far below Python's recursion limit.
MAX_DEPTH = 64
#: A stdio request line or a policy file; Trakt's answers get their own, larger bound.
MAX_BYTES = 4 * 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONLimitError(ValueError):
    """The text is not JSON this reader accepts: too long, too deep, not JSON at all, or holds a lone surrogate.
    A ValueError, so code that already handles `json.loads` failures handles it too."""


def loads(
    data: str | bytes,
    *,
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_BYTES,
    allow_surrogates: bool = True,
) -> Any:
    """`json.loads` within bounds. `allow_surrogates=False` refuses a string holding a lone UTF-16 surrogate
    (`"\\ud800"`), which is valid JSON text but cannot be encoded as UTF-8 and so cannot be a Unicode string."""
    if len(data) > max_bytes:
        raise JSONLimitError(f"longer than {max_bytes} bytes")
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONLimitError(f"nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError as exc:
        raise JSONLimitError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise JSONLimitError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    _check(value, max_depth, allow_surrogates)
    return value


def _check(value: Any, max_depth: int, allow_surrogates: bool) -> None:
    """Walks the parsed value without recursion, so its own depth is no risk. When strings may hold anything, only
    containers can break a bound, so only they are visited (a Trakt answer is mostly scalars)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise JSONLimitError(f"nested deeper than {max_depth} levels")
            if allow_surrogates:
                members = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in members if isinstance(child, dict | list))
            else:
                children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and not allow_surrogates and _SURROGATE.search(item):
            raise JSONLimitError("a string holds a lone UTF-16 surrogate, which is not Unicode text")
