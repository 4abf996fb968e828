"""Shared by every write to the user's Trakt: item models and their validation, sync bodies, honest reports of
what Trakt did (counts and `not_found` items, named by the identifier the user gave), and effect sentences."""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import anyio
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from guard.text import plain
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import InvalidArgument, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

MAX_BATCH = 100
#: Effect sentences look titles up for this many items; further items are named by their identifier.
MAX_TITLE_LOOKUPS = 25
LOOKUP_CONCURRENCY = 4
#: An effect sentence names this many items, then says how many more (the owner always reads the count).
EFFECT_ITEMS = 5
#: The longest label of one item in an effect sentence.
EFFECT_LABEL = 80

MediaType = Literal["movies", "shows", "seasons", "episodes"]
SINGULAR = {"movies": "movie", "shows": "show", "seasons": "season", "episodes": "episode"}

#: Argument field -> key in Trakt's `ids` object, and how a person calls it.
ID_FIELDS: dict[str, tuple[str, str]] = {
    "trakt_id": ("trakt", "Trakt ID"),
    "slug": ("slug", "slug"),
    "imdb_id": ("imdb", "IMDB ID"),
    "tmdb_id": ("tmdb", "TMDB ID"),
    "tvdb_id": ("tvdb", "TVDB ID"),
}
_ID_VALUES = operator.attrgetter(*ID_FIELDS)
NUMERIC_IDS = frozenset({"trakt", "tmdb", "tvdb"})
#: The IDs Trakt matches in a sync body, per kind of item: seasons and episodes have no slug, seasons no IMDB ID,
#: movies no TVDB ID. Any other is never found, so it is refused before sending.
MATCHED_IDS: dict[str, tuple[str, ...]] = {
    "movies": ("trakt_id", "slug", "imdb_id", "tmdb_id"),
    "shows": tuple(ID_FIELDS),
    "seasons": ("trakt_id", "tmdb_id", "tvdb_id"),
    "episodes": ("trakt_id", "imdb_id", "tmdb_id", "tvdb_id"),
}
#: The IDs of ID_FIELDS that MATCHED_IDS leaves out, per kind of item.
_UNUSABLE_IDS = {
    media: tuple(name for name in ID_FIELDS if name not in usable) for media, usable in MATCHED_IDS.items()
}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")
_IMDB = re.compile(r"tt[0-9]{1,10}")
_NUMBER = re.compile(r"[0-9]{1,12}")


def _pattern(regex: re.Pattern[str], expected: str) -> AfterValidator:
    """Trimmed, then matched against ASCII-only patterns (no fullwidth or Arabic-Indic digits)."""

    def check(value: str) -> str:
        value = value.strip()
        if not regex.fullmatch(value):
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


def _numeric_id(value: str) -> str:
    """Trimmed, digits 0-9 only, in its canonical spelling: '0120' and ' 120' are 120, so a policy naming "120"
    sees them (one validator: every ID of every batch item goes through it on each guard decision)."""
    if value.isascii() and value.isdigit() and len(value) <= 12 and (value[0] != "0" or len(value) == 1):
        return value  # already canonical: digits 0-9 only, nothing to trim, no leading zero
    value = value.strip()
    if not _NUMBER.fullmatch(value):
        raise ValueError("expected a number written with the digits 0-9, such as '120'")
    return str(int(value))


