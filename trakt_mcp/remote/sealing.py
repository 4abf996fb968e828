"""People's Trakt tokens are sealed at rest with AES-GCM (the `cryptography` package), bound to the username.

The key: `TRAKT_MCP_PEOPLE_KEY` (32 random bytes, base64url), else `people.key` in the state folder, made on first
start and readable by its owner only (0600). Key rotation: put the new key in `TRAKT_MCP_PEOPLE_KEY` and the old
one(s) in `TRAKT_MCP_PEOPLE_OLD_KEYS` (comma-separated); a token sealed with an old key still opens, and is sealed
again with the new key the next time it is refreshed. A sealed value starts with the key's id (8 bytes of its
SHA-256), so the right key is picked without trying each.

The same keys, through HKDF, seal what the MCP SDK hands clients to carry between the rounds of a modern-era
request (`requestState`, `request_state_keys`): every replica sharing the people key opens what another sealed, so a
retry may land on any of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from guard.home import open_private_stat
from trakt_mcp.trakt.tokens import write_private

KEY_ENV = "TRAKT_MCP_PEOPLE_KEY"
OLD_KEYS_ENV = "TRAKT_MCP_PEOPLE_OLD_KEYS"
KEY_FILE = "people.key"
VERSION = b"\x01"
_NONCE = 12
_KID = 8


class SealingError(RuntimeError):
    """The key is missing, malformed or wrong; the message says which and how to fix it (never the key)."""


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SealingError(
            f"{where} is not a key: expected 32 random bytes in base64url (make one with "
            "`python3 -c 'import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`)"
        )
    return key


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KID]


class Sealer:
    def __init__(self, key: bytes, older: tuple[bytes, ...] = ()) -> None:
        self._ring = (key, *older)
        self._current = (_key_id(key), AESGCM(key))
        self._keys = {kid: aead for kid, aead in [self._current, *((_key_id(k), AESGCM(k)) for k in older)]}

    def seal(self, plain: str, owner: str) -> bytes:
        kid, aead = self._current
        nonce = secrets.token_bytes(_NONCE)
        return VERSION + kid + nonce + aead.encrypt(nonce, plain.encode(), owner.encode())

    def open(self, sealed: bytes, owner: str) -> str:
        kid, nonce, body = sealed[1 : 1 + _KID], sealed[1 + _KID : 1 + _KID + _NONCE], sealed[1 + _KID + _NONCE :]
        aead = self._keys.get(kid)
        if sealed[:1] != VERSION or aead is None:
            raise SealingError(
                f"a stored Trakt token was sealed with a key this server does not have. Fix: put that key in "
                f"{OLD_KEYS_ENV}, or let the person sign in again"
            )
        try:
            return aead.decrypt(nonce, body, owner.encode()).decode()
        except InvalidTag:
            raise SealingError("a stored Trakt token does not open with its key (altered or moved)") from None

    def request_state_keys(self) -> list[bytes]:
        """Keys for the SDK's `RequestStateSecurity` (the current one seals, every one opens), derived so that a
        requestState key never equals the key that seals Trakt tokens."""
        info = b"trakt-mcp requestState v1"
        return [HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key) for key in self._ring]

    def is_current(self, sealed: bytes) -> bool:
        return sealed[1 : 1 + _KID] == self._current[0]


def load_sealer(home: Path, environ: Mapping[str, str] | None = None) -> Sealer:
    """The key from the environment, else the 0600 key file (made now if missing)."""
    env = os.environ if environ is None else environ
    older = tuple(_decode_key(text, OLD_KEYS_ENV) for text in env.get(OLD_KEYS_ENV, "").split(",") if text.strip())
    if env.get(KEY_ENV):
        return Sealer(_decode_key(env[KEY_ENV], KEY_ENV), older)
    path = home / KEY_FILE
    try:
        fd, info = open_private_stat(path, os.O_RDONLY)
    except FileNotFoundError:
        text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        write_private(path, text + "\n", prefix=".people-key-")
        return Sealer(_decode_key(text, str(path)), older)
    except OSError as exc:
        raise SealingError(f"cannot open {path} ({exc}). Fix: `chmod 600 {path}` and own it") from None
    with os.fdopen(fd, encoding="ascii") as handle:
        if hasattr(os, "getuid") and info.st_mode & 0o077:
            raise SealingError(
                f"{path} may be read by other accounts (mode {stat.filemode(info.st_mode)}). Fix: `chmod 600 {path}`"
            )
        return Sealer(_decode_key(handle.read(), str(path)), older)
