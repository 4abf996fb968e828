"""The sandbox catalogue in Trakt's own JSON shapes: shows, movies, seasons, episodes, people, comments, lists.

Hand-written where a person reads it (titles, names); derived by small formulas where only the shape matters
(ratings distributions, stats, videos, translations), so every endpoint answers consistently."""

from __future__ import annotations

import re
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

# -- people and credits -----------------------------------------------------------------------------------------


def _person(name: str, trakt: int, imdb: str, born: str, birthplace: str, known_for: str) -> dict[str, Any]:
    slug = name.lower().replace(" ", "-").replace("é", "e")
    return {
        "name": name,
        "ids": {"trakt": trakt, "slug": slug, "imdb": imdb, "tmdb": trakt + 11},
        "biography": f"{name} is known for {known_for.lower()} work in film and television.",
        "birthday": born,
        "death": None,
        "birthplace": birthplace,
        "known_for_department": known_for,
        "homepage": None,
    }


PEOPLE = [
    _person("Bryan Cranston", 17419, "nm0186505", "1956-03-07", "Hollywood, California, USA", "Acting"),
    _person("Aaron Paul", 84497, "nm0666739", "1979-08-27", "Emmett, Idaho, USA", "Acting"),
    _person("Vince Gilligan", 66633, "nm0319213", "1967-02-10", "Richmond, Virginia, USA", "Writing"),
    _person("Giancarlo Esposito", 4808, "nm0260796", "1958-04-26", "Copenhagen, Denmark", "Acting"),
    _person("Emilia Clarke", 1223786, "nm3592338", "1986-10-23", "London, England, UK", "Acting"),
    _person("Peter Dinklage", 22970, "nm0227759", "1969-06-11", "Morristown, New Jersey, USA", "Acting"),
    _person("Adam Scott", 55638, "nm0779084", "1973-04-03", "Santa Cruz, California, USA", "Acting"),
    _person("Steve Carell", 4495, "nm0136797", "1962-08-16", "Concord, Massachusetts, USA", "Acting"),
    _person("Christian Bale", 3894, "nm0000288", "1974-01-30", "Haverfordwest, Wales, UK", "Acting"),
    _person("Heath Ledger", 1810, "nm0005132", "1979-04-04", "Perth, Australia", "Acting"),
    _person("Christopher Nolan", 525, "nm0634240", "1970-07-30", "London, England, UK", "Directing"),
    _person("Leonardo DiCaprio", 6193, "nm0000138", "1974-11-11", "Los Angeles, California, USA", "Acting"),
    _person("Timothée Chalamet", 1190668, "nm3154303", "1995-12-27", "New York City, New York, USA", "Acting"),
    _person("Denis Villeneuve", 137427, "nm0898288", "1967-10-03", "Bécancour, Quebec, Canada", "Directing"),
    _person("Hayao Miyazaki", 608, "nm0594503", "1941-01-05", "Tokyo, Japan", "Directing"),
]

