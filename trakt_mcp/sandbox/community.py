"""The sandbox's community: people and their credits, users, comments and lists, and the figures Trakt derives for
each title (ratings, stats, videos, translations, who is watching). The titles themselves are in sandbox.data."""

from __future__ import annotations

import re
from typing import Any

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
