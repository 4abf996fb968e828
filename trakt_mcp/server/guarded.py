"""The one place the Trakt server meets the guard: the guard's catalog from the registered ToolSpecs and
resources, the policy in force (the file from settings, else the built-in one), and the middleware."""

from __future__ import annotations

import difflib
import json
import math
import shlex
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import PrivateAttr, ValidationError

from guard import progress
from guard.approvals import Approvals
from guard.audit import AuditLog, AuditTrail
from guard.audit_table import TableAudit
from guard.auditchain import StoreHead
from guard.catalog import ENDPOINT_PREFIX, Catalog, InvalidArguments, NotReady, ResourceInfo, ToolInfo
from guard.channels.base import HOST, OWNER
from guard.engine import Engine
from guard.gate import admitted
from guard.home import secret_key, secure_folder
from guard.middleware import Guard
from guard.policy import Identity, Layer, Policy, PolicyError, read_policy
from guard.reload import PolicyWatcher
from guard.store import Store, StoreError
from guard.store.postgres_schema import GUARD, Schema
from guard.store.sqlite import SqliteStore
from trakt_mcp.http.identity import request_grant, request_identity
from trakt_mcp.server.builtin import builtin_policy
from trakt_mcp.server.capabilities import CAPABILITIES
from trakt_mcp.server.resources import RESOURCES, TEMPLATES
from trakt_mcp.settings import Settings, default_home
from trakt_mcp.terminal import command
from trakt_mcp.tools import endpoints, tools_by_name
from trakt_mcp.tools.spec import ToolSpec, explain_validation_error, published_schema
from trakt_mcp.trakt.errors import NotSignedIn, TraktError
from trakt_mcp.trakt.signins import DeviceFlow
from trakt_mcp.trakt.tokens import TokenStoreError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App

BUILTIN = "built-in (reads and writes allowed; destructive tools need confirmation)"


SIGN_IN = "sign-in"
#: Signing the server in or out is the owner's: an identity (a caller over HTTP) never sees these tools unless a
#: rule of its own in the policy names them (guard.catalog.Catalog.owner_only).
OWNER_ONLY_GROUPS = ("auth",)
#: An expired device code is kept this long, so that checking the sign-in says "expired", not "none started".
EXPIRED_KEPT = 3600.0


#: The name the audit chain's last link is remembered under in the state store.
AUDIT_HEAD = "audit.jsonl"


def audit_path(settings: Settings) -> Path:
    return settings.home / "audit.jsonl"


#: What trakt-mcp keeps in a PostgreSQL state: the guard's tables and multi-user mode's (trakt_mcp/remote/migrations).
STATE_SCHEMAS = (GUARD, Schema("people", "trakt_mcp.remote"))


def audit_head(settings: Settings) -> str:
    """The name the JSONL chain's last link is kept under. A PostgreSQL state is shared by replicas, each with a
    file (and chain) of its own: there the name says whose (host and state folder)."""
    if settings.state_url is None:
        return AUDIT_HEAD
    return f"{AUDIT_HEAD} {socket.gethostname()}:{settings.home}"


def audit_log(settings: Settings, store: Store) -> AuditLog:
    """The audit log, every line chained with the state folder's secret; the store remembers the last link."""
    head = StoreHead(store, audit_head(settings))
    return AuditLog(audit_path(settings), key=lambda: secret_key(settings.home), head=head)


def state_path(settings: Settings) -> Path:
    return settings.home / "state.db"


def open_store(settings: Settings, *, migrate_at_start: bool = True) -> Store:
    """The state every trakt-mcp process on this home shares, or with a postgresql:// state every replica behind
    the balancer (opened on first use; its schema, the guard's and multi-user mode's people, migrated then)."""
    if settings.state_url is not None:
        from guard.store.postgres import PostgresStore

        return PostgresStore(settings.state_url, schemas=STATE_SCHEMAS, migrate_at_start=migrate_at_start)
    return SqliteStore(state_path(settings))


def audit_trail(settings: Settings, store: Store) -> AuditTrail:
    """The JSONL file in the state folder; with a PostgreSQL state, the shared table too (which `audit` reads), both
    chained (guard.auditchain)."""
    local = audit_log(settings, store)
    if "guard.store.postgres" not in sys.modules:
        return local  # no PostgreSQL store can exist yet: the SQLite path never imports the PostgreSQL one
    from guard.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        return local
    return TableAudit(store, local, key=lambda: secret_key(settings.home))


def approvals(settings: Settings, store: Store | None = None) -> Approvals:
    return Approvals(store or open_store(settings), key=lambda: secret_key(settings.home))


