"""A person's approvals: the guard's `page` channel (guard.channels.page) for the people of multi-user mode. A
call of theirs that needs confirmation is decided by them, in their own browser session, on the pages of
`trakt_mcp.remote.approval_pages`; never by their MCP client, never by the operator's desktop or terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guard.approvals import Approvals
from guard.channels.page import KIND, PageChannel
from guard.home import secret_key
from trakt_mcp.remote.people import CURRENT_PERSON

if TYPE_CHECKING:
    from trakt_mcp.app import App

APPROVALS_PATH = "/approvals"
#: An expired approval stays readable this long, so its page says "expired" rather than "unknown".
EXPIRED_KEPT = 3600.0
#: Live approvals of all people at once (each person may have guard.channels.base.MAX_WAITING_PER_CALLER).
MAX_WAITING = 2000


def page_channel(app: App) -> PageChannel:
    """The guard's channel for people: their approvals in the shared state store (every process and replica
    agrees), a kind of their own that the owner's `approve` never lists."""
    settings, store = app.settings, app.store
    assert settings.public_url is not None and store is not None
    base = settings.public_url
    approvals = Approvals(
        store,
        key=lambda: secret_key(settings.home),
        ttl=settings.approval_seconds,
        kind=KIND,
        kept=EXPIRED_KEPT,
        max_waiting=MAX_WAITING,
    )
    return PageChannel(
        approvals,
        page_url=lambda code: f"{base}{APPROVALS_PATH}/{code}",
        list_url=f"{base}{APPROVALS_PATH}",
        serves=lambda identity: identity is not None and CURRENT_PERSON.get() == identity,
    )


def channel_of(app: App) -> PageChannel:
    """The people's page channel the guard asks (put there by `trakt_mcp.remote.serve.bind`)."""
    assert app.guard is not None
    return next(channel for channel in app.guard.channels if isinstance(channel, PageChannel))
