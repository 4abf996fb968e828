"""Where the user's Trakt token lives: the OS keyring, or a private file when no usable keyring exists.

The keyring entry is one JSON document under service "trakt-mcp", account = the client ID. Any keyring backend
works, including one chosen with keyring's PYTHON_KEYRING_BACKEND variable (read afresh each time a store is
opened, so it is honoured per process even though keyring caches its default backend). Sandbox mode uses a file
of its own and never touches the user's keyring or real token file. keyring (and the backend it probes) is imported
when a store is first opened, not with this module: a call that needs no token never pays for it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from trakt_mcp.settings import Settings
from trakt_mcp.terminal import command
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "trakt-mcp"
TOKEN_FILE = "token.json"

log = logging.getLogger(__name__)
_announced: set[Path] = set()


class TokenStoreError(TraktError):
    """The token store failed (locked keyring, unreadable file...). Reported to the user, never swallowed."""


class UnreadableToken(TokenStoreError):
    """The store answered, but what it holds is not a token: signing in again replaces it."""


@dataclass(frozen=True)
class Token:
    """A Trakt token pair. `expires_at` is in unix seconds."""

    access_token: str
    refresh_token: str
    expires_at: float
    created_at: float
    scope: str = "public"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str, where: str) -> Token:
        try:
            data = json.loads(text)
            pair = (data["access_token"], data["refresh_token"])
            if not all(isinstance(value, str) and value for value in pair):
                raise ValueError("a token is not a non-empty string")
            return cls(
                access_token=pair[0],
                refresh_token=pair[1],
                expires_at=float(data["expires_at"]),
                created_at=float(data["created_at"]),
                scope=str(data.get("scope", "public")),
            )
        except (ValueError, KeyError, TypeError):
            raise UnreadableToken(
                f"The stored Trakt token in {where} is unreadable. Sign in again with start_device_auth "
                f"(or `{command('login')}`)."
            ) from None

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at}, scope={self.scope!r})"


class TokenStore(Protocol):
    #: Where the token is kept, for `trakt-mcp status` (a keyring backend name or a file path).
    description: str

    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None: ...

    def clear(self) -> bool:
        """Remove the token; False when there was none."""
        ...


def _failure(action: str, where: str, exc: Exception, token: Token | None = None) -> TokenStoreError:
    """The backend's own words, minus the token should a backend echo what it was given."""
    detail = str(exc)
    for secret in (token.to_json(), token.access_token, token.refresh_token) if token else ():
        detail = detail.replace(secret, "[token]")
    return TokenStoreError(f"Could not {action} the Trakt token in {where}: {type(exc).__name__}: {detail}")


class KeyringStore:
    """Backends fail with their platform library's own exceptions (D-Bus, Security framework, Win32), not only
    KeyringError, so any exception from one is reported as a TokenStoreError."""

    def __init__(self, backend: KeyringBackend, account: str) -> None:
        self.backend = backend
        self.account = account
        self.description = f"keyring ({type(backend).__module__}.{type(backend).__qualname__})"

    def load(self) -> Token | None:
        try:
            text = self.backend.get_password(SERVICE, self.account)
        except Exception as exc:
            raise _failure("read", self.description, exc) from None
        return None if text is None else Token.from_json(text, self.description)

    def save(self, token: Token) -> None:
        try:
            self.backend.set_password(SERVICE, self.account, token.to_json())
        except Exception as exc:
            raise _failure("save", self.description, exc, token) from None

    def clear(self) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            if self.backend.get_password(SERVICE, self.account) is None:
                return False
            self.backend.delete_password(SERVICE, self.account)
        except PasswordDeleteError:
            return False
        except Exception as exc:
            raise _failure("remove", self.description, exc) from None
        return True


def write_private(path: Path, text: str, *, prefix: str = ".tmp-", mode: int = 0o600) -> None:
    """Replace `path` atomically with `text`, readable only by the owner (mkstemp creates files 0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != 0o600:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


#: A temporary token file older than this is a crashed save's leftover, not a save in progress.
STALE_TEMP_SECONDS = 60.0


class FileStore:
    """A JSON file readable only by its owner (mode 0600), replaced atomically on every save."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"

    def load(self) -> Token | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failure("read", self.description, exc) from None
        return Token.from_json(text, self.description)

    def save(self, token: Token) -> None:
        try:
            write_private(self.path, token.to_json(), prefix=".token-")
        except OSError as exc:
            raise _failure("save", self.description, exc) from None
        self._sweep_leftovers()

    def _sweep_leftovers(self) -> None:
        """Remove temporary files a crashed save left behind (each holds a token). Only old ones: a fresh one may
        be another process's save in progress."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for leftover in self.path.parent.glob(".token-*.tmp"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                continue

    def clear(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _failure("remove", self.description, exc) from None
        return True


def usable(backend: KeyringBackend) -> bool:
    """False for backends that fail on every call or silently drop what they are given."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    return not (isinstance(backend, chainer.ChainerBackend) and not backend.backends)


def current_backend() -> KeyringBackend:
    """PYTHON_KEYRING_BACKEND when set (read now, not cached), else keyring's configured or detected backend."""
    import keyring
    import keyring.core

    try:
        return keyring.core.load_env() or keyring.get_keyring()
    except Exception as exc:  # a broken backend choice is reported, whatever it raised
        raise TokenStoreError(
            f"The keyring backend could not be loaded ({type(exc).__name__}: {exc}). "
            "Check PYTHON_KEYRING_BACKEND or keyring's configuration."
        ) from None


def open_token_store(settings: Settings) -> TokenStore:
    """The store for these settings: sandbox file, OS keyring, or (no usable keyring) a private file."""
    if settings.sandbox:
        return FileStore(settings.home / "sandbox" / TOKEN_FILE)
    backend = current_backend()
    if usable(backend):
        return KeyringStore(backend, settings.client_id or "")
    path = settings.home / TOKEN_FILE
    if path not in _announced:
        _announced.add(path)
        log.warning(
            "No usable OS keyring (%s); the Trakt token is kept in %s, readable only by you.",
            type(backend).__qualname__,
            path,
        )
    return FileStore(path)