#: (person slug, "shows" or "movies", title trakt ID, department ("cast", "guest" or a crew department), roles,
#: episode count).
CREDITS: list[tuple[str, str, int, str, list[str], int]] = [
    ("bryan-cranston", "shows", 1388, "cast", ["Walter White"], 62),
    ("aaron-paul", "shows", 1388, "cast", ["Jesse Pinkman"], 62),
    ("vince-gilligan", "shows", 1388, "writing", ["Creator", "Writer"], 62),
    ("vince-gilligan", "shows", 59660, "writing", ["Creator"], 63),
    ("giancarlo-esposito", "shows", 1388, "guest", ["Gus Fring"], 26),
    ("giancarlo-esposito", "shows", 59660, "cast", ["Gus Fring"], 14),
    ("bryan-cranston", "shows", 59660, "guest", ["Walter White"], 1),
    ("emilia-clarke", "shows", 1390, "cast", ["Daenerys Targaryen"], 62),
    ("peter-dinklage", "shows", 1390, "cast", ["Tyrion Lannister"], 67),
    ("adam-scott", "shows", 154997, "cast", ["Mark Scout"], 19),
    ("steve-carell", "shows", 1391, "cast", ["Michael Scott"], 159),
    ("christian-bale", "movies", 120, "cast", ["Bruce Wayne / Batman"], 0),
    ("heath-ledger", "movies", 120, "cast", ["Joker"], 0),
    ("christopher-nolan", "movies", 120, "directing", ["Director"], 0),
    ("christopher-nolan", "movies", 16662, "directing", ["Director"], 0),
    ("christopher-nolan", "movies", 102156, "directing", ["Director"], 0),
    ("christopher-nolan", "movies", 693134, "directing", ["Director"], 0),
    ("leonardo-dicaprio", "movies", 16662, "cast", ["Cobb"], 0),
    ("timothee-chalamet", "movies", 585005, "cast", ["Paul Atreides"], 0),
    ("timothee-chalamet", "movies", 703621, "cast", ["Fiyero"], 0),
    ("denis-villeneuve", "movies", 585005, "directing", ["Director"], 0),
    ("hayao-miyazaki", "movies", 19371, "directing", ["Director"], 0),
]

# -- users, comments, lists -------------------------------------------------------------------------------------

USERS = [
    {"username": name, "private": False, "name": full, "vip": vip, "vip_ep": False, "ids": {"slug": name}}
    for name, full, vip in (
        ("sean", "Sean Rudford", True),
        ("justin", "Justin Nemeth", True),
        ("binge-bea", "Bea Turner", False),
        ("couchcritic", "", False),
        ("nightowl", "Nora Owl", True),
    )
]

#: Comment bodies, cycled; tags mark spoilers as Trakt users write them.
_REMARKS = [
    "One of the best pilots ever made.",
    "The pacing in the middle stretch drags a little, but the ending pays off.",
    "I did not expect [spoiler]Walt to let Jane die[/spoiler]. Chilling.",
    "Rewatching with my partner: still holds up.",
    "The score is doing a lot of work here, and it works.",
]


def _comment(cid: int, target: tuple[Any, ...], n: int, parent: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "parent_id": parent,
        "created_at": f"2024-{1 + n % 12:02d}-{1 + n % 27:02d}T{n % 24:02d}:15:00.000Z",
        "updated_at": f"2024-{1 + n % 12:02d}-{1 + n % 27:02d}T{n % 24:02d}:15:00.000Z",
        "comment": extra.pop("comment", _REMARKS[n % len(_REMARKS)]),
        "spoiler": extra.pop("spoiler", False),
        "review": False,
        "replies": 0,
        "likes": (n * 7) % 23,
        "user_stats": {"rating": 6 + n % 5, "play_count": 1, "completed_count": 1},
        "user": USERS[n % len(USERS)],
        "_target": target,
        **extra,
    }


#: Every comment; `_target` says what it is on: ("shows", 1388), ("seasons", 1388, 1), ("episodes", 1388, 1, 1),
#: ("movies", 120) or ("comments", parent id) for a reply.
COMMENTS: list[dict[str, Any]] = [
    _comment(1000 + n, ("shows", 1388), n, spoiler=n in (4, 11), review=n == 6) for n in range(23)
]
COMMENTS += [_comment(1100 + n, ("comments", 1000), n, parent=1000) for n in range(12)]
COMMENTS += [
    _comment(1200, ("movies", 120), 1, comment="Heath Ledger's Joker is unforgettable."),
    _comment(1201, ("movies", 120), 2, spoiler=True, comment="The ending with Harvey Dent broke me."),
    _comment(1202, ("movies", 120), 3),
    _comment(1300, ("seasons", 1388, 1), 4, comment="Season one is a slow burn worth every minute."),
    _comment(1301, ("seasons", 1388, 1), 5),
    _comment(1400, ("episodes", 1388, 1, 1), 6, comment="That RV in the desert. Iconic."),
    _comment(1401, ("episodes", 1388, 1, 1), 7, spoiler=True, comment="Walt cooks for the first time."),
    _comment(1402, ("episodes", 1388, 1, 1), 8),
]
for _parent in COMMENTS:
    _parent["replies"] = sum(1 for c in COMMENTS if c["parent_id"] == _parent["id"])


