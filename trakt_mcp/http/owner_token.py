"""The owner's bearer token for HTTP on loopback.

127.0.0.1 is reachable by every account on the machine, not just the owner's: without a token, another local user
(or a service running as `nobody`) could read and change the owner's Trakt through the server. So loopback HTTP
asks for this token too, unless the owner starts the server with `--no-auth`. It is made on first use, kept in
the home readable by its owner only (0600), shown once, and again by `trakt-mcp identity show-local`.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from trakt_mcp.trakt.tokens import write_private

FILE_NAME = "http-token"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LocalTokenError(Exception):
    """The token file cannot be trusted or read; the message names the file and the fix."""


def token_path(home: Path) -> Path:
    return home / FILE_NAME


def read_token(home: Path) -> str | None:
    """The stored token, or None when there is none yet. Refuses a symlink, a file another account owns, or one
    others may read or write (like ssh refuses a readable private key)."""
    path = token_path(home)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LocalTokenError(f"cannot open {path} ({exc.strerror}). Fix: delete it; a new token is made") from None
    with os.fdopen(fd, encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LocalTokenError(f"{path} is not a regular file. Fix: delete it; a new token is made")
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            raise LocalTokenError(
                f"{path} may be read or written by other accounts (mode {stat.filemode(info.st_mode)}). "
                f"Fix: delete it (a new token is made) or `chmod 600 {path}` if you are sure nobody copied it"
            )
        token = handle.read(256).strip()
    if len(token) < 32 or not token.isascii() or not token.isprintable():
        raise LocalTokenError(f"{path} does not hold a token. Fix: delete it; a new token is made")
    return token


def ensure_token(home: Path) -> tuple[str, bool]:
    """The stored token, or a new one saved 0600 (then `True`: the caller shows it once). Two servers starting
    together for the first time agree on one token: the new one is written to a private temporary file and linked
    into place, which only the first can do; the other reads and uses the winner's (and does not show it)."""
    existing = read_token(home)
    if existing is not None:
        return existing, False
    token = secrets.token_urlsafe(32)
    path = token_path(home)
    temporary = path.with_name(f".http-token-{secrets.token_hex(6)}.tmp")
    write_private(temporary, token + "\n", prefix=".http-token-")
    try:
        os.link(temporary, path)
    except FileExistsError:
        theirs = read_token(home)
        if theirs is None:
            raise LocalTokenError(f"{path} vanished while it was being made. Fix: start the server again") from None
        return theirs, False
    finally:
        temporary.unlink(missing_ok=True)
    return token, True