def _iso_datetime(value: Any) -> Any:
    """ISO 8601 text only (no Unix numbers); a time without a zone is read as UTC."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time such as '2024-05-01T20:00:00Z'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def trakt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_text(value: str) -> str:
    """An ISO 8601 argument as Trakt wants it: '2024-05-01T18:00:00.000Z' (UTC)."""
    return trakt_time(_iso_datetime(value))


def _not_in_future(value: datetime | None) -> datetime | None:
    if value is not None and value > datetime.now(UTC):
        raise ValueError("expected a time that is not in the future")
    return value


def _batch_cap(items: list[Any]) -> list[Any]:
    if len(items) > MAX_BATCH:
        raise ValueError(f"expected at most {MAX_BATCH} items per call (got {len(items)}); split the batch")
    return items


#: ID formats are checked by validators, not published as schema keywords: every byte of schema costs context.
NumericId = Annotated[str, AfterValidator(_numeric_id)]
SlugId = Annotated[str, _pattern(_SLUG, "a lowercase slug such as 'the-dark-knight-2008'")]
ImdbId = Annotated[str, _pattern(_IMDB, "an IMDB ID such as 'tt0468569'")]
Year = Annotated[int, Field(gt=1800)]
WatchedAt = Annotated[datetime | None, BeforeValidator(_iso_datetime), AfterValidator(_not_in_future)]
T = TypeVar("T")
#: A list of 1..MAX_BATCH items (the cap is checked, not published, so schemas stay as small as the contract's).
Batch = Annotated[list[T], Field(min_length=1), AfterValidator(_batch_cap)]


def _unpublished_strictness(schema: dict[str, Any]) -> None:
    """Unknown item fields are still refused; the schema just does not spend bytes saying so."""
    schema.pop("additionalProperties", None)


class ItemRef(BaseModel):
    """One movie, show, season or episode, named by at least one ID."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_unpublished_strictness)

    trakt_id: NumericId | None = None
    slug: SlugId | None = None
    imdb_id: ImdbId | None = None
    tmdb_id: NumericId | None = None
    tvdb_id: NumericId | None = None
    year: Year | None = None

    @model_validator(mode="after")
    def _needs_an_id(self) -> ItemRef:
        if not any(_ID_VALUES(self)):
            raise ValueError("expected at least one ID: trakt_id, slug, imdb_id, tmdb_id or tvdb_id")
        return self

    @classmethod
    def from_id(cls, value: str) -> ItemRef:
        """A Trakt ID, IMDB ID or slug as one string (what single-item tools take)."""
        field = "trakt_id" if _NUMBER.fullmatch(value) else "imdb_id" if _IMDB.fullmatch(value) else "slug"
        try:
            return cls.model_validate({field: value})
        except ValidationError:
            raise InvalidArgument("ID", "a Trakt ID, IMDB ID or lowercase slug", value) from None

    def ids(self) -> dict[str, str | int]:
        given = ((key, getattr(self, name)) for name, (key, _) in ID_FIELDS.items())
        return {key: int(value) if key in NUMERIC_IDS else value for key, value in given if value}

    def identifier(self) -> str:
        """How the user named it: 'IMDB ID tt0468569' (every ID they gave)."""
        given = ((label, getattr(self, name)) for name, (_, label) in ID_FIELDS.items())
        return ", ".join(f"{label} {value}" for label, value in given if value)

    def body(self) -> dict[str, Any]:
        """The item in a Trakt sync body: `ids`, `year`, and the subclass's extra fields (rating, notes...)."""
        extra = {
            name: trakt_time(value) if isinstance(value, datetime) else value
            for name, value in self
            if name not in ID_FIELDS and value is not None
        }
        return {"ids": self.ids(), **extra}


class UserRatingRequestItem(ItemRef):
    rating: Annotated[int, Field(ge=1, le=10)]


class UserRatingIdentifier(ItemRef):
    pass


class UserWatchlistRequestItem(ItemRef):
    notes: Annotated[str, Field(max_length=500)] | None = None


class UserWatchlistIdentifier(ItemRef):
    pass


class HistoryRequestItem(ItemRef):
    watched_at: WatchedAt = None


class HistoryRemoveItem(ItemRef):
    pass


def ids_fit(media: str, items: Sequence[ItemRef]) -> None:
    """Refuse an ID Trakt cannot match for this kind of item ('items.0.slug: episodes have no slug ...')."""
    usable = MATCHED_IDS.get(media, tuple(ID_FIELDS))
    unusable = _UNUSABLE_IDS.get(media, ())
    for index, item in enumerate(items):
        for name in unusable:
            if getattr(item, name):
                label = ID_FIELDS[name][1]
                raise ValueError(f"items.{index}.{name}: {media} have no {label} at Trakt; use {', '.join(usable)}")


# -- effect sentences ---------------------------------------------------------------------------------------------


def fallback_label(media: str, item: ItemRef) -> str:
    return f"{SINGULAR.get(media, media)} with {item.identifier()}"


async def lookup_title(app: App, media: str, item: ItemRef) -> str:
    """'The Dark Knight (2008)' from the catalogue, or the identifier when Trakt cannot say (never raises)."""
    key = item.trakt_id or item.slug or item.imdb_id
    if media not in ("movies", "shows") or key is None:
        return fallback_label(media, item)
    try:
        found = (await app.client.get(endpoint(media, key))).data
    except TraktError:
        return fallback_label(media, item)
    if not isinstance(found, dict) or not found.get("title"):
        return fallback_label(media, item)
    return f"{found['title']} ({found['year']})" if found.get("year") else str(found["title"])


