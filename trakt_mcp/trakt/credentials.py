"""Where `trakt-mcp setup` keeps the Trakt app's client ID and secret: the OS keyring, or (no usable keyring) a
private 0600 file in the home, exactly as for tokens. Environment variables and flags still override them.

The secret is read here and handed to Settings as a SecretStr; it is never written to a client's config file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trakt_mcp.settings import Settings
from trakt_mcp.terminal import command
from trakt_mcp.trakt.tokens import SERVICE, TokenStoreError, current_backend, usable, write_private

ACCOUNT = "client-credentials"
FILE = "credentials.json"

log = logging.getLogger(__name__)


def _file(home: Path) -> Path:
    return home / FILE


def _parse(text: str | None, where: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise TokenStoreError(f"The stored Trakt app credentials in {where} are unreadable: run `{command('setup')}`.")
    return {k: v for k, v in data.items() if k in ("client_id", "client_secret") and isinstance(v, str) and v}


def load(home: Path) -> tuple[dict[str, str], str]:
    """The stored credentials ({} when none) and where they were found."""
    backend = current_backend()
    if usable(backend):
        where = f"keyring ({type(backend).__qualname__}, service {SERVICE!r})"
        try:
            text = backend.get_password(SERVICE, ACCOUNT)
        except Exception as exc:
            raise TokenStoreError(
                f"Could not read the Trakt app credentials from {where}: {type(exc).__name__}"
            ) from None
        if text:
            return _parse(text, where), where
    path = _file(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        raise TokenStoreError(f"Could not read {path}: {exc.strerror}") from None
    return _parse(text, f"file {path}"), f"file {path}"


def save(home: Path, client_id: str, client_secret: str) -> str:
    """Store both values; returns where (a keyring, or the private file when no keyring is usable)."""
    text = json.dumps({"client_id": client_id, "client_secret": client_secret})
    backend = current_backend()
    if usable(backend):
        try:
            backend.set_password(SERVICE, ACCOUNT, text)
        except Exception as exc:
            raise TokenStoreError(
                f"Could not save the Trakt app credentials in the keyring ({type(exc).__name__})"
            ) from None
        return f"keyring ({type(backend).__qualname__}, service {SERVICE!r})"
    path = _file(home)
    try:
        write_private(path, text, prefix=".credentials-")
    except OSError as exc:
        raise TokenStoreError(f"Could not save the Trakt app credentials in {path}: {exc.strerror}") from None
    return f"file {path} (readable only by you; no usable OS keyring)"


def apply(settings: Settings) -> Settings:
    """Settings with the stored credentials filling what the environment and flags left unset."""
    if settings.sandbox or (settings.client_id and settings.client_secret):
        return settings
    try:
        stored, where = load(settings.home)
    except TokenStoreError as exc:
        log.warning("%s", exc)
        return settings
    return settings.with_stored_credentials(stored, where) if stored else settings
