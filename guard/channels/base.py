"""The one interface every approval channel implements, and the choice of channel for a call.

A channel gets a yes or no for one call from a person. The guard first asks every channel of the rule whether it
already holds an answer for exactly this call (a modern-era retry, an approval granted at the terminal), then asks
the first channel that can reach a person for this caller. A channel answers with an `Answer` (a person decided),
`Waiting` (the question is out, the call cannot wait for it: tell the caller now) or `Refusal` (it could not ask).

Channels answered by the caller's own MCP client (`host`, `app`) are trusted only for the local user or an
identity the policy marks `trust_host`; the owner's channels (`desktop`, `terminal`) are trusted for everyone.

A caller who decides for themselves (a channel `serves` them, e.g. a remote person on the server's approval page,
guard.channels.page) is asked through that channel only: never the owner's desktop or terminal, and never their
own client, whatever the rule's `confirm_via` says.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import anyio

from guard.approvals import digest
from guard.audit import summarize
from guard.catalog import Catalog
from guard.policy import HOST_CHANNELS, Policy
from guard.text import renders_blank

log = logging.getLogger("guard")

#: Who gave an answer: the owner (desktop dialog, terminal), the caller's own MCP client (host, app card), or the
#: person the call is for, somewhere their client cannot answer for them (a page in their own browser session).
AnsweredBy = Literal["owner", "host", "person"]
OWNER: AnsweredBy = "owner"
HOST: AnsweredBy = "host"
PERSON: AnsweredBy = "person"
#: At most this many questions from one caller wait for an answer at once, per channel.
MAX_WAITING_PER_CALLER = 5
#: Longest text of the caller's choosing (effect sentence, client name) a person is shown.
MAX_SHOWN = 600


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """Text that others chose, made safe to show a person: control, format and blank-rendering characters (line
    breaks, escape sequences, bidi overrides, zero-width characters, Hangul fillers, Braille blanks: guard.text)
    are written as escapes, so none can start a fake line, reorder, hide or pad what the owner reads; a run of
    one of them is written once with its count; cut to `limit` characters."""
    safe = "".join(_escaped(ch) if not ch.isprintable() or renders_blank(ch) else ch for ch in text)
    safe = _RUNS.sub(lambda run: f"{run.group(1)}(x{len(run.group(0)) // len(run.group(1))})", safe)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def _escaped(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


#: Three or more of the same escape in a row.
_RUNS = re.compile(r"(\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[ntr]))\1{2,}")


@dataclass(frozen=True)
class Question:
    """One call that needs a yes or no: the tool and arguments, who asks, and the rule that asks."""

    tool: str
    arguments: Mapping[str, Any]
    identity: str | None
    client: str | None
    rule: str

    @property
    def key(self) -> str:
        return digest(self.tool, dict(self.arguments), self.identity)

    def who(self) -> str:
        """'identity "alice" (client "cursor", as it names itself)' or 'the local user (client "Claude Desktop")'."""
        client = f' (client "{shown(self.client, 80)}", as it names itself)' if self.client else ""
        caller = f'identity "{shown(self.identity, 80)}"' if self.identity else "the local user"
        return caller + client


@dataclass
class Asking:
    """Everything a channel may use to ask about one call."""

    question: Question
    #: The MCP request context of the call (`mcp.server.context.ServerRequestContext`).
    ctx: Any
    #: The call's raw params (a modern-era retry carries `requestState` and `inputResponses`).
    params: Mapping[str, Any]
    #: The caller's own client may answer (the local user, or an identity marked trust_host).
    trusted_host: bool
    #: The client asked for progress (it sent a progress token), so it can wait for the owner's answer.
    can_wait: bool
    #: The state folder, named in messages about approvals.
    home: str | None = None
    describe: Callable[[], Awaitable[str]] = field(default=lambda: _nothing(), repr=False)
    report: Callable[[str], Awaitable[None]] = field(default=lambda message: _nothing(), repr=False)
    #: Called by a channel just before it puts a new question in front of the owner (a dialog, a code): None when
    #: the caller may ask one more, else why not. Questions count against the caller (guard.calls.QUESTION_LIMITS).
    ration: Callable[[], str | None] = field(default=lambda: None, repr=False)
    _effect: str | None = field(default=None, repr=False)

    async def effect(self) -> str:
        """The effect sentence ("Sign out of Trakt and revoke this server's token"), looked up once, on demand: a
        channel that refuses to ask never pays for the look-ups."""
        if self._effect is None:
            self._effect = await self.describe()
        return self._effect


async def _nothing() -> Any:
    return None


def progress_token(ctx: Any) -> Any:
    """The progress token the client sent with the call (None: it did not ask for progress)."""
    meta = (ctx.params or {}).get("_meta")
    return meta.get("progressToken") if isinstance(meta, Mapping) else None


def reporter(ctx: Any) -> Callable[[str], Awaitable[None]]:
    """Progress notifications for this call while it waits for a person (none without a progress token)."""
    count = itertools.count(1)

    async def report(message: str) -> None:
        try:
            await ctx.session.report_progress(next(count), None, message)
        except Exception as exc:  # a client that went away is not the guard's failure
            log.debug("progress not delivered: %s", exc)

    return report


@dataclass(frozen=True)
class Answer:
    """A person decided. `message`, when not approved, tells the agent why nothing ran."""

    channel: str
    approved: bool
    by: AnsweredBy
    message: str | None = None
    #: The params to run the call with (a modern-era retry drops its answer fields), None for unchanged.
    params: Mapping[str, Any] | None = None
    #: Gives a used-up approval back, when the call still could not run (a rate limit another process took).
    undo: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: The person closed the question without answering (Ctrl-C, Escape): not approved, and not a "no" either.
    dismissed: bool = False


@dataclass(frozen=True)
class Waiting:
    """The question is out and the call cannot wait for the answer: reply with `message` (a tool error the agent
    reads) or `reply` (a protocol result, e.g. the modern era's InputRequiredResult)."""

    channel: str
    message: str | None = None
    reply: Any = None


@dataclass(frozen=True)
class Refusal:
    """The channel could not ask (too many questions waiting, the store is full): nothing ran."""

    channel: str
    message: str


Result = Answer | Waiting | Refusal


class Channel(Protocol):
    """One way to ask a person. Register an instance with the guard (`Guard(channels=[...])`); the order given there
    is the default order, and a rule's `confirm_via` picks and orders channels by `name`."""

    #: The name a policy uses in confirm_via ("host", "desktop", "terminal", "app").
    name: str

    def unavailable(self, asking: Asking) -> str | None:
        """Why this channel cannot ask about this call now, as a sentence with the fix; None when it can."""
        ...

    async def answered(self, asking: Asking) -> Answer | None:
        """An answer already given to exactly this call by this caller (consumed: single use), else None."""
        ...

    async def ask(self, asking: Asking) -> Result:
        """Ask about this call (waiting for the answer when it can)."""
        ...


@runtime_checkable
class OwnChannel(Protocol):
    """A channel through which some callers approve their own calls themselves (`serves`)."""

    name: str

    def serves(self, identity: str | None) -> bool:
        """This caller decides for themselves here (and nobody else is asked about their calls)."""
        ...


def own_channels(channels: Sequence[Channel], identity: str | None) -> list[Channel]:
    """The channels through which this caller approves their own calls (none for the local user or an identity
    the owner answers for)."""
    return [channel for channel in channels if isinstance(channel, OwnChannel) and channel.serves(identity)]


def trusts_host(policy: Policy, identity: str | None) -> bool:
    """The local user's own client may answer its questions; a named identity's only when the policy says
    trust_host (a remote caller's client may be hostile and answer yes to everything)."""
    if identity is None:
        return True
    declared = policy.identities.get(identity)
    return declared is not None and declared.trust_host


async def bounded_effect(catalog: Catalog, tool: str, arguments: dict[str, Any], timeout: float) -> str:
    """The effect sentence, its look-ups bounded in time (then a plainer sentence: the tool and its arguments)."""
    with anyio.move_on_after(timeout):
        return await catalog.describe(tool, arguments)
    log.warning("the effect sentence for %s took over %g s; asking with a plainer one", tool, timeout)
    return f"Run {tool} with {json.dumps(summarize(arguments), ensure_ascii=False, sort_keys=True)}"


def untrusted(channel: str, asking: Asking) -> str | None:
    """Why a channel answered by the caller's own client may not confirm for this caller (None when it may)."""
    if channel not in HOST_CHANNELS or asking.trusted_host:
        return None
    who = json.dumps(asking.question.identity)
    return (
        f"{channel}: the caller's own MCP client cannot approve its own calls (identity {who} is not marked "
        f"trust_host in the policy)"
    )


def in_order(channels: Sequence[Channel], via: Sequence[str] | None) -> tuple[list[Channel], list[str]]:
    """The channels to consider, in order, and a reason for each name the rule gives that has no channel here."""
    if via is None:
        return list(channels), []
    by_name = {channel.name: channel for channel in channels}
    missing = [f"{name}: this server has no {name} channel" for name in via if name not in by_name]
    return [by_name[name] for name in via if name in by_name], missing


@dataclass(frozen=True)
class Unasked:
    """No channel could ask: one reason per channel tried, each with its fix."""

    reasons: tuple[str, ...]


async def settle(channels: Sequence[Channel], via: Sequence[str] | None, asking: Asking) -> Result | Unasked:
    """An answer already given to this call, else the answer of the first channel that can ask. A caller with
    channels of their own (`own_channels`) is asked there only, whatever `via` says."""
    own = own_channels(channels, asking.question.identity)
    candidates, reasons = (own, []) if own else in_order(channels, via)
    for channel in candidates:
        if untrusted(channel.name, asking) is None:
            earlier = await channel.answered(asking)
            if earlier is not None:
                return earlier
    for channel in candidates:
        why = untrusted(channel.name, asking) or channel.unavailable(asking)
        if why is None:
            return await channel.ask(asking)
        reasons.append(why)
    return Unasked(tuple(reasons))


DEFAULT_ORDER = ("host", "app", "desktop", "terminal")


def plan(order: Sequence[str], trusted_host: bool, usable: Mapping[str, str | None]) -> tuple[list[str], str]:
    """For `policy explain`: each channel in order with whether it can ask here, and a sentence naming the channel
    that would be used. `usable`: name -> why it cannot ask here (None when it can); a name missing from it
    depends on the client (host, app)."""
    lines: list[str] = []
    depends: list[str] = []
    chosen: str | None = None
    for name in order:
        if name in HOST_CHANNELS and not trusted_host:
            lines.append(f"{name}: never for this caller (its own client may not approve; see trust_host)")
        elif name not in usable:
            lines.append(f"{name}: when the client supports it")
            if chosen is None:
                depends.append(name)
        elif usable[name] is None:
            lines.append(f"{name}: can ask here")
            chosen = chosen or name
        else:
            lines.append(f"{name}: cannot ask here ({usable[name]})")
    fallback = chosen or "nobody (no channel of this rule can ask here: the call would not run)"
    if depends:
        return lines, f"{', then '.join(depends)} when the client supports it, else {fallback}"
    return lines, fallback
