"""A small MCP server of its own, guarded: the guard is generic, so its behaviour is tested without Trakt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, types
from mcp.server.mcpserver import MCPServer

from guard.approvals import Approvals
from guard.audit import AuditLog
from guard.catalog import Catalog, InvalidArguments, ResourceInfo, ToolInfo
from guard.channels.host import HostChannel
from guard.engine import Engine
from guard.middleware import Guard
from guard.policy import read_policy
from guard.ratelimit import RateLimiter
from guard.reload import PolicyWatcher
from guard.store.sqlite import SqliteStore

#: The input schema of every demo tool (what the handlers below accept), for argument conditions.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "default": 0},
        "note": {"type": "string", "default": ""},
        "token": {"type": "string", "default": ""},
    },
}
TOOLS = [
    ToolInfo("fetch_item", "items", "read", input_schema=SCHEMA),
    ToolInfo("fetch_item_comments", "comments", "read", input_schema=SCHEMA),
    ToolInfo("add_item", "items", "write", input_schema=SCHEMA),
    ToolInfo("remove_item", "items", "destructive", input_schema=SCHEMA),
    ToolInfo("remove_everything", "admin", "destructive", input_schema=SCHEMA),
    ToolInfo("sign_in", "auth", "auth", input_schema=SCHEMA),
]
RESOURCES = [ResourceInfo("demo://items/1", "fetch_item", {"id": 1})]


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    """The server, its guard, the handler calls that really ran, and the files the guard writes."""

    home: Path
    policy_path: Path
    clock: Clock = field(default_factory=Clock)
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    #: The identity the guard is told is calling (None = the local user over stdio).
    caller: str | None = None
    #: Notes that make a handler fail: raise the exception given, or (None) wait until cancelled.
    failing: dict[str, BaseException | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.server = MCPServer("demo")
        for info in TOOLS:
            self.server.add_tool(self._handler(info.name), name=info.name)

        @self.server.resource("demo://items/1")
        def item_one() -> str:
            self.ran.append(("demo://items/1", {}))
            return "item 1"

        @self.server.resource("demo://unguarded")
        def unguarded() -> str:
            self.ran.append(("demo://unguarded", {}))
            return "not in the catalog"

        self.audit = AuditLog(self.home / "audit.jsonl")
        #: The real shared store (SQLite in the home), as the server uses it.
        self.store = SqliteStore(self.home / "state.db")
        self.approvals = Approvals(self.store, key=b"k" * 32, clock=self.clock)
        self.watcher = PolicyWatcher(
            self._load, self.policy_path, status_file=self.home / "status.json", clock=self.clock
        )
        self.guard = Guard(
            self.watcher,
            audit=self.audit,
            approvals=self.approvals,
            approve_command="demo approve",
            limiter=RateLimiter(self.clock, self.store),
            clock=self.clock,
            store=self.store,
            identify=lambda ctx: self.caller,
        )
        self.server.middleware.append(self.guard)

    @property
    def host(self) -> HostChannel:
        return next(channel for channel in self.guard.channels if isinstance(channel, HostChannel))

    def _handler(self, name: str) -> Callable[..., Any]:
        async def run(id: int = 0, note: str = "", token: str = "") -> str:
            self.ran.append((name, {"id": id, "note": note}))
            if note in self.failing:
                failure = self.failing[note]
                if failure is not None:
                    raise failure
                await anyio.sleep_forever()
            return f"{name} ran with id={id}"

        return run

    def _load(self) -> Engine:
        catalog = Catalog.build(TOOLS, RESOURCES, describe=self.describe, normalize=self.normalize)
        return Engine(read_policy(self.policy_path), catalog, str(self.policy_path))

    @staticmethod
    async def describe(tool: str, arguments: dict[str, Any]) -> str:
        return f"Permanently {tool.replace('_', ' ')} #{arguments.get('id', 0)}"

    @staticmethod
    def normalize(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """What the demo handlers take: an integer id, text note and token (defaults filled in)."""
        canonical = {"id": 0, "note": "", "token": "", **arguments}
        if not isinstance(canonical["id"], int) or isinstance(canonical["id"], bool):
            raise InvalidArguments("Invalid arguments, nothing was sent: id: expected an integer")
        return canonical

    def audit_lines(self) -> list[dict[str, Any]]:
        path = self.home / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    @asynccontextmanager
    async def client(self, mode: str = "legacy", answer: str | None = None, **options: Any) -> AsyncIterator[Client]:
        """answer: None = the client declares no elicitation; else "accept", "decline" or "cancel"."""
        if answer is not None:
            options["elicitation_callback"] = reply(answer, self.questions)
        async with Client(self.server, mode=mode, **options) as client:
            yield client


def reply(action: str, questions: list[str]) -> Any:
    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        content = {"confirm": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return answer


def write_policy(path: Path, policy: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policy), encoding="utf-8")
    return path