class StoredSignIns:
    """The pending device-code sign-in, kept in the state store until it expires: one per API, client ID and
    caller. The caller is the identity of the admission the sign-in runs in (guard.gate): an identity the policy
    lets sign in gets its own code and can never see, complete or redirect the owner's."""

    def __init__(self, store: Store, settings: Settings, now: Callable[[], float]) -> None:
        self.store = store
        self.owners = f"{settings.api_url} {settings.client_id}"
        self.now = now

    @property
    def key(self) -> str:
        admission = admitted()
        caller = admission.identity if admission is not None else None
        return self.owners if caller is None else f"{self.owners} identity {caller}"

    def load(self) -> DeviceFlow | None:
        with _as_trakt_error():
            record = self.store.get(SIGN_IN, self.key, self.now())
        names = {field.name for field in fields(DeviceFlow)}
        if record is None or set(record) != names:
            return None
        texts = ("device_code", "user_code", "verification_url")
        if not all(isinstance(record[name], str) for name in texts):
            return None
        numbers = [record[name] for name in names - set(texts)]
        if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
            return None
        return DeviceFlow(**record)

    def save(self, flow: DeviceFlow) -> None:
        with _as_trakt_error():
            self.store.put(SIGN_IN, self.key, asdict(flow), flow.expires_at + EXPIRED_KEPT, self.now())

    def clear(self) -> None:
        with _as_trakt_error():
            self.store.delete(SIGN_IN, self.key)


@contextmanager
def _as_trakt_error() -> Iterator[None]:
    """A state store failure during sign-in reaches the agent and the terminal like any sign-in problem."""
    try:
        yield
    except StoreError as exc:
        raise TraktError(f"Sign-in cannot continue: {exc}.") from None


def approve_command(settings: Settings) -> str:
    """What the owner types to approve: with --home when the server's state folder is not the one a plain shell
    would use (TRAKT_MCP_HOME or --home set for the server), so the owner's terminal looks in the same place."""
    if settings.home.resolve() == default_home().resolve():
        return command("approve")
    return command(f"approve --home {shlex.quote(str(settings.home))}")


def status_path(settings: Settings) -> Path:
    return settings.home / "guard-status.json"


