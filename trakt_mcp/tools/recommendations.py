"""Personal recommendations: read them, hide one from them, or bring a hidden one back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from trakt_mcp.tools.format import bullet_list, media_line
from trakt_mcp.tools.params import TraktId
from trakt_mcp.tools.spec import ToolArgs, ToolSpec
from trakt_mcp.tools.writes import ItemRef, lookup_title, sync_report
from trakt_mcp.trakt.client import endpoint

if TYPE_CHECKING:
    from trakt_mcp.app import App

Kind = Literal["movies", "shows"]


class RecommendationArgs(ToolArgs):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    ignore_collected: bool = True
    ignore_watchlisted: bool = True


class MovieArgs(ToolArgs):
    movie_id: TraktId


class ShowArgs(ToolArgs):
    show_id: TraktId


def _item_id(args: Any) -> str:
    return str(getattr(args, "movie_id", None) or args.show_id)


def _fetch(kind: Kind) -> Any:
    async def run(app: App, args: RecommendationArgs) -> str:
        params = {
            "limit": args.limit,
            "ignore_collected": args.ignore_collected,
            "ignore_watchlisted": args.ignore_watchlisted,
        }
        rows = (await app.client.get(endpoint("recommendations", kind), params=params, auth=True)).data or []
        return bullet_list(f"Recommended {kind} for you", rows, media_line, empty="No recommendations right now.")

    return run


def _hide(kind: Kind) -> tuple[Any, Any]:
    async def run(app: App, args: Any) -> str:
        label = await lookup_title(app, kind, ItemRef.from_id(_item_id(args)))
        await app.client.request("DELETE", endpoint("recommendations", kind, _item_id(args)), auth=True)
        return f"Trakt will no longer recommend {label} to you (undo with unhide_{kind[:-1]}_recommendation)."

    async def effect(app: App, args: Any) -> str:
        label = await lookup_title(app, kind, ItemRef.from_id(_item_id(args)))
        return f"Hide from your {kind[:-1]} recommendations: {label}"

    return run, effect


def _unhide(kind: Kind) -> tuple[Any, Any]:
    async def run(app: App, args: Any) -> str:
        item = ItemRef.from_id(_item_id(args))
        body = {kind: [item.body()]}
        response = await app.client.request(
            "POST", endpoint("users", "hidden", "recommendations", "remove"), json_body=body, auth=True
        )
        return sync_report(f"Hidden {kind[:-1]} recommendations", response.data, kind, [item])

    async def effect(app: App, args: Any) -> str:
        label = await lookup_title(app, kind, ItemRef.from_id(_item_id(args)))
        return f"Allow again in your {kind[:-1]} recommendations: {label}"

    return run, effect


def _tools(kind: Kind) -> list[ToolSpec[Any]]:
    noun = kind[:-1]
    args = MovieArgs if kind == "movies" else ShowArgs
    hide, hide_effect = _hide(kind)
    unhide, unhide_effect = _unhide(kind)
    common: dict[str, Any] = {"group": "recommendations", "args": args, "idempotent": True}
    return [
        ToolSpec(
            name=f"fetch_{noun}_recommendations",
            title=f"Recommended {kind}",
            description=f"{kind.capitalize()} Trakt recommends for you.",
            group="recommendations",
            risk="read",
            args=RecommendationArgs,
            run=_fetch(kind),
            endpoints=(f"GET /recommendations/{kind}",),
        ),
        ToolSpec(
            name=f"hide_{noun}_recommendation",
            title=f"Hide {noun} recommendation",
            description=f"Stop Trakt recommending this {noun}.",
            risk="write",
            run=hide,
            endpoints=(f"DELETE /recommendations/{kind}/{{id}}", f"GET /{kind}/{{id}}"),
            effect=hide_effect,
            **common,
        ),
        ToolSpec(
            name=f"unhide_{noun}_recommendation",
            title=f"Unhide {noun} recommendation",
            description=f"Let Trakt recommend a hidden {noun} again.",
            risk="write",
            run=unhide,
            endpoints=("POST /users/hidden/recommendations/remove", f"GET /{kind}/{{id}}"),
            effect=unhide_effect,
            **common,
        ),
    ]


TOOLS: list[ToolSpec[Any]] = _tools("movies") + _tools("shows")