def comment_json(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


LISTS: list[dict[str, Any]] = [
    {
        "name": name,
        "description": f"{name}, curated on Trakt.",
        "privacy": "public",
        "type": kind,
        "display_numbers": kind == "official",
        "allow_comments": True,
        "sort_by": "rank",
        "sort_how": "asc",
        "created_at": f"202{n % 5}-0{1 + n % 9}-01T00:00:00.000Z",
        "updated_at": f"2024-0{1 + n % 9}-15T00:00:00.000Z",
        "item_count": 10 + n * 13,
        "comment_count": n * 3 % 11,
        "likes": 50 + n * 97 % 400,
        "ids": {"trakt": 5000 + n, "slug": re.sub(r"[^a-z0-9]+", "-", name.lower())},
        "user": USERS[n % len(USERS)],
    }
    for n, (name, kind) in enumerate(
        (
            ("Prestige TV", "personal"),
            ("Emmy Winners", "official"),
            ("Watch Next", "watchlists"),
            ("Best Pilots", "personal"),
            ("Crime Dramas", "personal"),
            ("Rewatch Comfort", "personal"),
            ("Critics' Picks", "official"),
            ("Weekend Binge", "personal"),
        )
    )
]

# -- derived data: the same answer every time for the same item ------------------------------------------------


def _weight(item: dict[str, Any]) -> int:
    return int(item["ids"]["trakt"]) % 97 + 3


def ratings_of(item: dict[str, Any]) -> dict[str, Any]:
    """Trakt's ratings answer: the average, the vote count and the votes per score 1-10."""
    votes = int(item.get("votes") or 100)
    shares = {10: 30, 9: 25, 8: 18, 7: 10, 6: 6, 5: 4, 4: 3, 3: 2, 2: 1, 1: 1}
    spread = {str(score): votes * share // 100 for score, share in shares.items()}
    spread["10"] += votes - sum(spread.values())
    return {"rating": item.get("rating", 0), "votes": votes, "distribution": spread}


def stats_of(item: dict[str, Any]) -> dict[str, int]:
    w = _weight(item)
    return {
        "watchers": w * 113,
        "plays": w * 241,
        "collectors": w * 37,
        "collected_episodes": w * 190,
        "comments": w % 9,
        "lists": w * 5,
        "votes": int(item.get("votes") or w * 11),
        "favorited": w * 2,
    }


def videos_of(item: dict[str, Any], name: str) -> list[dict[str, Any]]:
    code = f"{item['ids']['trakt']:x}"
    return [
        {
            "title": f"{name} — Official {kind.title()}",
            "url": f"https://youtube.com/watch?v={kind[:3]}{code}",
            "site": "youtube",
            "type": kind,
            "size": 1080,
            "official": True,
            "published_at": "2023-05-01T16:00:00.000Z",
            "country": "us",
            "language": "en",
        }
        for kind in ("trailer", "teaser")
    ]


def translations_of(item: dict[str, Any], name: str) -> list[dict[str, Any]]:
    words = {"es": ("es", "Temporada", "Episodio"), "de": ("de", "Staffel", "Folge"), "fr": ("fr", "Saison", "Épisode")}
    return [
        {
            "title": f"{name} ({lang})",
            "overview": f"{season_word} / {episode_word}: {name}.",
            "language": lang,
            "country": country,
        }
        for lang, (country, season_word, episode_word) in words.items()
    ]


def watching_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    return USERS[: _weight(item) % len(USERS) + 1]
