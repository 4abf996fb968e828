"""Public catalogue endpoints: shows, movies, seasons, episodes, people, search, comments."""

from __future__ import annotations

from trakt_mcp.sandbox.data import MOVIES, SHOWS, public
from trakt_mcp.sandbox.fake import FakeRequest, Reply, paginated
from trakt_mcp.sandbox.router import route


@route("GET", "/shows/trending")
def trending_shows(request: FakeRequest) -> Reply:
    ranked = sorted(SHOWS, key=lambda s: -int(s["watchers"]))
    items = [{"watchers": s["watchers"], "show": public(s, request.extended)} for s in ranked]
    return paginated(request, items)


@route("GET", "/search/{kind}")
def search(request: FakeRequest) -> Reply:
    kind = request.params["kind"]
    pool = {"show": SHOWS, "movie": MOVIES}.get(kind)
    if pool is None:
        return Reply({"error": "unknown search type"}, status=404)
    query = request.query.get("query", "").lower()
    hits = [item for item in pool if query and query in item["title"].lower()]
    items = [{"type": kind, "score": 1000.0 - i, kind: public(hit, request.extended)} for i, hit in enumerate(hits)]
    return paginated(request, items)