async def item_labels(app: App, media: str, items: Sequence[ItemRef]) -> list[str]:
    """Titles for the first MAX_TITLE_LOOKUPS items (looked up concurrently), identifiers for the rest."""
    labels = [fallback_label(media, item) for item in items]
    gate = anyio.Semaphore(LOOKUP_CONCURRENCY)

    async def resolve(index: int) -> None:
        async with gate:
            labels[index] = await lookup_title(app, media, items[index])

    async with anyio.create_task_group() as group:
        for index in range(min(len(items), MAX_TITLE_LOOKUPS)):
            group.start_soon(resolve, index)
    return labels


def item_detail(item: ItemRef) -> str:
    """What a write sets besides the item itself: ' 9/10', ' watched 2024-05-01 20:00 UTC', ' (note: "...")'."""
    if isinstance(item, UserRatingRequestItem):
        return f" {item.rating}/10"
    if isinstance(item, HistoryRequestItem):
        when = item.watched_at
        return f" watched {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if when else " watched now"
    if isinstance(item, UserWatchlistRequestItem) and item.notes:
        note = plain(item.notes)
        return f' (note: "{note}")' if note else " (a note of blank-looking characters)"
    return ""


async def batch_effect(app: App, lead: str, media: str, items: Sequence[ItemRef]) -> str:
    """'Remove from your watch history (2 items): The Dark Knight (2008), Inception (2010)'; past EFFECT_ITEMS
    items '... and 57 more'. The count always comes first, and every label is plain text (guard.text: nothing
    blank-rendering, no padding) cut to EFFECT_LABEL characters, so the owner reads the whole batch's size."""
    labels = await item_labels(app, media, items[:EFFECT_ITEMS])
    named = [
        excerpt_plain(label + item_detail(item)) for label, item in zip(labels[:EFFECT_ITEMS], items, strict=False)
    ]
    rest = len(items) - len(named)
    count = f"{len(items)} item{'' if len(items) == 1 else 's'}"
    return f"{lead} ({count}): " + ", ".join(named) + (f" and {rest} more" if rest else "")


def excerpt_plain(text: str) -> str:
    cleaned = plain(text) or "(blank)"
    return cleaned if len(cleaned) <= EFFECT_LABEL else cleaned[: EFFECT_LABEL - 1] + "…"


# -- what Trakt did -----------------------------------------------------------------------------------------------

COUNT_KEYS = ("added", "updated", "existing", "deleted")


def _counts(data: dict[str, Any], key: str) -> str:
    numbers = data.get(key)
    if not isinstance(numbers, dict):
        return ""
    parts = [f"{n} {kind if n != 1 else SINGULAR.get(kind, kind)}" for kind, n in numbers.items() if n]
    return ", ".join(parts)


def _same_ids(returned: Any, sent: dict[str, str | int]) -> bool:
    if not isinstance(returned, dict):
        return False
    normalized = {key: str(value) for key, value in returned.items() if value is not None}
    return normalized == {key: str(value) for key, value in sent.items()}


def not_found_lines(data: dict[str, Any], media: str, items: Sequence[ItemRef]) -> list[str]:
    """Each item Trakt did not recognise, named as the user named it ('item 2: movie with IMDB ID tt0000111')."""
    missing = data.get("not_found")
    if not isinstance(missing, dict):
        return []
    lines = []
    for kind, entries in missing.items():
        for entry in entries if isinstance(entries, list) else []:
            returned = entry.get("ids") if isinstance(entry, dict) else entry
            match = next((i for i, item in enumerate(items) if _same_ids(returned, item.ids())), None)
            if match is None:
                lines.append(f"{SINGULAR.get(kind, kind)} with IDs {returned}")
            else:
                lines.append(f"item {match + 1}: {fallback_label(media, items[match])}")
    return lines


def sync_report(heading: str, data: Any, media: str, items: Sequence[ItemRef]) -> str:
    """Markdown: Trakt's counts (added / updated / existing / deleted) and every item it did not find."""
    answer = data if isinstance(data, dict) else {}
    lines = [f"## {heading}"]
    counted = [(key, _counts(answer, key)) for key in COUNT_KEYS]
    changes = [f"- {key.capitalize()}: {text}" for key, text in counted if text]
    lines += changes or ["- Trakt changed nothing."]
    missing = not_found_lines(answer, media, items)
    if missing:
        lines.append("- Not found on Trakt (nothing written for these):")
        lines += [f"  - {line}" for line in missing]
    return "\n".join(lines)
