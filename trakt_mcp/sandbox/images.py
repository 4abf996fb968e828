"""Posters as Trakt serves them with `extended=images`, and the image host that serves them: small SVGs drawn
from each title, so cards show real pictures offline. Tests route the image host to the fake on loopback."""

from __future__ import annotations

import hashlib
import re
from html import escape
from typing import Any

from trakt_mcp.settings import TRAKT_IMAGE_HOST

#: Trakt's image host (URLs come without a scheme, as Trakt sends them). The cards' CSP names only this host.
IMAGE_HOST = TRAKT_IMAGE_HOST
_POSTER_PATH = re.compile(r"^/images/(?P<kind>shows|movies)/\d{3}/\d{3}/\d{3}/posters/thumb/(?P<trakt>\d+)\.svg$")


def images_of(item: dict[str, Any]) -> dict[str, list[str]]:
    """The `images` object of a show or movie: a poster (and fanart, the same picture), as Trakt lays them out."""
    kind = "shows" if "first_aired" in item or "network" in item else "movies"
    trakt = int(item["ids"]["trakt"])
    padded = f"{trakt:09d}"
    folder = f"{padded[:3]}/{padded[3:6]}/{padded[6:]}"
    poster = f"{IMAGE_HOST}/images/{kind}/{folder}/posters/thumb/{trakt}.svg"
    return {"poster": [poster], "fanart": [poster.replace("/posters/", "/fanarts/")]}


def poster_svg(path: str, titles: dict[int, tuple[str, Any]]) -> bytes | None:
    """The SVG for an image path this module made (None for any other path). `titles`: trakt ID -> (title, year)."""
    found = _POSTER_PATH.match(path.replace("/fanarts/", "/posters/"))
    if found is None:
        return None
    trakt = int(found["trakt"])
    title, year = titles.get(trakt, ("?", ""))
    hue = int(hashlib.sha256(str(trakt).encode()).hexdigest()[:4], 16) % 360
    words = escape(str(title)).split()
    lines = [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)][:4]
    text = "".join(
        f'<text x="100" y="{120 + 30 * n}" font-size="24" text-anchor="middle">{line}</text>'
        for n, line in enumerate(lines)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300" viewBox="0 0 200 300">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl({hue},55%,45%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,18%)"/></linearGradient></defs>'
        '<rect width="200" height="300" fill="url(#g)"/>'
        f'<g fill="#fff" font-family="sans-serif" font-weight="bold">{text}</g>'
        f'<text x="100" y="270" fill="#fff" font-family="sans-serif" font-size="18" text-anchor="middle">{year}</text>'
        "</svg>"
    )
    return svg.encode()
