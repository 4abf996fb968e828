"""The user's personal lists: read them and their items, create, rename, delete, and add or remove items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, model_validator

from trakt_mcp.tools.entries import line
from trakt_mcp.tools.format import bullet_list, fact
from trakt_mcp.tools.params import Limit, TraktId, text_of
from trakt_mcp.tools.spec import ToolArgs, ToolSpec, Unready
from trakt_mcp.tools.writes import Batch, ItemRef, MediaType, batch_effect, ids_fit, sync_report
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import NotFound, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

ME = "me"
PRIVACY = ("private", "link", "friends", "public")


def _privacy(value: str) -> str:
    if value not in PRIVACY:
        raise ValueError(f"expected one of {', '.join(PRIVACY)}")
    return value


#: Checked, not published as an enum: the schema says "private" and the error names the others.
Privacy = Annotated[str, AfterValidator(_privacy)]
Name = Annotated[str, text_of(100, "a list name")]
Description = Annotated[str, text_of(2000, "a description")]


class NoListArgs(ToolArgs):
    pass


class ListArgs(ToolArgs):
    list_id: TraktId


class ListItemsArgs(ToolArgs):
    list_id: TraktId
    limit: Limit = 0


class CreateArgs(ToolArgs):
    name: Name
    description: Description | None = None
    privacy: Privacy = "private"


class UpdateArgs(ToolArgs):
    list_id: TraktId
    name: Name | None = None
    description: Description | None = None
    privacy: Privacy | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateArgs:
        if not self.changes():
            raise ValueError("give at least one of name, description, privacy to change")
        return self

    def changes(self) -> dict[str, str]:
        fields = ("name", "description", "privacy")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class ItemsArgs(ToolArgs):
    # items: Trakt IDs, slugs or IMDB IDs of item_type (seasons and episodes have Trakt IDs only).
    list_id: TraktId
    item_type: MediaType
    items: Batch[TraktId]

    @model_validator(mode="after")
    def _ids_fit_the_type(self) -> ItemsArgs:
        try:
            refs = self.refs()
        except TraktError:
            raise ValueError("items: expected Trakt IDs, IMDB IDs or lowercase slugs") from None
        ids_fit(self.item_type, refs)
        return self

    def refs(self) -> list[ItemRef]:
        return [ItemRef.from_id(item) for item in self.items]


def _list_line(item: dict[str, Any]) -> str:
    """'Date night `date-night` (list_id 5002), 3 items, private, updated 2024-05-01'."""
    ids = item.get("ids") or {}
    return (
        f"{item.get('name')} `{ids.get('slug')}` (list_id {ids.get('trakt')}), {item.get('item_count', 0)} items, "
        f"{item.get('privacy', 'private')}, updated {fact(item.get('updated_at'))}"
    )


async def _lists(app: App) -> list[dict[str, Any]]:
    data = (await app.client.get(endpoint("users", ME, "lists"), auth=True)).data
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


async def _named(app: App, list_id: str) -> dict[str, Any] | None:
    """The user's list with this Trakt ID or slug, or None."""
    for item in await _lists(app):
        ids = item.get("ids") or {}
        if list_id in (str(ids.get("trakt")), str(ids.get("slug"))):
            return item
    return None


async def _label(app: App, list_id: str, count: bool = True) -> str:
    try:
        found = await _named(app, list_id)
    except TraktError:
        found = None
    if found is None:
        return f"list {list_id}"
    return f"“{found['name']}”" + (f" ({found.get('item_count', 0)} items)" if count else "")


async def fetch_lists(app: App, args: NoListArgs) -> str:
    return bullet_list("Your lists", await _lists(app), _list_line, empty="You have no personal lists yet.")


async def fetch_items(app: App, args: ListItemsArgs) -> str:
    try:
        data = (await app.client.get(endpoint("users", ME, "lists", args.list_id, "items"), auth=True)).data
    except NotFound:
        raise TraktError(f"You have no list {args.list_id}; fetch_user_lists shows yours.") from None
    rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
    shown = rows[: args.limit] if args.limit else rows
    render = lambda row: f"#{row.get('rank', '?')} " + line(row, f"added {fact(row.get('listed_at'))}")  # noqa: E731
    text = bullet_list(f"Items of list {args.list_id} ({len(rows)})", shown, render, empty="The list is empty.")
    return text + (f"\n_{len(shown)} of {len(rows)} shown._" if len(shown) < len(rows) else "")


async def create_list(app: App, args: CreateArgs) -> str:
    body = args.model_dump(exclude_none=True)
    data = (await app.client.request("POST", endpoint("users", ME, "lists"), json_body=body, auth=True)).data
    created = data if isinstance(data, dict) else {}
    return f"## Created your list on Trakt\n- {_list_line(created)}"


