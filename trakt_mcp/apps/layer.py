"""MCP Apps for clients that negotiated them, and nothing at all for the rest.

Two middlewares. `AppsLayer`, outside the guard: for a client that declared `io.modelcontextprotocol/ui` it names
a card on the tools that have one (`_meta.ui.resourceUri`), lists and serves the `ui://` cards, and lists the tools
only a card may call (the approval card's answer). `CardData`, inside the guard: it adds each card's data to a
successful answer's `_meta`, so the data is fetched inside the admission the guard gave that call (guard.gate) and
never as a side door. Every other client's requests pass through untouched, so tools/list and every answer stay
byte-for-byte what they were.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from guard.channels.app import APPROVAL_KEY
from trakt_mcp.apps.cards import APPROVAL, CARD_KEY, CARDS, Ask
from trakt_mcp.apps.html import CARD_TITLES, IMAGE_ORIGIN, card_html
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App
    from trakt_mcp.sandbox import FakeTrakt

log = logging.getLogger("trakt_mcp.apps")
Context = ServerRequestContext[Any, Any]
#: Asks the guard, for the caller of `ctx`: ({tool: may need confirmation}, preview of one call).
Previewer = Callable[[Context], tuple[Callable[[str], bool], Ask]]


def declares_apps(capabilities: Any) -> bool:
    """The client advertised the extension with the card MIME type (a dict from initialize, or the SDK's model)."""
    extensions = capabilities.get("extensions") if isinstance(capabilities, Mapping) else None
    if extensions is None:
        extensions = getattr(capabilities, "extensions", None)
    settings = extensions.get(EXTENSION_ID) if isinstance(extensions, Mapping) else None
    mime_types = settings.get("mimeTypes") if isinstance(settings, Mapping) else None
    return isinstance(mime_types, list | tuple) and APP_MIME_TYPE in mime_types


def inline_posters(card: Any, fake: FakeTrakt) -> None:
    """In the sandbox the posters exist only in the fake Trakt, not on Trakt's image host: a card gets them inline
    (`data:` URIs, which a card's CSP allows), so the sandbox shows real pictures in a real host too."""
    items = card.values() if isinstance(card, dict) else card if isinstance(card, list) else ()
    for value in items:
        inline_posters(value, fake)
    url = card.get("poster") if isinstance(card, dict) else None
    if isinstance(url, str) and url.startswith(IMAGE_ORIGIN + "/"):
        image = fake.handle(httpx.Request("GET", url))
        if image.status_code == 200:
            encoded = base64.b64encode(image.content).decode("ascii")
            card["poster"] = f"data:{image.headers['content-type']};base64,{encoded}"


def _dump(result: HandlerResult) -> dict[str, Any]:
    if isinstance(result, Mapping):
        return dict(result)
    dumped: dict[str, Any] = result.model_dump(by_alias=True, exclude_none=True, mode="json")  # type: ignore[union-attr]
    return dumped


class AppsLayer:
    """`server.middleware.insert(..., AppsLayer(app, previewer, app_only))`: before (outside) the guard."""

    def __init__(self, app: App, previewer: Previewer, app_tools: list[dict[str, Any]] | None = None) -> None:
        self.app = app
        self.previewer = previewer
        #: Tools only a card may call (`_meta.ui.visibility: ["app"]`, e.g. the approval card's answer): listed to
        #: Apps hosts only, and answered by the guard itself.
        self.app_tools = list(app_tools or [])

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            return self._announce(ctx, await call_next(ctx))
        if ctx.method not in ("tools/list", "resources/list", "resources/read"):
            return await call_next(ctx)
        capabilities = ctx.session.client_capabilities
        apps = declares_apps(capabilities)
        if ctx.method == "resources/read":
            uri = str((ctx.params or {}).get("uri"))
            if apps and uri in CARD_TITLES:
                return self._read_card(uri)
            return await call_next(ctx)
        if ctx.method == "resources/list":
            result = await call_next(ctx)
            return self._list_cards(result) if apps else result
        result = await call_next(ctx)
        return self._decorate_tools(ctx, result) if apps else result

    # --- handshake and lists -------------------------------------------------------------------------------------

    @staticmethod
    def _announce(ctx: Context, result: HandlerResult) -> HandlerResult:
        """Tell a client that offered Apps that this server speaks them (others get the same answer as before)."""
        if not declares_apps((ctx.params or {}).get("capabilities")) or not isinstance(result, dict):
            return result
        capabilities = result.get("capabilities")
        if isinstance(capabilities, dict):
            capabilities.setdefault("extensions", {})[EXTENSION_ID] = {}
        return result

    def _decorate_tools(self, ctx: Context, result: HandlerResult) -> HandlerResult:
        if result is None:
            return result
        may_confirm, _ = self.previewer(ctx)
        data = _dump(result)
        for tool in data.get("tools", []):
            name = tool.get("name")
            card = CARDS.get(name)
            uri = card.uri if card else APPROVAL if may_confirm(name) else None
            if uri:
                tool["_meta"] = {**(tool.get("_meta") or {}), "ui": {"resourceUri": uri}}
        data["tools"] = [*data.get("tools", []), *self.app_tools]
        return data

    @staticmethod
    def _list_cards(result: HandlerResult) -> HandlerResult:
        if result is None:
            return result
        data = _dump(result)
        cards = [
            {"uri": uri, "name": uri.removeprefix("ui://").replace("/", "-"), "title": title, "mimeType": APP_MIME_TYPE}
            for uri, title in CARD_TITLES.items()
        ]
        data["resources"] = [*data.get("resources", []), *cards]
        return data

    @staticmethod
    def _read_card(uri: str) -> dict[str, Any]:
        meta = {"ui": {"csp": {"resourceDomains": [IMAGE_ORIGIN]}, "prefersBorder": True}}
        return {"contents": [{"uri": uri, "mimeType": APP_MIME_TYPE, "text": card_html(uri), "_meta": meta}]}


class CardData:
    """`server.middleware.append(CardData(app, previewer))`, after (inside) the guard: a tool call the guard let
    run gets its card's data, fetched inside that call's admission (guard.gate)."""

    def __init__(self, app: App, previewer: Previewer) -> None:
        self.app = app
        self.previewer = previewer

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        result = await call_next(ctx)
        card = CARDS.get(name) if isinstance(name, str) else None
        apps = declares_apps(ctx.session.client_capabilities)
        if not apps or card is None or not isinstance(arguments, dict) or result is None:
            return result
        data = _dump(result)
        if data.get("isError") or APPROVAL_KEY in (data.get("_meta") or {}):
            return result
        _, ask = self.previewer(ctx)
        try:
            built = await card.build(self.app, arguments, ask)
        except (TraktError, ValueError, KeyError, TypeError) as exc:
            log.warning("no card for %s: %s", name, exc)  # the text answer stands on its own
            return result
        if built is not None:
            if self.app.settings.sandbox and self.app.fake is not None:
                inline_posters(built, self.app.fake)
            data["_meta"] = {**(data.get("_meta") or {}), CARD_KEY: built}
        return data
