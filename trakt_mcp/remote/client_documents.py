"""Client ID metadata documents: a client whose `client_id` is an https URL publishes its metadata there, and we
fetch it, with care, since the URL is chosen by whoever starts an authorization:

- https only, no user info or fragment, a path required; no redirects followed;
- the host's addresses are resolved first and each must be a public one (no private, loopback, link-local,
  reserved or multicast address), and the connection goes to that checked address (no second DNS answer can
  swap it); sandbox mode alone allows http and loopback, so that tests serve documents on 127.0.0.1;
- at most `MAX_BYTES`, within `TIMEOUT` seconds; the document must name itself (`client_id` equal to the URL),
  list its redirect URIs, and use no shared secret (`token_endpoint_auth_method` "none");
- cached in the people store per its Cache-Control max-age, between 5 minutes and a day.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx

from trakt_mcp.remote.oauth import redirect_uri_problem
from trakt_mcp.remote.store import ClientRecord, PeopleStore

MAX_BYTES = 5 * 1024
TIMEOUT = 5.0
MIN_CACHE, DEFAULT_CACHE, MAX_CACHE = 300.0, 3600.0, 86400.0


class DocumentRefused(Exception):
    """The client ID URL or its document is refused; the message says why (shown on the error page)."""


def is_document_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise DocumentRefused(f"the client ID's host {host} could not be resolved ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _max_age(cache_control: str | None) -> float:
    found = re.search(r"max-age=(\d+)", cache_control or "")
    seconds = float(found.group(1)) if found else DEFAULT_CACHE
    return min(max(seconds, MIN_CACHE), MAX_CACHE)


class ClientDocuments:
    def __init__(self, store: PeopleStore, *, sandbox: bool, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store, self.sandbox, self.transport = store, sandbox, transport

    async def ensure(self, client_id: str, now: float) -> ClientRecord:
        """The client, from the cache while fresh, else fetched and checked now. Raises DocumentRefused."""
        cached = self.store.client(client_id)
        if cached is not None and cached.registration == "metadata" and (cached.refresh_after or 0) > now:
            return cached
        record = await self._fetch(client_id, now)
        self.store.put_client(record)
        return record

    def _check_url(self, client_id: str) -> tuple[str, int]:
        parts = urlsplit(client_id)
        allowed = ("https", "http") if self.sandbox else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            raise DocumentRefused("a client ID URL must be https://")
        if parts.username or parts.password or parts.fragment or parts.path in ("", "/"):
            raise DocumentRefused("a client ID URL must have a path and no user name, password or fragment")
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    async def _fetch(self, client_id: str, now: float) -> ClientRecord:
        host, port = self._check_url(client_id)
        addresses = await _addresses(host, port)
        if not self.sandbox:
            refused = [address for address in addresses if not _public(address)]
            if refused or not addresses:
                raise DocumentRefused(
                    f"the client ID's host {host} resolves to a non-public address ({', '.join(refused) or 'none'}); "
                    "metadata documents are fetched from public addresses only"
                )
        parts = urlsplit(client_id)
        pinned = addresses[0] if ":" not in addresses[0] else f"[{addresses[0]}]"
        target = urlunsplit((parts.scheme, f"{pinned}:{port}", parts.path, parts.query, ""))
        body, cache_control = await self._download(target, host, port, parts.scheme)
        return self._record(client_id, body, now + _max_age(cache_control), now)

    async def _download(self, target: str, host: str, port: int, scheme: str) -> tuple[bytes, str | None]:
        default_port = 443 if scheme == "https" else 80
        headers = {"Host": host if port == default_port else f"{host}:{port}", "Accept": "application/json"}
        try:
            async with (
                httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT, follow_redirects=False) as http,
                http.stream("GET", target, headers=headers, extensions={"sni_hostname": host}) as response,
            ):
                if response.status_code != 200:
                    raise DocumentRefused(f"the client ID URL answered HTTP {response.status_code}, not 200")
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise DocumentRefused(f"the client metadata document is larger than {MAX_BYTES} bytes")
                return body, response.headers.get("cache-control")
        except httpx.HTTPError as exc:
            raise DocumentRefused(f"the client metadata document could not be fetched ({type(exc).__name__})") from None

    @staticmethod
    def _record(client_id: str, body: bytes, refresh_after: float, now: float) -> ClientRecord:
        try:
            document = json.loads(body)
        except ValueError:
            raise DocumentRefused("the client metadata document is not JSON") from None
        if not isinstance(document, dict) or document.get("client_id") != client_id:
            raise DocumentRefused("the client metadata document's client_id is not the URL it was fetched from")
        uris = document.get("redirect_uris")
        problem = redirect_uri_problem(uris)
        if problem:
            raise DocumentRefused(f"the client metadata document: {problem}")
        if document.get("token_endpoint_auth_method", "none") != "none":
            raise DocumentRefused('a client metadata document must use token_endpoint_auth_method "none"')
        name = document.get("client_name")
        return ClientRecord(
            client_id=client_id,
            name=str(name)[:100] if isinstance(name, str) and name.strip() else urlsplit(client_id).hostname or "",
            redirect_uris=tuple(str(uri) for uri in uris or ()),
            auth_method="none",
            registration="metadata",
            created_at=now,
            refresh_after=refresh_after,
        )
