"""The cards' HTML: one small self-contained page per card (styles and scripts inlined, no CDN), assembled from
the files in `static/`. Each card draws any view a result asks for, so a grid can open a title card in place and
any card can ask for an approval."""

from __future__ import annotations

import functools
from html import escape
from importlib import resources

from trakt_mcp.apps.cards import APPROVAL, GRID, LIBRARY, TITLE
from trakt_mcp.settings import TRAKT_IMAGE_HOST

#: The one outside origin a card loads from (posters); its CSP names nothing else.
IMAGE_ORIGIN = f"https://{TRAKT_IMAGE_HOST}"
CARD_TITLES = {
    TITLE: "Trakt title card",
    GRID: "Trakt poster grid",
    LIBRARY: "Trakt watchlist and progress",
    APPROVAL: "Approve an action",
}


def _static(name: str) -> str:
    return resources.files("trakt_mcp.apps").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def card_html(uri: str) -> str:
    title = escape(CARD_TITLES[uri])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_static('card.css')}</style></head>"
        f'<body><main id="card" data-card="{escape(uri)}"><p class="muted">Loading…</p></main>'
        f"<script>{_static('bridge.js')}\n{_static('views.js')}</script></body></html>"
    )