def build_catalog(app: App | None, tools: dict[str, ToolSpec[Any]] | None = None) -> Catalog:
    """What the guard knows of this server: every ToolSpec registered now, and the resources that expose them."""
    specs = tools_by_name() if tools is None else tools

    async def describe(name: str, arguments: dict[str, Any]) -> str:
        spec = specs[name]
        try:
            return await spec.describe(app, arguments) if app is not None else spec.title
        except (TraktError, ValidationError):
            return f"{spec.title} with {json.dumps(arguments, ensure_ascii=False, sort_keys=True)}"

    def normalize(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name not in specs:  # an endpoint entry: its arguments are what the route gave (path, query, body)
            return dict(arguments)
        try:
            return specs[name].canonical(arguments)
        except ValidationError as exc:
            raise InvalidArguments(f"Invalid arguments, nothing was sent: {explain_validation_error(exc)}") from None

    async def ready(name: str, arguments: dict[str, Any]) -> NotReady | None:
        """Whether the call could act now: a write needs the Trakt account, and the tool may know more."""
        spec = specs[name]
        if app is None:
            return None
        risk = spec.risk if not spec.routed else endpoint_reached(spec, arguments).risk
        if risk in ("write", "destructive") and spec.group != "auth":
            try:
                signed_in = app.auth.token() is not None
            except TokenStoreError as exc:
                return NotReady(f"{exc} {name} did not run and nobody was asked to approve it.")
            if not signed_in:
                detail = f"{name} did not run and nobody was asked to approve it."
                return NotReady(str(NotSignedIn(detail, sandbox=app.settings.sandbox)))
        if spec.ready is None:
            return None
        try:
            unready = await spec.ready(app, spec.parse(arguments))
        except (TraktError, ValidationError):
            return None  # cannot tell now: the call itself will say
        return NotReady(unready.message, unready.error) if unready else None

    def route(name: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        spec = specs[name]
        try:
            call = spec.parse(arguments)
        except ValidationError as exc:
            raise InvalidArguments(f"Invalid arguments, nothing was sent: {explain_validation_error(exc)}") from None
        return ENDPOINT_PREFIX + call.entry().key, call.endpoint_arguments()

    infos = [
        ToolInfo(spec.name, spec.group, spec.risk, spec.title, published_schema(spec.args), routed=spec.routed)
        for spec in specs.values()
    ]
    if any(spec.routed for spec in specs.values()):
        infos += [
            ToolInfo(ENDPOINT_PREFIX + e.key, "api", e.risk, e.title, e.schema(), endpoint=True)
            for e in endpoints.catalogue()
        ]
    return Catalog.build(
        infos,
        (ResourceInfo(r.uri, r.tool, r.arguments) for r in RESOURCES if r.tool in specs),
        describe=describe,
        templates=(ResourceInfo(t.uri, t.tool, t.arguments) for t in TEMPLATES if t.tool in specs),
        normalize=normalize,
        ready=ready,
        owner_only=OWNER_ONLY_GROUPS,
        route=route,
    )


def endpoint_reached(spec: ToolSpec[Any], arguments: dict[str, Any]) -> endpoints.Endpoint:
    """The catalogue entry a routed tool's call reaches (its arguments are valid by now)."""
    return spec.parse(arguments).entry()  # type: ignore[no-any-return]


#: The sign-in tools: --read-only, --toolsets and --tools keep them, or no account tool could ever be used.
SIGN_IN_TOOLS = ("start_device_auth", "check_auth_status")
#: Toolsets are the tool groups (github-mcp-server's word); "all" names every one.
ALL_TOOLSETS = "all"


def _labelled(layer: Layer, labels: list[str], prefix: str) -> Iterator[tuple[str, str]]:
    own = len(layer.hide) - len(labels)
    for index, selector in enumerate(layer.hide):
        yield (f"{prefix}hide[{index}]" if index < own else labels[index - own]), selector


class RestrictedPolicy(Policy):
    """A policy plus the hide entries the quick restrictions compiled to. Hiding is the strictest action, so the
    stricter of the file and the flags wins for every tool, at the top level and in every identity. Each added
    entry is reported by the flag that made it (e.g. `--read-only`), not as a path in the file."""

    _labels: list[str] = PrivateAttr(default_factory=list)

    def hide_entries(self, prefix: str = "") -> Iterator[tuple[str, str]]:
        return _labelled(self, self._labels, prefix)


class RestrictedIdentity(Identity):
    _labels: list[str] = PrivateAttr(default_factory=list)

    def hide_entries(self, prefix: str = "") -> Iterator[tuple[str, str]]:
        return _labelled(self, self._labels, prefix)


def _unknown(kind: str, names: list[str], known: list[str]) -> str:
    problems = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1)
        problems.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown {kind} {', '.join(problems)}. Fix: use one of: {', '.join(known)}"


def restriction_hides(settings: Settings, catalog: Catalog) -> list[tuple[str, str]]:
    """(label, tool) for every tool --read-only, --toolsets or --tools hide; raises PolicyError on unknown names."""
    tools = catalog.tools
    hidden: dict[str, str] = {}
    if settings.toolsets is not None or settings.tools is not None:
        toolsets = set(settings.toolsets or ())
        known_sets = sorted(catalog.groups)
        problems = []
        if unknown := [t for t in toolsets if t not in catalog.groups and t != ALL_TOOLSETS]:
            problems.append("--toolsets: " + _unknown("toolset", unknown, [*known_sets, ALL_TOOLSETS]))
        if unknown := [t for t in settings.tools or () if t not in tools]:
            problems.append("--tools: " + _unknown("tool", unknown, sorted(tools)))
        if problems:
            raise PolicyError("the command line or environment", problems)
        chosen = set(settings.tools or ()) | set(SIGN_IN_TOOLS)
        label = " ".join(f for f in settings.restriction_flags() if not f.startswith("--read-only"))
        for name, tool in tools.items():
            if name not in chosen and ALL_TOOLSETS not in toolsets and tool.group not in toolsets and not tool.endpoint:
                hidden[name] = label
    if settings.read_only:
        # call_trakt_api stays: --read-only hides every endpoint but GET ones, so only reads can pass through it.
        for name, tool in tools.items():
            if tool.routed:
                continue
            if tool.risk in ("write", "destructive") or (tool.risk == "auth" and name not in SIGN_IN_TOOLS):
                hidden.setdefault(name, "--read-only")
    return [(label, name) for name, label in hidden.items() if name in tools]


L = TypeVar("L", RestrictedPolicy, RestrictedIdentity)


def _with_hides(kind: type[L], layer: Layer, hides: list[tuple[str, str]], **changes: Any) -> L:
    fields = {name: getattr(layer, name) for name in type(layer).model_fields}
    fields.update(changes, hide=[*layer.hide, *(tool for _, tool in hides)])
    restricted = kind.model_construct(**fields)
    restricted._labels = [label for label, _ in hides]
    return restricted


def restrict(policy: Policy, settings: Settings, catalog: Catalog) -> Policy:
    """The policy with the quick restrictions compiled in as hide entries (unchanged when there are none). An
    identity gets them too: it can only be stricter than the top level, and flags are the top level's."""
    hides = restriction_hides(settings, catalog)
    if not hides:
        return policy
    identities = {
        name: _with_hides(RestrictedIdentity, identity, hides) for name, identity in policy.identities.items()
    }
    return _with_hides(RestrictedPolicy, policy, hides, identities=identities)


def read_all_problems(path: Path, catalog: Catalog) -> Policy:
    """read_policy, but an invalid file is reported with every problem at once: its invalid entries, and what
    checking the rest against the tools finds (a selector that matches no tool, an unknown argument)."""
    try:
        return read_policy(path)
    except PolicyError as exc:
        if exc.rest is None:
            raise
        try:
            Engine(exc.rest, catalog, str(path), capabilities=CAPABILITIES)
        except PolicyError as later:
            raise PolicyError(exc.source, [*exc.problems, *later.problems]) from None
        raise


def load_engine(settings: Settings, catalog: Catalog) -> Engine:
    """The engine for the policy in force, quick restrictions included; raises guard.PolicyError naming the JSON
    path (or the flag) and the fix."""
    policy = builtin_policy(catalog) if settings.policy is None else read_all_problems(settings.policy, catalog)
    source = "built-in" if settings.policy is None else str(settings.policy)
    if settings.restricted:
        source = f"{source} + {' '.join(settings.restriction_flags())}"
    shadow = read_policy(settings.shadow_policy) if settings.shadow_policy is not None else None
    if shadow is not None:
        shadow = restrict(shadow, settings, catalog)
    people = settings.public_url is not None
    options: dict[str, Any] = {"shadow": shadow, "people": people, "capabilities": CAPABILITIES}
    return Engine(restrict(policy, settings, catalog), catalog, source, **options)


class SharedWatcher(PolicyWatcher):
    """The watcher is read by the guard, which tells sessions when the visible tools change, and by the HTTP
    bearer check (`policy`), which cannot: a change that check picks up is kept for the guard to announce."""

    _unannounced = False

    def policy(self) -> Policy:
        engine, changed = super().current()
        self._unannounced = self._unannounced or changed
        return engine.policy

    def settled(self) -> Engine | None:
        return None if self._unannounced else super().settled()

    def current(self) -> tuple[Engine, bool]:
        engine, changed = super().current()
        changed, self._unannounced = changed or self._unannounced, False
        return engine, changed


def policy_in_force(app: App) -> Callable[[], Policy]:
    """Reads the policy in force, hot reload included (for the HTTP transport's bearer check)."""
    assert app.guard is not None, "the guard is installed when the server is built"
    watcher = app.guard.watcher
    assert isinstance(watcher, SharedWatcher)
    return watcher.policy


def install(server: MCPServer, app: App, tools: dict[str, ToolSpec[Any]]) -> Guard:
    """Add the guard to the server (raises PolicyError when the policy is invalid: never start unguarded)."""
    settings = app.settings
    secure_folder(settings.home)  # refuse a state folder others own or can write to (HomeError names the fix)
    catalog = build_catalog(app, tools)
    watcher = SharedWatcher(lambda: load_engine(settings, catalog), settings.policy, status_file=status_path(settings))
    store = app.store if app.store is not None else open_store(settings)
    guard = Guard(
        watcher,
        audit=audit_trail(settings, store),
        approvals=approvals(settings, store),
        approve_command=approve_command(settings),
        identify=request_identity,
        grant=request_grant,
        store=store,
        home=str(settings.home),
        server_name="trakt-mcp",
        host_answers=("terminal", OWNER) if app.owner_terminal else ("host", HOST),
    )
    server.middleware.append(guard)
    app.guard = guard
    # The guard binds each request's progress reporter; Trakt waits (paging, retries, sign-in polls) report to it.
    app.client.progress = app.auth.progress = progress.report
    return guard


def store_summary(store: Store, *, count_windows: bool = True) -> str:
    """One line for `trakt-mcp status`: where the shared state lives and whether it is healthy."""
    try:
        return store.health(count_windows=count_windows)
    except StoreError as exc:
        return f"UNUSABLE: {exc}. Guarded calls that need it (rate limits, approvals, sign-in) are refused."


def policy_summary(settings: Settings) -> str:
    """One line for `trakt-mcp status`: which policy applies, and the last rejected edit if any."""
    if settings.policy is None:
        return BUILTIN
    try:
        status = json.loads(status_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        status = {}
    error = status.get("error") if status.get("policy") == str(settings.policy) else None
    if error:
        return f"{settings.policy} (last edit rejected, the previous version is in force: {error})"
    return str(settings.policy)
