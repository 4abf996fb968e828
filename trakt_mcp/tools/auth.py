"""Sign-in tools: start the device flow, check on it, sign out. Also the read-only sign-in status text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trakt_mcp.settings import SANDBOX_VERIFICATION_URL
from trakt_mcp.tools.spec import Handler, NoArgs, ToolSpec, Unready
from trakt_mcp.trakt.auth import AuthManager
from trakt_mcp.trakt.errors import TraktError
from trakt_mcp.trakt.signins import DeviceFlow
from trakt_mcp.trakt.tokens import TokenStoreError, UnreadableToken

if TYPE_CHECKING:
    from trakt_mcp.app import App
    from trakt_mcp.trakt.tokens import Token

REVOKE_BY_HAND = "https://trakt.tv/oauth/authorized_applications"


def when(timestamp: float, now: float) -> str:
    """'2025-06-01 12:00 UTC (in 3 days)': an absolute time and how far away it is."""
    moment = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment} ({duration(timestamp - now)})"


def duration(seconds: float) -> str:
    if seconds <= 0:
        return "already passed"
    unit, size = next(
        ((unit, size) for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)) if seconds >= size),
        ("second", 1),
    )
    count = int(seconds // size)
    return f"in {count} {unit}{'' if count == 1 else 's'}"


def signed_in_text(token: Token, now: float) -> str:
    return f"Signed in to Trakt. The token is valid until {when(token.expires_at, now)} and is refreshed automatically."


def flow_text(flow: DeviceFlow, now: float) -> str:
    if flow.verification_url == SANDBOX_VERIFICATION_URL:
        return (
            f"Sandbox sign-in: nothing to open (no real Trakt account is involved); the code **{flow.user_code}** "
            f"approves itself at the next check. It is valid until {when(flow.expires_at, now)}."
        )
    return (
        f"Open {flow.verification_url} and enter the code **{flow.user_code}**. "
        f"The code is valid until {when(flow.expires_at, now)}."
    )


def status_lines(auth: AuthManager) -> list[str]:
    """What is known locally about sign-in. Reads the token store only; never calls Trakt."""
    now = auth.now()
    try:
        token = auth.token()
    except TokenStoreError as exc:
        lines = [f"- Signed in: unknown. {exc}"]
    else:
        lines = [f"- Signed in: yes, token valid until {when(token.expires_at, now)}" if token else "- Signed in: no"]
    lines.append(f"- Token store: {auth.store.description}")
    try:
        pending = auth.pending
    except TraktError as exc:
        lines.append(f"- Sign-in in progress: unknown. {exc}")
    else:
        if pending is not None:
            lines.append(f"- Sign-in in progress: {flow_text(pending, now)}")
    return lines


async def auth_status(app: App) -> str:
    return "## Trakt sign-in\n" + "\n".join(status_lines(app.auth))


async def start_device_auth(app: App, args: NoArgs) -> str:
    auth = app.auth
    started = await auth.start_device()
    if not isinstance(started, DeviceFlow):
        return f"Already signed in. {signed_in_text(started, auth.now())} To switch accounts, call clear_auth first."
    return (
        "## Sign in to Trakt\n"
        f"{flow_text(started, auth.now())}\n\n"
        "Next: once the user has approved it on Trakt, call check_auth_status "
        f"(no sooner than {started.interval:g} seconds from now)."
    )


async def check_auth_status(app: App, args: NoArgs) -> str:
    auth = app.auth
    result = await auth.poll()
    now = auth.now()
    if result.token is not None:
        return signed_in_text(result.token, now)
    if result.state.state == "no_flow":
        # Sending the agent to start_device_auth is only useful when it can start: else say what is missing.
        auth.check_credentials()
    text = result.state.message
    if result.wait > 0:
        text += f" Check again in {max(int(result.wait + 0.999), 1)} seconds."
    if result.state.state in ("pending", "wait", "slow_down") and auth.pending is not None:
        text += f" {flow_text(auth.pending, now)}"
    return text


async def clear_auth(app: App, args: NoArgs) -> str:
    auth = app.auth
    done = await auth.sign_out()
    if not done.had_token:
        if done.had_flow:
            return "No token was stored; the pending sign-in code was forgotten."
        return "Nothing to clear: not signed in and no sign-in in progress."
    where = auth.store.description
    if done.revoke_error:
        return (
            f"Removed the token from {where}, but revoking it at Trakt failed: {done.revoke_error} "
            f"You can revoke this app at {REVOKE_BY_HAND}."
        )
    return f"Signed out: the token was revoked at Trakt and removed from {where}."


async def clear_auth_effect(app: App, args: NoArgs) -> str:
    return "Log out of Trakt and revoke this server's token"


async def clear_auth_ready(app: App, args: NoArgs) -> Unready | None:
    """With no token and no sign-in in progress there is nothing to clear: say so, ask nobody."""
    if app.auth.pending is not None:
        return None
    try:
        token = app.auth.token()
    except UnreadableToken:
        return None  # something is stored: clearing it is what the user may want
    except TokenStoreError as exc:
        return Unready(f"{exc} Nothing was cleared and nobody was asked to approve it.")
    if token is None:
        return Unready("Nothing to clear: not signed in and no sign-in in progress. Nobody was asked.", error=False)
    return None


def _auth_tool(
    name: str, title: str, description: str, run: Handler[NoArgs], endpoint: str, **extra: Any
) -> ToolSpec[Any]:
    """Sign-in tools differ only in these; all take no arguments and belong to the "auth" group."""
    options: dict[str, Any] = {"risk": "auth", **extra}
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        group="auth",
        args=NoArgs,
        run=run,
        endpoints=(endpoint,),
        **options,
    )


TOOLS: list[ToolSpec[Any]] = [
    _auth_tool(
        "start_device_auth",
        "Start Trakt sign-in",
        "Begin Trakt sign-in: gives a code and a link for the user; then call check_auth_status.",
        start_device_auth,
        "POST /oauth/device/code",
    ),
    _auth_tool(
        "check_auth_status",
        "Check Trakt sign-in",
        "Is the user signed in? While sign-in is pending, checks once if it was approved.",
        check_auth_status,
        "POST /oauth/device/token",
    ),
    _auth_tool(
        "clear_auth",
        "Sign out of Trakt",
        "Sign out: revoke this server's Trakt token and delete it here.",
        clear_auth,
        "POST /oauth/revoke",
        risk="destructive",
        effect=clear_auth_effect,
        idempotent=True,
        ready=clear_auth_ready,
    ),
]
