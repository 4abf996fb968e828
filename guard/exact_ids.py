"""Answers are matched to questions by their exact JSON-RPC id, type included: the string "5" is not the integer 5.

When a response arrives, the MCP SDK looks its request up by `coerce_request_id(id)`, which folds a numeric
string into an int (deliberately, for peers that echo ids as strings: modelcontextprotocol/python-sdk#1720; the
folding is questioned in python-sdk#3432). So a client could answer the guard's elicitation request 5 with a
response under "5", a message the spec says answers a different request. The SDK only ever mints integer ids for
the requests this server sends, so at this edge a response whose id is a numeric *string* can answer none of them:
it is dropped (logged at debug), and the question waits for a real answer.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

log = logging.getLogger("guard")
_MARK = "_guard_exact_ids"


def install() -> None:
    """Make response correlation exact (idempotent; applies to every dispatcher in the process)."""
    original = JSONRPCDispatcher._resolve_pending
    if getattr(original, _MARK, False):
        return

    def resolve_exactly(self: JSONRPCDispatcher[Any], request_id: Any, outcome: Any) -> None:
        if isinstance(request_id, str) and coerce_request_id(request_id) != request_id:
            log.debug("dropping a response under the string id %r: this server's requests have integer ids", request_id)
            return
        original(self, request_id, outcome)

    setattr(resolve_exactly, _MARK, True)
    JSONRPCDispatcher._resolve_pending = resolve_exactly  # type: ignore[method-assign]
