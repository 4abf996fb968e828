"""The sandbox catalogue: a few real-looking shows and movies in Trakt's own JSON shapes."""

from __future__ import annotations

from typing import Any


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

#: Fields Trakt returns without `extended=full` (the "min" level).
MIN_FIELDS = ("title", "year", "ids")


def minimal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in MIN_FIELDS if k in item}


def public(item: dict[str, Any], extended: set[str]) -> dict[str, Any]:
    """The item as Trakt serves it: min fields, or every documented field with `extended=full`."""
    if "full" in extended:
        return {k: v for k, v in item.items() if k != "watchers"}
    return minimal(item)
