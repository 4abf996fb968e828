"""The user's ratings, watchlist, watch history and paused playbacks: read them, and change them in batches."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from trakt_mcp.tools.entries import line, plain, when
from trakt_mcp.tools.format import bullet_list, fact
from trakt_mcp.tools.params import TraktId
from trakt_mcp.tools.spec import Risk, ToolArgs, ToolSpec, Unready
from trakt_mcp.tools.writes import (
    SINGULAR,
    Batch,
    HistoryRemoveItem,
    HistoryRequestItem,
    MediaType,
    UserRatingIdentifier,
    UserRatingRequestItem,
    UserWatchlistIdentifier,
    UserWatchlistRequestItem,
    batch_effect,
    ids_fit,
    iso_text,
    sync_report,
)
from trakt_mcp.trakt.client import Page, endpoint
from trakt_mcp.trakt.errors import NotFound, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

#: Items per page when the caller names a page, as in the reference server: page=2 is items 11-20.
PAGE_SIZE = 10

ListPage = Annotated[int, Field(ge=1)] | None
IsoTime = Annotated[str, AfterValidator(iso_text)]


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError("expected a playback ID from fetch_playback_progress (a positive number)")
    return value


# -- reads --------------------------------------------------------------------------------------------------------


class RatingsArgs(ToolArgs):
    rating_type: MediaType = "movies"
    rating: Annotated[int, Field(ge=1, le=10)] | None = None
    page: ListPage = None


class WatchlistArgs(ToolArgs):
    watchlist_type: Literal["all", "movies", "shows", "seasons", "episodes"] = "all"
    sort_by: Literal["rank", "added", "title", "released", "runtime", "popularity", "percentage", "votes"] = "rank"
    sort_how: Literal["asc", "desc"] = "asc"
    page: ListPage = None


class HistoryArgs(ToolArgs):
    history_type: MediaType | None = None
    item_id: TraktId | None = None
    start_at: IsoTime | None = None
    end_at: IsoTime | None = None
    page: ListPage = None

    @model_validator(mode="after")
    def _consistent(self) -> HistoryArgs:
        if self.item_id and not self.history_type:
            raise ValueError("item_id needs history_type (movies, shows, seasons or episodes) to say what it names")
        if self.item_id and self.history_type in ("seasons", "episodes") and not self.item_id.isdigit():
            raise ValueError(f"item_id: {self.history_type} are named by their numeric Trakt ID here")
        if self.start_at and self.end_at and self.end_at < self.start_at:
            raise ValueError("end_at must not be before start_at")
        return self


class PlaybackArgs(ToolArgs):
    playback_type: Literal["movies", "episodes"] | None = None


class PlaybackItemArgs(ToolArgs):
    playback_id: Annotated[int, AfterValidator(_positive)]


async def _page(app: App, segments: list[str | int], page: int | None, *, whole: bool, **params: Any) -> Page:
    """`page` given: that page of PAGE_SIZE items. No page: what Trakt answers when asked for none, which is every
    item on its "pagination optional" lists (`whole`: ratings, watchlist) and the first page elsewhere (history).
    Either way the same items as the reference server for the same arguments."""
    if page is None and not whole:
        page = 1
    if page is not None:
        params |= {"page": page, "limit": PAGE_SIZE}
    response = await app.client.get(endpoint(*segments), params=params, auth=True)
    items = response.data if isinstance(response.data, list) else []
    return Page(items=items, pagination=response.pagination)


async def fetch_ratings(app: App, args: RatingsArgs) -> str:
    path: list[str | int] = ["sync", "ratings", args.rating_type]
    if args.rating is not None:
        path.append(args.rating)
    page = await _page(app, path, args.page, whole=True)
    heading = f"Your {SINGULAR[args.rating_type]} ratings" + (f" of {args.rating}/10" if args.rating else "")
    render = lambda row: line(row, f"{row.get('rating')}/10 on {fact(row.get('rated_at'))}")  # noqa: E731
    return bullet_list(heading, page.items, render, page, "No ratings yet.")


async def fetch_watchlist(app: App, args: WatchlistArgs) -> str:
    segments: list[str | int] = ["sync", "watchlist", args.watchlist_type, args.sort_by, args.sort_how]
    page = await _page(app, segments, args.page, whole=True)

    def render(row: dict[str, Any]) -> str:
        note = f'note: "{row["notes"]}"' if row.get("notes") else ""
        return f"#{row.get('rank', '?')} " + line(row, f"added {fact(row.get('listed_at'))}", note)

    return bullet_list("Your watchlist", page.items, render, page, "Your watchlist is empty.")


async def _trakt_id(app: App, media: str, item_id: str) -> str:
    """Trakt filters history by Trakt ID only: a movie's or show's slug or IMDB ID is looked up first."""
    if item_id.isdigit():
        return item_id
    found = (await app.client.get(endpoint(media, item_id))).data
    trakt = found.get("ids", {}).get("trakt") if isinstance(found, dict) else None
    if not isinstance(trakt, int):
        raise TraktError(f"Trakt has no Trakt ID for {SINGULAR[media]} {item_id!r}; nothing was read.")
    return str(trakt)


async def fetch_history(app: App, args: HistoryArgs) -> str:
    path: list[str | int] = ["sync", "history"]
    if args.history_type:
        path.append(args.history_type)
        if args.item_id:
            path.append(await _trakt_id(app, args.history_type, args.item_id))
    page = await _page(app, path, args.page, whole=False, start_at=args.start_at, end_at=args.end_at)

    def render(row: dict[str, Any]) -> str:
        action = "" if row.get("action") in (None, "watch") else f"({row['action']})"
        return line(row, f"{when(row.get('watched_at'))} {action}".strip())

    return bullet_list("Your watch history", page.items, render, page, "No plays in this range.")


def _playback_line(row: dict[str, Any]) -> str:
    progress = f"{float(row.get('progress') or 0):.0f}% watched"
    return line(row, f"{progress} on {fact(row.get('paused_at'))}", f"playback_id {row.get('id')}")


async def _playbacks(app: App, kind: str | None) -> list[Any]:
    segments = ["sync", "playback", kind] if kind else ["sync", "playback"]
    data = (await app.client.get(endpoint(*segments), auth=True)).data
    return data if isinstance(data, list) else []


async def fetch_playback(app: App, args: PlaybackArgs) -> str:
    rows = await _playbacks(app, args.playback_type)
    return bullet_list("Paused playbacks", rows, _playback_line, empty="Nothing paused.")


async def remove_playback(app: App, args: PlaybackItemArgs) -> str:
    try:
        await app.client.request("DELETE", endpoint("sync", "playback", args.playback_id), auth=True)
    except NotFound:
        raise TraktError(
            f"Trakt has no paused playback {args.playback_id}; nothing was removed. fetch_playback_progress lists them."
        ) from None
    return f"Trakt removed paused playback {args.playback_id}; its resume point is gone."


async def playback_effect(app: App, args: PlaybackItemArgs) -> str:
    try:
        rows = await _playbacks(app, None)
    except TraktError:
        rows = []
    row = next((r for r in rows if isinstance(r, dict) and r.get("id") == args.playback_id), None)
    if row is None:
        return f"Remove paused playback {args.playback_id} from your Trakt playback progress"
    progress = f"{float(row.get('progress') or 0):.0f}%"
    return f"Remove the paused playback of {plain(row)} at {progress} (playback_id {args.playback_id})"


async def playback_ready(app: App, args: PlaybackItemArgs) -> Unready | None:
    """A playback_id Trakt does not list cannot be removed: say so before anyone is asked to approve it."""
    try:
        rows = await _playbacks(app, None)
    except TraktError:
        return None  # cannot tell now: the removal itself will say
    if any(isinstance(row, dict) and row.get("id") == args.playback_id for row in rows):
        return None
    return Unready(
        f"Trakt has no paused playback {args.playback_id}; nothing to remove, so nobody was asked to approve it. "
        "fetch_playback_progress lists them."
    )


# -- batch writes -------------------------------------------------------------------------------------------------


class BatchArgs(ToolArgs):
    """A `<x>_type` and its `items`: every item must be named by an ID Trakt matches for that type."""

    @model_validator(mode="after")
    def _ids_fit_the_type(self) -> BatchArgs:
        ids_fit(getattr(self, _media_field(type(self))), getattr(self, "items"))  # noqa: B009 - each subclass declares its own item model
        return self


@functools.cache
def _media_field(model: type[BatchArgs]) -> str:
    """The `<x>_type` field of a batch model (looked up once per model: the guard parses every batch call)."""
    return next(name for name in model.model_fields if name.endswith("_type"))


class RatingsAdd(BatchArgs):
    rating_type: MediaType
    items: Batch[UserRatingRequestItem]


class RatingsRemove(BatchArgs):
    rating_type: MediaType
    items: Batch[UserRatingIdentifier]


class WatchlistAdd(BatchArgs):
    watchlist_type: MediaType
    items: Batch[UserWatchlistRequestItem]


class WatchlistRemove(BatchArgs):
    watchlist_type: MediaType
    items: Batch[UserWatchlistIdentifier]


class HistoryAdd(BatchArgs):
    history_type: MediaType
    items: Batch[HistoryRequestItem]


class HistoryRemove(BatchArgs):
    history_type: MediaType
    items: Batch[HistoryRemoveItem]


@dataclass(frozen=True)
class SyncWrite:
    """A POST /sync/... batch write: what differs between the six is data; running, reporting and effect are shared."""

    name: str
    title: str
    description: str
    risk: Risk
    args: type[ToolArgs]
    path: tuple[str, ...]
    #: The effect sentence starts with this ("Remove from your watch history: ...").
    lead: str
    #: The report heading.
    heading: str
    idempotent: bool = True

    def spec(self) -> ToolSpec[Any]:
        type_field = next(name for name in self.args.model_fields if name.endswith("_type"))

        async def run(app: App, args: Any) -> str:
            media = getattr(args, type_field)
            body = {media: [item.body() for item in args.items]}
            response = await app.client.request("POST", endpoint("sync", *self.path), json_body=body, auth=True)
            return sync_report(self.heading, response.data, media, args.items)

        async def effect(app: App, args: Any) -> str:
            return await batch_effect(app, self.lead, getattr(args, type_field), args.items)

        return ToolSpec(
            name=self.name,
            title=self.title,
            description=self.description,
            group="sync",
            risk=self.risk,
            args=self.args,
            run=run,
            endpoints=(f"POST /sync/{'/'.join(self.path)}",),
            effect=effect,
            idempotent=self.idempotent,
        )


WRITES = [
    SyncWrite(
        "add_user_ratings",
        "Rate items",
        "Rate items 1-10 (replaces earlier ratings).",
        "write",
        RatingsAdd,
        ("ratings",),
        "Rate on Trakt",
        "Ratings saved on Trakt",
    ),
    SyncWrite(
        "remove_user_ratings",
        "Remove ratings",
        "Delete your ratings of these items.",
        "destructive",
        RatingsRemove,
        ("ratings", "remove"),
        "Remove your ratings of",
        "Ratings removed on Trakt",
    ),
    SyncWrite(
        "add_user_watchlist",
        "Add to watchlist",
        "Add items to your watchlist.",
        "write",
        WatchlistAdd,
        ("watchlist",),
        "Add to your watchlist",
        "Watchlist updated on Trakt",
    ),
    SyncWrite(
        "remove_user_watchlist",
        "Remove from watchlist",
        "Take items off your watchlist.",
        "destructive",
        WatchlistRemove,
        ("watchlist", "remove"),
        "Remove from your watchlist",
        "Watchlist updated on Trakt",
    ),
    SyncWrite(
        "add_to_history",
        "Mark watched",
        "Mark items watched (watched_at defaults to now).",
        "write",
        HistoryAdd,
        ("history",),
        "Add to your watch history",
        "Watch history updated on Trakt",
        idempotent=False,
    ),
    SyncWrite(
        "remove_from_history",
        "Remove from history",
        "Delete every play of these items from your history.",
        "destructive",
        HistoryRemove,
        ("history", "remove"),
        "Remove from your watch history",
        "Watch history updated on Trakt",
    ),
]


def _read(name: str, title: str, description: str, args: type[ToolArgs], run: Any, *endpoints: str) -> ToolSpec[Any]:
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        group="sync",
        risk="read",
        args=args,
        run=run,
        endpoints=endpoints,
    )


TOOLS: list[ToolSpec[Any]] = [
    _read(
        "fetch_user_ratings",
        "Your ratings",
        "Your ratings of one type, optionally of one score: all, or 10 per page.",
        RatingsArgs,
        fetch_ratings,
        "GET /sync/ratings/{type}/{rating?}",
    ),
    _read(
        "fetch_user_watchlist",
        "Your watchlist",
        "Your watchlist, sorted as asked: all, or 10 per page.",
        WatchlistArgs,
        fetch_watchlist,
        "GET /sync/watchlist/{type}/{sort_by}/{sort_how}",
    ),
    _read(
        "fetch_history",
        "Your watch history",
        "Your watch history, newest first, 10 per page; filter by type, item, time.",
        HistoryArgs,
        fetch_history,
        "GET /sync/history/{type?}/{id?}",
        "GET /movies/{id}",
        "GET /shows/{id}",
    ),
    _read(
        "fetch_playback_progress",
        "Paused playbacks",
        "What you paused, with progress and playback_id.",
        PlaybackArgs,
        fetch_playback,
        "GET /sync/playback/{type?}",
    ),
    ToolSpec(
        name="remove_playback_item",
        title="Remove paused playback",
        description="Delete a paused playback (resume point) by playback_id.",
        group="sync",
        risk="destructive",
        args=PlaybackItemArgs,
        run=remove_playback,
        endpoints=("DELETE /sync/playback/{id}", "GET /sync/playback"),
        effect=playback_effect,
        idempotent=True,
        ready=playback_ready,
    ),
    *(write.spec() for write in WRITES),
]