async def update_list(app: App, args: UpdateArgs) -> str:
    path = endpoint("users", ME, "lists", args.list_id)
    try:
        data = (await app.client.request("PUT", path, json_body=args.changes(), auth=True)).data
    except NotFound:
        raise TraktError(f"You have no list {args.list_id}; nothing was changed.") from None
    changed = ", ".join(f'{name} "{value}"' for name, value in args.changes().items())
    return f"## Updated your list on Trakt: {changed}\n- {_list_line(data if isinstance(data, dict) else {})}"


async def delete_list(app: App, args: ListArgs) -> str:
    label = await _label(app, args.list_id)
    try:
        await app.client.request("DELETE", endpoint("users", ME, "lists", args.list_id), auth=True)
    except NotFound:
        raise TraktError(f"You have no list {args.list_id}; nothing was deleted.") from None
    return f"Trakt deleted your list {label}, and every item on it."


async def list_ready(app: App, args: ListArgs | UpdateArgs | ItemsArgs) -> Unready | None:
    """A list the user does not have cannot be changed: say so before anyone is asked."""
    try:
        found = await _named(app, args.list_id)
    except TraktError:
        return None  # cannot tell now: the call itself will say
    if found is not None:
        return None
    return Unready(f"You have no list {args.list_id}; nobody was asked to approve it. fetch_user_lists shows yours.")


def _items_write(remove: bool) -> Any:
    async def run(app: App, args: ItemsArgs) -> str:
        parts: list[str | int] = ["users", ME, "lists", args.list_id, "items", *(["remove"] if remove else [])]
        body = {args.item_type: [item.body() for item in args.refs()]}
        try:
            data = (await app.client.request("POST", endpoint(*parts), json_body=body, auth=True)).data
        except NotFound:
            raise TraktError(f"You have no list {args.list_id}; nothing was changed.") from None
        return sync_report(f"List {args.list_id} updated on Trakt", data, args.item_type, args.refs())

    async def effect(app: App, args: ItemsArgs) -> str:
        lead = f"{'Remove from' if remove else 'Add to'} your list {await _label(app, args.list_id, count=False)}"
        return await batch_effect(app, lead, args.item_type, args.refs())

    return run, effect


ADD, ADD_EFFECT = _items_write(remove=False)
REMOVE, REMOVE_EFFECT = _items_write(remove=True)


async def create_effect(app: App, args: CreateArgs) -> str:
    return f"Create a {args.privacy} list “{args.name}” on your Trakt account"


async def update_effect(app: App, args: UpdateArgs) -> str:
    changed = ", ".join(f'{name} to "{value}"' for name, value in args.changes().items())
    return f"Change your list {await _label(app, args.list_id)}: {changed}"


async def delete_effect(app: App, args: ListArgs) -> str:
    return f"Delete your list {await _label(app, args.list_id)} and every item on it"


LIST = "/users/{id}/lists"
TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="fetch_user_lists",
        title="Your lists",
        description="Your personal lists and their list_id.",
        group="lists",
        risk="read",
        args=NoListArgs,
        run=fetch_lists,
        endpoints=(f"GET {LIST}",),
    ),
    ToolSpec(
        name="fetch_list_items",
        title="List items",
        description="Items of one of your lists; limit 0 = all.",
        group="lists",
        risk="read",
        args=ListItemsArgs,
        run=fetch_items,
        endpoints=(f"GET {LIST}/{{list_id}}/items",),
    ),
    ToolSpec(
        name="create_user_list",
        title="Create list",
        description="Create a personal list.",
        group="lists",
        risk="write",
        args=CreateArgs,
        run=create_list,
        endpoints=(f"POST {LIST}",),
        effect=create_effect,
        idempotent=False,
    ),
    ToolSpec(
        name="update_user_list",
        title="Update list",
        description="Rename a list or change its description or privacy.",
        group="lists",
        risk="write",
        args=UpdateArgs,
        run=update_list,
        endpoints=(f"PUT {LIST}/{{list_id}}",),
        effect=update_effect,
        idempotent=True,
        ready=list_ready,
    ),
    ToolSpec(
        name="delete_user_list",
        title="Delete list",
        description="Delete one of your lists.",
        group="lists",
        risk="destructive",
        args=ListArgs,
        run=delete_list,
        endpoints=(f"DELETE {LIST}/{{list_id}}", f"GET {LIST}"),
        effect=delete_effect,
        idempotent=True,
        ready=list_ready,
    ),
    ToolSpec(
        name="add_to_user_list",
        title="Add to list",
        description="Add items (IDs) to one of your lists.",
        group="lists",
        risk="write",
        args=ItemsArgs,
        run=ADD,
        endpoints=(f"POST {LIST}/{{list_id}}/items",),
        effect=ADD_EFFECT,
        idempotent=True,
        ready=list_ready,
    ),
    ToolSpec(
        name="remove_from_user_list",
        title="Remove from list",
        description="Take items off one of your lists.",
        group="lists",
        risk="destructive",
        args=ItemsArgs,
        run=REMOVE,
        endpoints=(f"POST {LIST}/{{list_id}}/items/remove",),
        effect=REMOVE_EFFECT,
        idempotent=True,
        ready=list_ready,
    ),
]
