"""The one choke point: an MCP server middleware that applies the policy to tools/list, tools/call,
resources/list and resources/read before any handler runs, and audits every call decision.

A call that needs confirmation is first checked (arguments valid, the call ready to run: signed in, something to
act on), then handed to the approval channels (guard.channels): the rule's `confirm_via`, else the default order
(host elicitation when the caller's client may answer, the owner's desktop dialog, the owner's terminal). The audit
line names the channel that answered and whether the owner or the caller's own client did. Any internal guard
failure blocks the call (fail closed).

Each request is decided for the caller's identity (`identify`; None = the local user, as over stdio): its view of
the policy, its hidden tools, its own rate-limit windows, and the `identity` field of the audit line. A caller whose
app holds a grant (`grant`: capability names, guard.capabilities) sees only the tools that grant opens. A name the
policy does not declare gets nothing. The client's self-reported name is only recorded, it grants nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from mcp import types
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError

from guard import exact_ids, gate, progress
from guard.approvals import Approvals, Questions
from guard.audit import AuditTrail, RefusalThrottle
from guard.calls import (
    Context,
    Subject,
    Verdict,
    audit_entry,
    client_name,
    filtered,
    is_error,
    lists_may_change,
    question_windows,
    rate_limited,
    too_many_questions,
    tool_error,
    verdict_of,
    visible_templates,
    where,
    with_params,
)
from guard.catalog import InvalidArguments
from guard.channels import Asking, Channel, Question, settle
from guard.channels.app import ANSWER_TOOL, AppChannel, offers_apps
from guard.channels.base import HOST, AnsweredBy, bounded_effect, progress_token, reporter, trusts_host
from guard.channels.desktop import DesktopChannel
from guard.channels.host import HostChannel
from guard.channels.terminal import TerminalChannel
from guard.engine import Outcome, UnknownIdentity, View
from guard.home import HomeError
from guard.names import shown_name
from guard.ratelimit import RateLimiter, WindowKeys
from guard.reload import PolicyWatcher
from guard.routing import judge_routed
from guard.sessions import Sessions, connection_of
from guard.shadow_calls import would
from guard.store import Store, StoreError
from guard.store.memory import MemoryStore

log = logging.getLogger("guard")

#: Longest wait for an effect sentence's look-ups before the guard asks with a plainer one.
DESCRIBE_TIMEOUT = 10.0
#: Who is calling: an identity the policy declares, or None for the local user.
Identify = Callable[[Context], "str | None"]
Grant = Callable[[Context], "frozenset[str] | None"]  # capability names (guard.capabilities); None: no grant


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
        grant: Grant | None = None,
        store: Store | None = None,
        channels: Sequence[Channel] | None = None,
        home: str | None = None,
        server_name: str = "MCP server",
        host_answers: tuple[str, AnsweredBy] = ("host", HOST),  # how the audit names the host's answers
    ) -> None:
        exact_ids.install()  # an answer to the guard's question must carry the question's exact id
        self.watcher = watcher
        self.identify = identify
        self.grant: Grant = grant or (lambda ctx: None)
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
                HostChannel(self.questions, label=host_answers[0], by=host_answers[1]),
                AppChannel(self.store, ttl=confirm_ttl, clock=clock),
                DesktopChannel(server=server_name),
                TerminalChannel(approvals, approve_command),
            ]
        )
        self.sessions = Sessions()
        self.window_keys = WindowKeys()
        self._handlers = {
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "completion/complete": self._complete,
        }

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        # Waits anywhere in this request may report progress (guard.progress); work it does for the caller beyond
        # a call (a completion, a card's data) is judged by this guard for the same caller (guard.gate.use).
        reporting, judging = progress.bind(ctx.session), gate.bind_judge(lambda *use: self._use(ctx, *use))
        try:
            return await self._guarded(ctx, call_next)
        finally:
            gate.unbind_judge(judging)
            progress.unbind(reporting)

    async def _guarded(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            return lists_may_change(await call_next(ctx))
        handler = self._handlers.get(ctx.method)
        if handler is None:
            return await call_next(ctx)
        try:
            view = await self._current_view(ctx)
        except Exception as exc:  # an undeclared identity, or identify() failed: nothing runs
            return self._no_identity(ctx, exc)
        return await handler(view, ctx, call_next)

    async def _current_view(self, ctx: Context) -> View:
        """The caller's view of the policy in force now (picking up an edit, and announcing what it changes)."""
        engine = self.watcher.settled()  # usually: nothing to look at off the event loop, nothing to announce
        if engine is None:
            due = self.watcher.due()
            current = await anyio.to_thread.run_sync(self.watcher.current) if due else self.watcher.current()
            engine, changed = current
            if changed:
                await self.sessions.tell(self.sessions.every())
        identity, grant = self.identify(ctx), self.grant(ctx)
        if self.sessions.saw(ctx.session, identity, grant) and ctx.method != "tools/list":
            await self.sessions.tell([connection_of(ctx.session)])
        return engine.view(identity, grant)

    async def grant_changed(self, identity: str) -> None:
        """A person changed what one of their apps may do: tell their sessions in this process to list again."""
        await self.sessions.tell(self.sessions.of(identity))

    def view_for(self, ctx: Context) -> View:
        """The caller's view under the policy last loaded (for layers beside the guard, such as the Apps layer)."""
        return self.watcher.engine.view(self.identify(ctx), self.grant(ctx))

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

    # --- lists -------------------------------------------------------------------------------------------------

    async def _list_tools(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return filtered(await call_next(ctx), "tools", "name", view.visible_tools)

    async def _list_resources(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return filtered(await call_next(ctx), "resources", "uri", view.visible_resources)

    async def _list_templates(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        return filtered(await call_next(ctx), "resourceTemplates", "uri_template", visible_templates(view))

    async def _complete(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        """A template's arguments are completed only when its tool is visible and not denied outright: otherwise
        the answer is what an unknown one gets (no values). Each look-up the completion makes is then judged on its
        own, as the tool whose data it fetches (guard.gate.use, bound in __call__)."""
        ref = (ctx.params or {}).get("ref")
        uri = ref.get("uri") if isinstance(ref, Mapping) and ref.get("type") == "ref/resource" else None
        template = view.catalog.templates.get(uri) if isinstance(uri, str) else None
        decision = view.decide(template.tool) if template is not None else None
        if template is not None and (decision is None or decision.action in ("hide", "deny")):
            return types.CompleteResult(completion=types.Completion(values=[]))  # as the server answers an unknown one
        return await call_next(ctx)

    # --- calls -------------------------------------------------------------------------------------------------

    async def _call_tool(self, view: View, ctx: Context, call_next: CallNext) -> HandlerResult:
        params = dict(ctx.params or {})
        name, arguments = params.get("name"), params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, dict):
            return await call_next(ctx)  # the SDK rejects malformed params; nothing runs
        app = next((c for c in self.channels if isinstance(c, AppChannel)), None) if name == ANSWER_TOOL else None
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
            return tool_error(verdict.message, verdict.error, verdict.decision if verdict.outcome else None)
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
            refusal = Verdict("denied", outcome, channel="app", answered_by="host")
            self._record(ctx, view, subject, refusal, "blocked", 0)
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
        admission = gate.admission(subject.tool or subject.raw_name, view.identity, subject.door)
        try:
            with gate.admitting(admission):  # what the handler fetches, it fetches as this tool (guard.gate)
                result = await call_next(with_params(ctx, verdict.params))
        except BaseException:
            self._record(ctx, view, subject, verdict, "exception", time.perf_counter() - started)
            raise
        outcome = "error" if is_error(result) else "ok"
        self._record(ctx, view, subject, verdict, outcome, time.perf_counter() - started)
        return result

    async def _use(self, ctx: Context, tool: str, arguments: dict[str, Any], via: str) -> gate.Admission | gate.Refused:
        """Judge one use of `tool` that is not a call (a completion, a card's data) for the caller of `ctx`, as a
        call of it: hidden, denied, conditions and limits apply; confirmation is never asked (refused instead).
        Audited with `via`, throttled like refusals (guard.audit.RefusalThrottle)."""
        try:
            view = await self._current_view(ctx)
        except Exception as exc:
            return gate.Refused(str(exc) if isinstance(exc, UnknownIdentity) else "the caller could not be identified")
        subject = Subject(tool, dict(arguments), {"name": tool, "arguments": dict(arguments)}, via=via)
        verdict = await self._safe_gate(view, ctx, subject, ask=False)
        if verdict.message is None and verdict.reply is None:
            self._record(ctx, view, subject, verdict, "admitted", 0.0)
            return gate.Admission(subject.tool or tool, view.identity, via)
        self._record(ctx, view, subject, verdict, "blocked", 0.0)
        return gate.Refused("not available here" if verdict.unknown else str(verdict.message))

    async def _safe_gate(self, view: View, ctx: Context, subject: Subject, *, ask: bool = True) -> Verdict:
        try:
            return await self._gate(view, ctx, subject, ask=ask)
        except (StoreError, HomeError) as exc:  # the state store or a file of the state folder (guard.key)
            log.error("guard state failed while deciding on %s: %s", subject.raw_name, exc)
            return Verdict("denied", None, f"Blocked: {exc}. {subject.raw_name} did not run.")
        except Exception:
            log.exception("guard failed while deciding on %s; blocking the call", subject.raw_name)
            return Verdict("denied", None, "The guard could not decide on this call (internal error). Nothing ran.")

    async def _gate(
        self, view: View, ctx: Context, subject: Subject, confirmed: Verdict | None = None, *, ask: bool = True
    ) -> Verdict:
        """`confirmed`: the user already agreed to this call while an earlier policy was in force (decide again).
        `ask` False: a call that needs confirmation is refused without asking anyone (a use, not a call)."""
        decision = view.decide(subject.raw_name)
        if decision is None:
            resolved = view.resolve(subject.raw_name)
            disguised = view.decide(resolved) if resolved else None
            if disguised is not None and disguised.action == "hide":
                return Verdict("hidden", disguised.outcome, "unknown", unknown=True)
            return Verdict("denied", None, "unknown", unknown=True)
        if decision.action == "hide":
            return Verdict("hidden", decision.outcome, "hidden", unknown=True)
        subject.tool = decision.tool
        try:
            if decision.action != "deny" and confirmed is None:
                subject.canonical(view.catalog, decision.tool)
            judged = judge_routed(view, decision, subject.arguments)
        except InvalidArguments as exc:
            return Verdict("invalid", decision.outcome, str(exc))
        outcome, subject.endpoint = judged.outcome, judged.endpoint
        if outcome.action == "deny":
            because = f": {outcome.reason}" if outcome.reason else ""
            return Verdict("denied", outcome, f"Blocked by {where(outcome)}{because}. {subject.raw_name} did not run.")
        if view.engine.shadow is not None and confirmed is None:  # what shadow rules would do: audited, not acted on
            subject.would = would(view, decision.tool, subject.arguments, decision, outcome, self.limiter)
        keys = self.window_keys(judged.limits, view.engine, view.identity)
        # A full window refuses before anyone is asked; a call that asks nobody is refused by acquire_all (below).
        if outcome.action == "confirm" or confirmed is not None:
            limited = rate_limited(outcome, judged.limits, subject, self.limiter.check_all(keys))
            if limited is not None:
                return limited
        verdict = Verdict("allowed", outcome, params=subject.params)
        if confirmed is not None:
            verdict = dataclasses.replace(confirmed, outcome=outcome)
        elif outcome.action == "confirm" and not ask:
            because = f"{subject.raw_name} needs the owner's confirmation ({where(outcome)})"
            return Verdict("denied", outcome, f"{because}, and nobody is asked about a {subject.via}.")
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
        spent = rate_limited(outcome, judged.limits, subject, self.limiter.acquire_all(keys))
        if spent is not None and verdict.undo is not None:  # another process took the slot since the check above
            verdict.undo()
            spent.message = f"{spent.message} The owner's approval is kept for that retry."
        return spent or verdict

    # --- confirmation ------------------------------------------------------------------------------------------

    async def _confirm(self, view: View, ctx: Context, tool: str, outcome: Outcome, subject: Subject) -> Verdict:
        """Ask only about a call that can run: its arguments are canonical by now; is it ready (signed in,
        something to act on)?"""
        with gate.admitting(gate.Admission(tool, view.identity, "ask")):  # look-ups to describe it: reads only
            return await self._ask(view, ctx, tool, outcome, subject)

    async def _ask(self, view: View, ctx: Context, tool: str, outcome: Outcome, subject: Subject) -> Verdict:
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
            ration=lambda: self._ration(view.identity),
        )
        # A client that did not negotiate MCP Apps never hears of the app channel: its answers stay as they were.
        channels = [c for c in self.channels if not isinstance(c, AppChannel) or offers_apps(ctx)]
        return verdict_of(outcome, subject, await settle(channels, outcome.confirm_via, asking))

    def _ration(self, identity: str | None) -> str | None:
        """One more question to the owner from this caller, if its question windows have room (counted now)."""
        blocked = self.limiter.acquire_all(question_windows(identity))
        return None if blocked is None else too_many_questions(blocked)

    # --- audit -------------------------------------------------------------------------------------------------

    def _record(
        self, ctx: Context, view: View | None, subject: Subject, verdict: Verdict, outcome: str, seconds: float
    ) -> None:
        if self.audit is None:
            return
        identity = view.identity if view else _safe_identity(self.identify, ctx)
        entry = audit_entry(identity, client_name(ctx), subject, verdict, outcome, seconds)
        throttled = outcome == "blocked" or subject.via is not None
        self.refusals.record(self.audit, entry, refused=throttled, now=self._clock())


def _safe_identity(identify: Identify, ctx: Context) -> str | None:
    try:
        return identify(ctx)
    except Exception:
        return "(unidentified)"
