"""The sandbox catalogue's titles in Trakt's own JSON shapes: shows, movies, seasons and episodes, hand-written
where a person reads them. People, comments, lists and the figures derived per title (by small formulas where
only the shape matters, so every endpoint answers consistently) are in sandbox.community."""

from __future__ import annotations

from typing import Any

from trakt_mcp.sandbox.images import images_of


def _ids(trakt: int, slug: str, imdb: str, tmdb: int, tvdb: int | None = None) -> dict[str, Any]:
    ids: dict[str, Any] = {"trakt": trakt, "slug": slug, "imdb": imdb, "tmdb": tmdb}
    if tvdb is not None:
        ids["tvdb"] = tvdb
    return ids


SHOWS: list[dict[str, Any]] = [
    {
        "title": "Breaking Bad",
        "year": 2008,
        "ids": _ids(1388, "breaking-bad", "tt0903747", 1396, 81189),
        "overview": "A chemistry teacher diagnosed with cancer turns to making methamphetamine.",
        "first_aired": "2008-01-21T02:00:00.000Z",
        "runtime": 45,
        "certification": "TV-MA",
        "network": "AMC",
        "country": "us",
        "status": "ended",
        "rating": 9.28,
        "votes": 98543,
        "genres": ["drama", "crime", "thriller"],
        "aired_episodes": 62,
        "watchers": 412,
    },
    {
        "title": "Game of Thrones",
        "year": 2011,
        "ids": _ids(1390, "game-of-thrones", "tt0944947", 1399, 121361),
        "overview": "Noble families fight for control of the Iron Throne of the Seven Kingdoms.",
        "first_aired": "2011-04-18T01:00:00.000Z",
        "runtime": 60,
        "certification": "TV-MA",
        "network": "HBO",
        "country": "us",
        "status": "ended",
        "rating": 8.94,
        "votes": 120312,
        "genres": ["drama", "fantasy", "adventure"],
        "aired_episodes": 73,
        "watchers": 388,
    },
    {
        "title": "The Office",
        "year": 2005,
        "ids": _ids(1391, "the-office", "tt0386676", 2316, 73244),
        "overview": "A mockumentary on a group of typical office workers.",
        "first_aired": "2005-03-25T02:00:00.000Z",
        "runtime": 22,
        "certification": "TV-14",
        "network": "NBC",
        "country": "us",
        "status": "ended",
        "rating": 8.71,
        "votes": 54021,
        "genres": ["comedy"],
        "aired_episodes": 201,
        "watchers": 265,
    },
    {
        "title": "Severance",
        "year": 2022,
        "ids": _ids(154997, "severance", "tt11280740", 95396, 371980),
        "overview": "Office workers have their memories surgically divided between work and personal lives.",
        "first_aired": "2022-02-18T08:00:00.000Z",
        "runtime": 55,
        "certification": "TV-MA",
        "network": "Apple TV+",
        "country": "us",
        "status": "returning series",
        "rating": 8.62,
        "votes": 20411,
        "genres": ["drama", "mystery", "science-fiction"],
        "aired_episodes": 19,
        "watchers": 301,
    },
]

MOVIES: list[dict[str, Any]] = [
    {
        "title": "The Dark Knight",
        "year": 2008,
        "ids": _ids(120, "the-dark-knight-2008", "tt0468569", 155),
        "tagline": "Why so serious?",
        "overview": "Batman faces the Joker, a criminal mastermind who wants to plunge Gotham into anarchy.",
        "released": "2008-07-18",
        "runtime": 152,
        "certification": "PG-13",
        "country": "us",
        "rating": 8.76,
        "votes": 70231,
        "genres": ["drama", "action", "crime"],
        "watchers": 120,
    },
    {
        "title": "Inception",
        "year": 2010,
        "ids": _ids(16662, "inception-2010", "tt1375666", 27205),
        "tagline": "Your mind is the scene of the crime.",
        "overview": "A thief who steals secrets through dream-sharing is given the task of planting an idea.",
        "released": "2010-07-16",
        "runtime": 148,
        "certification": "PG-13",
        "country": "us",
        "rating": 8.61,
        "votes": 68012,
        "genres": ["action", "science-fiction", "thriller"],
        "watchers": 98,
    },
    {
        "title": "Dune: Part Two",
        "year": 2024,
        "ids": _ids(585005, "dune-part-two-2024", "tt15239678", 693134),
        "tagline": "Long live the fighters.",
        "overview": "Paul Atreides unites with the Fremen on a path of revenge.",
        "released": "2024-03-01",
        "runtime": 167,
        "certification": "PG-13",
        "country": "us",
        "rating": 8.42,
        "votes": 31002,
        "genres": ["science-fiction", "adventure"],
        "watchers": 156,
    },
    {
        "title": "Spirited Away",
        "year": 2001,
        "ids": _ids(19371, "spirited-away-2001", "tt0245429", 129),
        "tagline": "The tunnel led Chihiro to a mysterious town...",
        "overview": "A girl wanders into a world ruled by gods, witches and spirits.",
        "released": "2001-07-20",
        "runtime": 125,
        "certification": "PG",
        "country": "jp",
        "rating": 8.63,
        "votes": 40110,
        "genres": ["animation", "fantasy", "family"],
        "watchers": 44,
    },
]


