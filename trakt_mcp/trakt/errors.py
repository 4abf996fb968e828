"""Typed errors for everything that can go wrong talking to Trakt, each with a message a person understands."""

from __future__ import annotations

from datetime import datetime

import httpx

from trakt_mcp.settings import how_to_configure, in_bundle
from trakt_mcp.terminal import command, excerpt


class TraktError(Exception):
    """Base of every error this package reports to a user. The message is safe to show: it never holds secrets."""

    status: int | None = None


class InvalidArgument(TraktError):
    """An argument was rejected before any request was sent."""

    def __init__(self, argument: str, expected: str, got: object) -> None:
        super().__init__(f"Invalid {argument}: expected {expected}, got {excerpt(got)}. Nothing was sent to Trakt.")
        self.argument = argument


class NotConfigured(TraktError):
    def __init__(self) -> None:
        super().__init__(f"Trakt is not configured: no client ID. {how_to_configure()}")


def login_command(sandbox: bool) -> str:
    """The terminal command that signs in: the sandbox keeps its own sign-in, so its hints name it."""
    return command("login --sandbox" if sandbox else "login")


class NotSignedIn(TraktError):
    def __init__(self, detail: str = "", *, sandbox: bool = False) -> None:
        lead = f"{detail} " if detail else ""
        steps = (
            "call start_device_auth, then check_auth_status (the sandbox approves its code by itself)"
            if sandbox
            else "call start_device_auth, open the link it gives, enter the code, then call check_auth_status"
        )
        # The extension's client ID lives in its settings, not in a shell: a terminal sign-in would lack it.
        terminal = "" if in_bundle() else f" (or run `{login_command(sandbox)}` in a terminal)"
        super().__init__(f"{lead}This needs your Trakt account: {steps}{terminal}.")


class TraktHTTPError(TraktError):
    """Trakt answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Trakt answered {status}: {message}")
        self.status = status


class BadRequest(TraktHTTPError):
    pass


class Unauthorized(TraktHTTPError):
    pass


class Forbidden(TraktHTTPError):
    pass


class NotFound(TraktHTTPError):
    pass


class MethodNotAllowed(TraktHTTPError):
    pass


class Conflict(TraktHTTPError):
    def __init__(self, status: int, message: str, expires_at: datetime | None = None) -> None:
        super().__init__(status, message)
        self.expires_at = expires_at


class PreconditionFailed(TraktHTTPError):
    pass


class AccountLimit(TraktHTTPError):
    pass


class Unprocessable(TraktHTTPError):
    pass


class AccountLocked(TraktHTTPError):
    pass


class VipOnly(TraktHTTPError):
    pass


class RateLimited(TraktHTTPError):
    def __init__(self, status: int, message: str, retry_after: float) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


class ServerError(TraktHTTPError):
    pass


class Redirected(TraktHTTPError):
    """Trakt's API does not redirect: a 3xx means TRAKT_API_URL points elsewhere (http:// for https://...). The
    Location is neither followed nor quoted anywhere (result, log): a hostile or broken API could put a token in it."""

    def __init__(self, status: int) -> None:
        super().__init__(
            status,
            "the API answered with a redirect, which is never followed (its target is not shown: it could carry "
            "a token); check TRAKT_API_URL.",
        )


class InvalidClient(TraktHTTPError):
    """Trakt refused the app itself (client ID or secret) on a sign-in call: a setting to fix, not a sign-in."""

    def __init__(self) -> None:
        super().__init__(
            401,
            "Trakt refused this app's client ID or secret (invalid_client). Check TRAKT_CLIENT_ID and "
            "TRAKT_CLIENT_SECRET against your app at https://trakt.tv/oauth/applications.",
        )


class NetworkError(TraktError):
    """No answer from Trakt: timeout, refused or reset connection."""


class MalformedResponse(TraktError):
    """Trakt answered, but not with the JSON it documents."""


UNDECODABLE = "Trakt answered with a body that could not be decoded (a broken compressed answer); try again later."


_STATUS: dict[int, tuple[type[TraktHTTPError], str]] = {
    400: (BadRequest, "the request was not understood (bad request)."),
    401: (Unauthorized, "your Trakt sign-in is missing, expired or revoked. Sign in again with start_device_auth."),
    403: (Forbidden, "the API key (client ID) is invalid or the app is not approved. Check TRAKT_CLIENT_ID."),
    404: (NotFound, "not found: check the ID, slug, season or episode number."),
    405: (MethodNotAllowed, "this method is not allowed on that endpoint."),
    409: (Conflict, "conflict: it already exists or an action is already in progress."),
    412: (PreconditionFailed, "precondition failed (content type must be application/json)."),
    420: (AccountLimit, "account limit exceeded: this list or collection is full for a free account (VIP raises it)."),
    422: (Unprocessable, "unprocessable entity: Trakt rejected the data (validation errors)."),
    423: (AccountLocked, "your Trakt account is locked or deactivated; contact Trakt support."),
    426: (VipOnly, "this feature needs Trakt VIP."),
    500: (ServerError, "Trakt had an internal error; try again later."),
    502: (ServerError, "Trakt is unavailable (bad gateway); try again in a few minutes."),
    503: (ServerError, "Trakt is overloaded or under maintenance; try again in a few minutes."),
    504: (ServerError, "Trakt timed out (gateway timeout); try again in a few minutes."),
    520: (ServerError, "Trakt is unreachable behind Cloudflare (520); try again in a few minutes."),
    521: (ServerError, "Trakt's servers are down (Cloudflare 521); try again later."),
    522: (ServerError, "Trakt's servers are down (Cloudflare 522); try again later."),
}

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522})


def error_for_status(
    status: int, *, retry_after: float | None = None, expires_at: datetime | None = None
) -> TraktHTTPError:
    """The typed error for a Trakt status code (unknown codes map by class: 4xx bad request, 5xx server)."""
    if status == 429:
        wait = retry_after if retry_after is not None else 1.0
        return RateLimited(429, f"rate limit exceeded; retry in {wait:g} seconds.", wait)
    if status == 409 and expires_at is not None:
        until = expires_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return Conflict(
            409, f"a check-in is already in progress until {until}. Cancel it on Trakt or wait.", expires_at
        )
    cls, message = _STATUS.get(status, (ServerError if status >= 500 else BadRequest, "unexpected answer."))
    return cls(status, message)


def transport_failure(exc: httpx.TransportError | httpx.DecodingError, *, write: bool) -> TraktError:
    """The error for a call that got no usable answer: undecodable body, timeout, or no connection. A write that
    timed out may have been applied, and the message says so."""
    if isinstance(exc, httpx.DecodingError):
        return MalformedResponse(UNDECODABLE)
    name = type(exc).__name__
    if not isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"Could not reach Trakt ({name}); check the network.")
    if write:
        return NetworkError(
            f"Trakt did not answer in time ({name}); the change may or may not have been applied: "
            "check before trying again."
        )
    return NetworkError(f"Trakt did not answer in time ({name}); try again shortly.")
