"""The one choke point: an MCP server middleware that applies the policy to tools/list, tools/call,
resources/list and resources/read before any handler runs, and audits every call decision.

A call that needs confirmation is first checked (arguments valid, the call ready to run: signed in, something to
act on), then handed to the approval channels (guard.channels): the rule's `confirm_via`, else the default order
(host elicitation when the caller's client may answer, the owner's desktop dialog, the owner's terminal). The audit
line names the channel that answered and whether the owner or the caller's own client did. Any internal guard
failure blocks the call (fail closed).

Each request is decided for the caller's identity (`identify`; None = the local user, as over stdio): its view of
the policy, its hidden tools, its own rate-limit windows, and the `identity` field of the audit line. A name the
policy does not declare gets nothing. The client's self-reported name is only recorded, it grants nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from mcp import types
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError

from guard import exact_ids, progress
from guard.approvals import Approvals, Questions
from guard.audit import AuditTrail, RefusalThrottle, summarize
from guard.calls import (
    WIRE_NAMES,
    Context,
    Subject,
    Verdict,
    client_name,
    is_error,
    rate_limited,
    tool_error,
    visible_templates,
    where,
)
from guard.catalog import InvalidArguments
from guard.channels import Answer, Asking, Channel, Question, Refusal, Result, Unasked, Waiting, settle
from guard.channels.app import AppChannel, offers_apps
from guard.channels.base import bounded_effect, progress_token, reporter, trusts_host
from guard.channels.desktop import DesktopChannel
from guard.channels.host import HostChannel
from guard.channels.terminal import TerminalChannel
from guard.engine import Outcome, UnknownIdentity, View
from guard.names import shown_name
from guard.ratelimit import RateLimiter, window_key
from guard.reload import PolicyWatcher
from guard.shadow_calls import would
from guard.store import Store, StoreError
from guard.store.memory import MemoryStore

log = logging.getLogger("guard")

#: Longest wait for an effect sentence's look-ups before the guard asks with a plainer one.
DESCRIBE_TIMEOUT = 10.0
#: Who is calling: an identity the policy declares, or None for the local user.
Identify = Callable[[Context], "str | None"]


def _local_user(ctx: Context) -> str | None:
    return None


class Guard:
    """`server.middleware.append(Guard(...))`. `channels` ask people, in the default order given (default: host,
    desktop, terminal); without it `approvals` and `approve_command` (what a person types to approve a code) build
    the terminal channel. `home` is the state folder, named in messages about approvals.

    `store` keeps rate-limit windows and pending questions (`guard.store`); give the same store to the
    `Approvals`. Without one, this process's memory keeps them (tests, single-process hosts)."""

    def __init__(
        self,
        watcher: PolicyWatcher,
        *,
        audit: AuditTrail | None = None,
        approvals: Approvals | None = None,
        approve_command: str = "approve",
        limiter: RateLimiter | None = None,
        confirm_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        identify: Identify = _local_user,
        store: Store | None = None,
        channels: Sequence[Channel] | None = None,
        home: str | None = None,
        server_name: str = "MCP server",
    ) -> None:
        exact_ids.install()  # an answer to the guard's question must carry the question's exact id
        self.watcher = watcher
        self.identify = identify
        self.audit = audit
        self.approvals = approvals
        self.home = home
        self.store: Store = store if store is not None else MemoryStore()
        self.limiter = limiter or RateLimiter(clock, self.store)
        self.questions = Questions(self.store, confirm_ttl, clock)
        self.refusals = RefusalThrottle(self.store)
        self._clock = clock
        self.channels: list[Channel] = (
            list(channels)
            if channels is not None
            else [
                HostChannel(self.questions),
                AppChannel(self.store, ttl=confirm_ttl, clock=clock),
                DesktopChannel(server=server_name),
                TerminalChannel(approvals, approve_command),
            ]
        )
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self._handlers = {
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "completion/complete": self._complete,
        }

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        with progress.bind(ctx.session):  # waits anywhere in this request may report progress (guard.progress)
            return await self._guarded(ctx, call_next)

    async def _guarded(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            return self._announce_list_changes(await call_next(ctx))
        handler = self._handlers.get(ctx.method)
        if handler is None:
            return await call_next(ctx)
        self._sessions.add(ctx.session)
        try:
            view = await self._current_view(ctx)
        except Exception as exc:  # an undeclared identity, or identify() failed: nothing runs
            return self._no_identity(ctx, exc)
        return await handler(view, ctx, call_next)

    @staticmethod
    def _announce_list_changes(result: HandlerResult) -> HandlerResult:
        """Declare in the handshake that the tool and resource lists may change: the guard tells clients when a
        policy edit changes what they may see, and a client may ignore notifications it was not promised."""
        capabilities = result.get("capabilities") if isinstance(result, dict) else None
        if isinstance(capabilities, dict):
            for kind in ("tools", "resources"):
                if isinstance(capabilities.get(kind), dict):
                    capabilities[kind]["listChanged"] = True
        return result

    async def _current_view(self, ctx: Context) -> View:
        """The caller's view of the policy in force now (picking up an edit, and announcing what it changes)."""
        due = self.watcher.due()
        engine, changed = await anyio.to_thread.run_sync(self.watcher.current) if due else self.watcher.current()
        if changed:
            await self._announce_changes()
        return engine.view(self.identify(ctx))

    def _no_identity(self, ctx: Context, exc: Exception) -> HandlerResult:
        if not isinstance(exc, UnknownIdentity):
            log.exception("guard could not tell who is calling; blocking the request", exc_info=exc)
        message = f"Refused: {exc if isinstance(exc, UnknownIdentity) else 'the caller could not be identified'}."
        if ctx.method == "tools/call":
            params = ctx.params or {}
            name, arguments = params.get("name"), params.get("arguments")
            subject = Subject(str(name), arguments if isinstance(arguments, dict) else {}, dict(params))
            refused = Verdict("denied", Outcome("deny", "identities", message), message)
            self._record(ctx, None, subject, refused, "blocked", 0.0)
            return tool_error(f"{message} Nothing ran.")
        raise MCPError(code=types.INVALID_REQUEST, message=message)

    async def _announce_changes(self) -> None:
        for session in list(self._sessions):
            for send in (session.send_tool_list_changed, session.send_resource_list_changed):
                try:
                    await send()
                except Exception as exc:  # a closed or modern-era session has nobody to tell
                    log.debug("list_changed not delivered: %s", exc)

    # --- lists -------------------------------------------------------------------------------------------------

    async def _list_tools(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return self._filter(await call_next(ctx), "tools", "name", view.visible_tools)

    async def _list_resources(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return self._filter(await call_next(ctx), "resources", "uri", view.visible_resources)

    async def _list_templates(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return self._filter(await call_next(ctx), "resourceTemplates", "uri_template", visible_templates(view))

    async def _complete(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        """A template's arguments are completed only when the template is visible: a hidden one gets what an unknown
        one gets (no values)."""
        ref = (ctx.params or {}).get("ref")
        uri = ref.get("uri") if isinstance(ref, Mapping) and ref.get("type") == "ref/resource" else None
        if isinstance(uri, str) and uri in view.catalog.templates and uri not in visible_templates(view):
            return types.CompleteResult(completion=types.Completion(values=[]))  # as the server answers an unknown one
        return await call_next(ctx)

    @staticmethod
    def _filter(result: HandlerResult, field: str, key: str, visible: frozenset[str]) -> HandlerResult:
        def shown(item: Any) -> bool:
            value = item.get(WIRE_NAMES.get(key, key)) if isinstance(item, Mapping) else getattr(item, key, None)
            return str(value) in visible

        if isinstance(result, Mapping):
            return {**result, field: [item for item in result.get(field, []) if shown(item)]}
        if result is None:
            return None
        return result.model_copy(update={field: [item for item in getattr(result, field) if shown(item)]})

    # --- calls -------------------------------------------------------------------------------------------------

    async def _call_tool(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        params = dict(ctx.params or {})
        name, arguments = params.get("name"), params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, dict):
            return await call_next(ctx)  # the SDK rejects malformed params; nothing runs
        app = next((c for c in self.channels if isinstance(c, AppChannel) and c.answer_tool == name), None)
        if app is not None and offers_apps(ctx):
            return await self._answered_in_app(app, view, ctx, call_next, arguments)
        subject = Subject(name, arguments, params)
        verdict = await self._safe_gate(view, ctx, subject)
        if verdict.reply is not None:
            return verdict.reply
        if verdict.message is not None:
            self._record(ctx, view, subject, verdict, "blocked", 0.0)
            if verdict.unknown:  # the spec's answer to an unknown tool; a hidden one looks exactly the same
                shown = shown_name(name)
                raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {shown}", data={"name": shown})
            return tool_error(verdict.message, verdict.error)
        return await self._run(ctx, view, subject, verdict, call_next)

    async def _answered_in_app(
        self, app: AppChannel, view: View, ctx: Context, call_next: CallNext, arguments: dict[str, Any]
    ) -> HandlerResult:
        """The approval card's Allow or Deny: a pending approval of this caller's, used once, runs its call through
        the rest of the gate (a policy edit or a rate limit since still decides); anything else is refused."""
        try:
            decided = app.decide(arguments, view.identity) if trusts_host(view.engine.policy, view.identity) else None
        except StoreError as exc:
            decided = None
            log.error("guard state store failed on an approval card's answer: %s", exc)
        tool = decided.tool if decided and decided.tool else app.answer_tool
        subject = Subject(tool, decided.arguments if decided else {}, {"name": tool, "arguments": {}})
        subject.params["arguments"] = subject.arguments
        refused = "this caller's own client may not approve" if decided is None else decided.refused
        if decided is None or refused is not None:
            outcome = Outcome("deny", "channels.app", f"approval card answer refused: {refused}")
            self._record(
                ctx, view, subject, Verdict("denied", outcome, channel="app", answered_by="host"), "blocked", 0
            )
            return tool_error(f"Refused: {refused}. Nothing ran.")
        if not decided.allow:
            declined = Verdict("declined", Outcome("confirm", "channels.app"), channel="app", answered_by="host")
            self._record(ctx, view, subject, declined, "blocked", 0.0)
            return tool_error(f"The user denied: {decided.effect}. {tool} did not run.")
        confirmed = Verdict("confirmed", None, params=subject.params, channel="app", answered_by="host")
        try:
            verdict = await self._gate(view, ctx, subject, confirmed)
        except StoreError as exc:
            verdict = Verdict("denied", None, f"Blocked: {exc}. {tool} did not run.")
        if verdict.message is not None:
            self._record(ctx, view, subject, verdict, "blocked", 0.0)
            return tool_error(verdict.message)
        return await self._run(ctx, view, subject, verdict, call_next)

    async def _read_resource(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        params = dict(ctx.params or {})
        uri = str(params.get("uri"))
        found = view.catalog.resource_for(uri)
        subject = Subject(found[0].tool if found else "", found[1] if found else {}, params, uri)
        verdict = await self._safe_gate(view, ctx, subject)
        if verdict.reply is not None:
            return verdict.reply
        if verdict.message is not None:
            self._record(ctx, view, subject, verdict, "blocked", 0.0)
            if verdict.unknown:
                shown = shown_name(uri)
                raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown resource: {shown}", data={"uri": shown})
            code = (
                types.INVALID_PARAMS if verdict.decision == "invalid" else types.INVALID_REQUEST
            )  # a bad URI variable
            raise MCPError(code=code, message=verdict.message, data={"uri": shown_name(uri)})
        return await self._run(ctx, view, subject, verdict, call_next)

    async def _run(
        self, ctx: Context, view: View, subject: Subject, verdict: Verdict, call_next: CallNext
    ) -> HandlerResult:
        started = time.perf_counter()
        try:
            result = await call_next(dataclasses.replace(ctx, params=verdict.params))
        except BaseException:
            self._record(ctx, view, subject, verdict, "exception", time.perf_counter() - started)
            raise
        outcome = "error" if is_error(result) else "ok"
        self._record(ctx, view, subject, verdict, outcome, time.perf_counter() - started)
        return result

    async def _safe_gate(self, view: View, ctx: Context, subject: Subject) -> Verdict:
        try:
            return await self._gate(view, ctx, subject)
        except StoreError as exc:
            log.error("guard state store failed while deciding on %s: %s", subject.raw_name, exc)
            return Verdict("denied", None, f"Blocked: {exc}. {subject.raw_name} did not run.")
        except Exception:
            log.exception("guard failed while deciding on %s; blocking the call", subject.raw_name)
            return Verdict("denied", None, "The guard could not decide on this call (internal error). Nothing ran.")

    async def _gate(self, view: View, ctx: Context, subject: Subject, confirmed: Verdict | None = None) -> Verdict:
        """`confirmed`: the user already agreed to this call while an earlier policy was in force (decide again)."""
        decision = view.decide(subject.raw_name)
        if decision is None:
            resolved = view.resolve(subject.raw_name)
            disguised = view.decide(resolved) if resolved else None
            if disguised is not None and disguised.action == "hide":
                return Verdict("hidden", disguised.outcome, "unknown", unknown=True)
            return Verdict("denied", None, "unknown", unknown=True)
        if decision.action == "hide":
            return Verdict("hidden", decision.outcome, "hidden", unknown=True)
        if decision.action != "deny" and confirmed is None:
            try:
                subject.canonical(view.catalog, decision.tool)
            except InvalidArguments as exc:
                return Verdict("invalid", decision.outcome, str(exc))
        outcome = decision.judge(subject.arguments)
        if outcome.action == "deny":
            because = f": {outcome.reason}" if outcome.reason else ""
            return Verdict("denied", outcome, f"Blocked by {where(outcome)}{because}. {subject.raw_name} did not run.")
        if view.engine.shadow is not None and confirmed is None:  # what shadow rules would do: audited, not acted on
            subject.would = would(view, decision.tool, subject.arguments, decision, outcome, self.limiter)
        keys = [(window_key(quota.path, quota.limit, view.identity), quota.limit) for quota in decision.limits]
        limited = rate_limited(outcome, decision, subject, self.limiter.check_all(keys))
        if limited is not None:
            return limited
        verdict = Verdict("allowed", outcome, params=subject.params)
        if confirmed is not None:
            verdict = dataclasses.replace(confirmed, outcome=outcome)
        elif outcome.action == "confirm":
            verdict = await self._confirm(view, ctx, decision.tool, outcome, subject)
            if verdict.message is not None or verdict.reply is not None:
                return verdict
            # Asking took time: a policy edit made meanwhile (stricter, or revoking the caller) decides, not the
            # policy the question was asked under.
            try:
                latest = await self._current_view(ctx)
            except UnknownIdentity as exc:
                return Verdict("denied", outcome, f"Refused: {exc}. {subject.raw_name} did not run.")
            if latest is not view:
                return await self._gate(latest, ctx, subject, verdict)
        return rate_limited(outcome, decision, subject, self.limiter.acquire_all(keys)) or verdict

    # --- confirmation ------------------------------------------------------------------------------------------

    async def _confirm(self, view: View, ctx: Context, tool: str, outcome: Outcome, subject: Subject) -> Verdict:
        """Ask only about a call that can run: its arguments are canonical by now; is it ready (signed in,
        something to act on)?"""
        arguments = subject.arguments
        catalog = view.catalog
        not_ready = await catalog.ready(tool, arguments) if catalog.ready else None
        if not_ready is not None:
            return Verdict("not_ready", outcome, not_ready.message, error=not_ready.error)
        question = Question(tool, arguments, view.identity, client_name(ctx), where(outcome))
        asking = Asking(
            question,
            ctx,
            subject.params,
            trusted_host=trusts_host(view.engine.policy, view.identity),
            can_wait=progress_token(ctx) is not None,
            home=self.home,
            describe=lambda: bounded_effect(catalog, tool, arguments, DESCRIBE_TIMEOUT),
            report=reporter(ctx),
        )
        # A client that did not negotiate MCP Apps never hears of the app channel: its answers stay as they were.
        channels = [c for c in self.channels if not isinstance(c, AppChannel) or offers_apps(ctx)]
        return self._verdict(outcome, subject, await settle(channels, outcome.confirm_via, asking))

    @staticmethod
    def _verdict(outcome: Outcome, subject: Subject, result: Result | Unasked) -> Verdict:
        did_not_run = f"{subject.raw_name} did not run."
        if isinstance(result, Answer):
            if result.approved:
                params = dict(result.params) if result.params is not None else subject.params
                return Verdict("confirmed", outcome, params=params, channel=result.channel, answered_by=result.by)
            message = f"{result.message} {did_not_run}"
            return Verdict("declined", outcome, message, channel=result.channel, answered_by=result.by)
        if isinstance(result, Waiting):
            return Verdict("approval_pending", outcome, result.message, reply=result.reply, channel=result.channel)
        if isinstance(result, Refusal):
            return Verdict("denied", outcome, f"{result.message} {did_not_run}", channel=result.channel)
        reasons = "; ".join(result.reasons)
        return Verdict(
            "denied",
            outcome,
            f"Nobody could be asked to confirm this call ({where(outcome)}), so {did_not_run} Nobody declined it: "
            f'{reasons}. Fix: name a channel that works here in the rule\'s confirm_via (e.g. ["terminal"]), '
            "run the server where a display is available, or use a client that can ask (elicitation).",
        )

    # --- audit -------------------------------------------------------------------------------------------------

    def _record(
        self, ctx: Context, view: View | None, subject: Subject, verdict: Verdict, outcome: str, seconds: float
    ) -> None:
        if self.audit is None:
            return
        decided = verdict.outcome
        entry: dict[str, Any] = {
            "identity": view.identity if view else _safe_identity(self.identify, ctx),
            "client": summarize(client_name(ctx)),
            "tool": shown_name(subject.raw_name) if verdict.unknown else summarize(subject.raw_name),
            "decision": verdict.decision,
            "rule": decided.rule if decided else None,
            "condition": decided.condition if decided else None,
            "reason": decided.reason if decided and verdict.decision != "allowed" else None,
            "arguments": (sent := summarize(subject.arguments if subject.sent is None else subject.sent)),
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 2),
        }
        if verdict.unknown:
            entry["unknown_tool"] = True
        if verdict.channel is not None:
            entry["channel"] = verdict.channel
            entry["answered_by"] = verdict.answered_by
        if subject.resource is not None:
            entry["resource"] = summarize(subject.resource)
        if subject.sent is not None and (whole := summarize(subject.arguments, shorten=False)) != sent:
            entry["canonical"] = whole  # what the tool received, whole but for secrets: `policy replay` re-decides it
        if subject.would is not None:
            entry["shadow"], entry["shadow_rule"] = subject.would.action, subject.would.rule
        self.refusals.record(self.audit, entry, refused=outcome == "blocked", now=self._clock())


def _safe_identity(identify: Identify, ctx: Context) -> str | None:
    try:
        return identify(ctx)
    except Exception:
        return "(unidentified)"