#: Fields Trakt returns without `extended=full` (the "min" level): titles, episodes, seasons, people.
MIN_FIELDS = ("title", "year", "ids", "season", "number", "name")
#: Sandbox bookkeeping on catalogue items that Trakt never sends as part of the item itself.
INTERNAL = frozenset({"watchers", "revenue", "show"})


def minimal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in MIN_FIELDS if k in item}


def public(item: dict[str, Any], extended: set[str] | frozenset[str]) -> dict[str, Any]:
    """The item as Trakt serves it: min fields, or every documented field with `extended=full`; shows and movies
    carry their `images` with `extended=images` (the two combine: `extended=full,images`)."""
    shown = {k: v for k, v in item.items() if k not in INTERNAL} if "full" in extended else minimal(item)
    if "images" in extended and "title" in item and "season" not in item and "name" not in item:
        shown["images"] = images_of(item)
    return shown


def find(pool: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The item whose Trakt ID, slug or IMDB ID is `key` (how Trakt resolves `:id`)."""
    for item in pool:
        ids = item["ids"]
        if key in (str(ids["trakt"]), ids.get("slug"), ids.get("imdb")):
            return item
    return None


# -- more titles, so chart lists span several pages of 10 -------------------------------------------------------

# fmt: off
_MORE_SHOWS = [
    # title, year, trakt, slug, imdb, network, runtime, rating, votes, genres, watchers
    ("Stranger Things", 2016, 104439, "stranger-things", "tt4574334", "Netflix", 50, 8.6, 61022, "drama,fantasy", 240),
    ("The Mandalorian", 2019, 146587, "the-mandalorian", "tt8111088", "Disney+", 40, 8.5, 30112, "action", 151),
    ("Better Call Saul", 2015, 59660, "better-call-saul", "tt3032476", "AMC", 46, 8.8, 45012, "crime,drama", 133),
    ("Chernobyl", 2019, 145240, "chernobyl", "tt7366338", "HBO", 65, 9.1, 38771, "drama,history", 97),
    ("The Last of Us", 2023, 158947, "the-last-of-us", "tt3581920", "HBO", 55, 8.7, 28007, "drama,action", 290),
    ("Succession", 2018, 129302, "succession", "tt7660850", "HBO", 60, 8.6, 22014, "drama,comedy", 88),
    ("The Bear", 2022, 193120, "the-bear", "tt14452776", "FX", 34, 8.4, 17420, "comedy,drama", 176),
    ("Shōgun", 2024, 186262, "shogun-2024", "tt2788316", "FX", 59, 8.7, 15660, "drama,history", 210),
]
_MORE_MOVIES = [
    # title, year, trakt, slug, imdb, country ("" = us), runtime, rating, votes, genres, watchers
    ("Interstellar", 2014, 102156, "interstellar-2014", "tt0816692", "", 169, 8.6, 66301, "science-fiction", 86),
    ("Parasite", 2019, 360095, "parasite-2019", "tt6751668", "kr", 133, 8.5, 40220, "thriller,drama", 51),
    ("Oppenheimer", 2023, 693134, "oppenheimer-2023", "tt15398776", "", 181, 8.3, 35012, "drama,history", 73),
    ("The Matrix", 1999, 481, "the-matrix-1999", "tt0133093", "", 136, 8.5, 61020, "action,science-fiction", 39),
    ("Pulp Fiction", 1994, 554, "pulp-fiction-1994", "tt0110912", "", 154, 8.6, 58017, "crime,thriller", 35),
    ("Barbie", 2023, 473003, "barbie-2023", "tt1517268", "", 114, 7.0, 20331, "comedy,fantasy", 64),
    ("Everything Everywhere All at Once", 2022, 452911, "everything-everywhere-all-at-once-2022", "tt6710474", "",
     139, 7.9, 25840, "science-fiction,comedy", 41),
    ("Wicked", 2024, 703621, "wicked-2024", "tt1262426", "", 160, 7.6, 9120, "fantasy,romance", 92),
]
# fmt: on


def _extra(row: tuple[Any, ...], kind: str) -> dict[str, Any]:
    name, year, trakt, slug, imdb, place, runtime, rating, votes, genres, watchers = row
    item: dict[str, Any] = {
        "title": name,
        "year": year,
        "ids": _ids(trakt, slug, imdb, trakt + 7),
        "overview": f"{name} ({year}), in the Trakt sandbox.",
        "runtime": runtime,
        "country": "us",
        "rating": rating,
        "votes": votes,
        "genres": genres.split(","),
        "watchers": watchers,
    }
    if kind == "show":
        item.update(network=place, status="returning series", first_aired=f"{year}-06-01T01:00:00.000Z")
        item["aired_episodes"] = 8 + trakt % 30
    else:
        item.update(released=f"{year}-07-14", certification="R", country=place or "us")
    return item


SHOWS.extend(_extra(row, "show") for row in _MORE_SHOWS)
MOVIES.extend(_extra(row, "movie") for row in _MORE_MOVIES)
#: Weekend box office in US dollars (movie trakt ID -> revenue).
BOX_OFFICE = {703621: 114000000, 585005: 82500000, 693134: 46700000, 473003: 33000000, 452911: 9100000}

# -- seasons and episodes ---------------------------------------------------------------------------------------

EPISODE_TITLES: dict[tuple[int, int], list[str]] = {
    (1388, 0): ["Good Cop Bad Cop", "Wedding Day"],
    (1388, 1): [
        "Pilot",
        "Cat's in the Bag...",
        "...And the Bag's in the River",
        "Cancer Man",
        "Gray Matter",
        "Crazy Handful of Nothin'",
        "A No-Rough-Stuff-Type Deal",
    ],
    (1388, 2): [
        "Seven Thirty-Seven",
        "Grilled",
        "Bit by a Dead Bee",
        "Down",
        "Breakage",
        "Peekaboo",
        "Negro Y Azul",
        "Better Call Saul",
        "4 Days Out",
        "Over",
        "Mandala",
        "Phoenix",
        "ABQ",
    ],
    (1390, 1): [
        "Winter Is Coming",
        "The Kingsroad",
        "Lord Snow",
        "Cripples, Bastards, and Broken Things",
        "The Wolf and the Lion",
        "A Golden Crown",
        "You Win or You Die",
        "The Pointy End",
        "Baelor",
        "Fire and Blood",
    ],
    (154997, 1): [
        "Good News About Hell",
        "Half Loop",
        "In Perpetuity",
        "The You You Are",
        "The Grim Barbarity of Optics and Design",
        "Hide and Seek",
        "Defiant Jazz",
        "What's for Dinner?",
        "The We We Are",
    ],
}


def _episode(show: dict[str, Any], season: int, number: int, title: str) -> dict[str, Any]:
    year = int(show["year"]) + max(season - 1, 0)
    trakt = int(show["ids"]["trakt"]) * 1000 + season * 100 + number
    return {
        "season": season,
        "number": number,
        "title": title,
        "ids": {"trakt": trakt, "tvdb": trakt + 3, "imdb": f"tt{trakt:07d}", "tmdb": trakt + 5},
        "number_abs": None,
        "overview": f"Season {season}, episode {number} of {show['title']}: “{title}”.",
        "rating": round(7.6 + (number * 7 + season * 3) % 15 / 10, 2),
        "votes": 900 + number * 37,
        "comment_count": 3 if (season, number) == (1, 1) else 0,
        "first_aired": f"{year}-0{1 + number % 9}-{10 + number}T02:00:00.000Z",
        "runtime": show["runtime"],
        "show": show["ids"]["trakt"],
    }


def _season(show: dict[str, Any], number: int, titles: list[str]) -> dict[str, Any]:
    trakt = int(show["ids"]["trakt"]) * 100 + number
    episodes = [_episode(show, number, i, title) for i, title in enumerate(titles, start=1)]
    return {
        "number": number,
        "ids": {"trakt": trakt, "tvdb": trakt + 1, "tmdb": trakt + 2},
        "rating": round(sum(e["rating"] for e in episodes) / len(episodes), 2),
        "votes": sum(e["votes"] for e in episodes) // 10,
        "episode_count": len(episodes),
        "aired_episodes": len(episodes),
        "title": "Specials" if number == 0 else f"Season {number}",
        "overview": f"{'Specials' if number == 0 else f'Season {number}'} of {show['title']}.",
        "first_aired": episodes[0]["first_aired"],
        "network": show.get("network"),
        "episodes": episodes,
    }


#: show trakt ID -> its seasons in order, each with its `episodes` (Trakt sends those only where asked).
SEASONS: dict[int, list[dict[str, Any]]] = {}
for (_show_id, _number), _titles in sorted(EPISODE_TITLES.items()):
    _show = find(SHOWS, str(_show_id))
    assert _show is not None
    SEASONS.setdefault(_show_id, []).append(_season(_show, _number, _titles))
#: Every episode, each with `show` (its show's trakt ID; bookkeeping that `public` strips).
EPISODES: list[dict[str, Any]] = [e for seasons in SEASONS.values() for season in seasons for e in season["episodes"]]
