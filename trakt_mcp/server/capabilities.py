"""Trakt's capabilities: what a person may let one app do, ticked on the consent page in multi-user mode. Declared
once, here, as data (guard.capabilities gives the meaning): every tool and every endpoint the generic
`call_trakt_api` reaches (`api:METHOD /path`) falls in exactly one, or the policy does not load. The operator's policy
changes them by name in its `capabilities` section (`{"checkin": {"offer": "off"}}`: off for everyone)."""

from __future__ import annotations

from guard.capabilities import Capability

#: Writes at Trakt that are nobody's watch data: comments, notes, likes, follows, requests, metadata refreshes.
COMMUNITY_ENDPOINTS = [
    "api:POST /comments*",
    "api:PUT /comments/*",
    "api:DELETE /comments/*",
    "api:POST /notes",
    "api:PUT /notes/*",
    "api:DELETE /notes/*",
    "api:POST /movies/{id}/refresh",
    "api:POST /shows/{id}/refresh",
    "api:POST /people/{id}/refresh",
    "api:POST /users/requests/*",
    "api:DELETE /users/requests/*",
    "api:POST /users/{id}/follow",
    "api:DELETE /users/{id}/follow",
    "api:POST /lists/{id}/like",
    "api:DELETE /lists/{id}/like",
]

CAPABILITIES: dict[str, Capability] = {
    "read": Capability(
        title="Read the catalogue and your own data (watchlist, history, ratings, lists, stats)",
        tools=["@read", "call_trakt_api"],
        offer="choice",
    ),
    "rate": Capability(
        title="Rate movies, shows and episodes, and remove your ratings",
        tools=["add_user_ratings", "remove_user_ratings", "api:POST /sync/ratings", "api:POST /sync/ratings/remove"],
        offer="choice",
    ),
    "history": Capability(
        title="Change your watch history: mark watched, remove plays and playback progress",
        tools=[
            "add_to_history",
            "remove_from_history",
            "remove_playback_item",
            "api:POST /sync/history",
            "api:POST /sync/history/remove",
            "api:DELETE /sync/playback/{id}",
            "api:POST /shows/{id}/progress/watched/reset",
            "api:DELETE /shows/{id}/progress/watched/reset",
        ],
        offer="choice",
    ),
    "lists": Capability(
        title="Change your watchlist, lists, favorites, collection and hidden recommendations",
        tools=[
            "add_user_watchlist",
            "remove_user_watchlist",
            "create_user_list",
            "update_user_list",
            "delete_user_list",
            "add_to_user_list",
            "remove_from_user_list",
            "hide_*_recommendation",
            "unhide_*_recommendation",
            "api:POST /sync/watchlist*",
            "api:PUT /sync/watchlist*",
            "api:POST /sync/favorites*",
            "api:PUT /sync/favorites*",
            "api:POST /sync/collection*",
            "api:POST /users/{id}/lists*",
            "api:PUT /users/{id}/lists/*",
            "api:DELETE /users/{id}/lists/*",
            "api:POST /users/hidden/*",
            "api:DELETE /recommendations/*",
        ],
        offer="choice",
    ),
    "checkin": Capability(
        title="Check in and scrobble what you are watching",
        tools=[
            "checkin_to_movie",
            "checkin_to_show",
            "cancel_checkin",
            "scrobble",
            "api:POST /checkin",
            "api:DELETE /checkin",
            "api:POST /scrobble/*",
        ],
        offer="choice",
    ),
    "logout": Capability(
        title="Sign you out: revoke this server's access to your Trakt account",
        tools=["clear_auth"],
        offer="choice",
    ),
    "community": Capability(
        title="Comment, write notes, like, follow and refresh Trakt's data",
        tools=COMMUNITY_ENDPOINTS,
        offer="off",
    ),
    "status": Capability(
        title="See whether you are signed in",
        tools=["check_auth_status", "start_device_auth"],
        offer="always",
    ),
    "trakt-oauth": Capability(
        title="Trakt's own sign-in endpoints (this server signs people in itself)",
        tools=["api:* /oauth/*"],
        offer="off",
    ),
}
