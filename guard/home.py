"""The state folder, checked the way ssh checks ~/.ssh: it must belong to the user running the server and be
writable by nobody else. Everything created in it is private (0600 files in a 0700 folder), opened without
following a symlink, and replaced atomically (a temporary file renamed over the old one).

A folder someone else owns or can write to is refused with the command that fixes it; one of ours that others
can merely read (an older install made it 0755) is made private.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: Refuse to follow a symlink at the final path component (0 where the platform lacks it).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
KEY_FILE = "guard.key"
KEY_BYTES = 32
#: The largest policy (or other small text file) read whole.
MAX_TEXT_BYTES = 4_000_000


class HomeError(OSError):
    """The state folder or a file in it cannot be trusted or used; the message names the path and the fix."""


def _owner_check() -> bool:
    return hasattr(os, "getuid") and sys.platform != "win32"


def secure_folder(folder: Path) -> Path:
    """Create `folder` (0700) or check an existing one: a directory, ours, writable by nobody else."""
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        raise HomeError(
            f"cannot create or open the state folder {folder}: {exc.strerror or exc}. "
            "Fix: set TRAKT_MCP_HOME (or --home) to a folder you own on a writable disk"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise HomeError(f"the state folder {folder} is not a folder. Fix: remove it, or set TRAKT_MCP_HOME elsewhere")
    if not _owner_check():
        return folder
    if info.st_uid != os.getuid():
        raise HomeError(
            f"the state folder {folder} belongs to another user (uid {info.st_uid}), so its contents cannot be "
            f"trusted. Fix: `sudo chown -R {os.getuid()} {folder}`, or set TRAKT_MCP_HOME to a folder of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise HomeError(
            f"the state folder {folder} is writable by other users (mode {mode:04o}), so what is in it (limits, "
            f"approvals, the audit trail) cannot be trusted. Fix: `chmod 700 {folder}` and check its contents"
        )
    if mode & 0o077:  # readable by others (an older install's 0755): ours, so make it private
        try:
            os.chmod(folder, FOLDER_MODE)
        except OSError:
            raise HomeError(
                f"the state folder {folder} is readable by other users (mode {mode:04o}). Fix: `chmod 700 {folder}`"
            ) from None
    return folder


def open_private(path: Path, flags: int) -> int:
    """os.open for a file in the state folder: never through a symlink, created 0600; a file that is not ours or
    is open to others is refused."""
    return open_private_stat(path, flags)[0]


def open_private_stat(path: Path, flags: int) -> tuple[int, os.stat_result]:
    """`open_private`, with the file's status as it was opened."""
    try:
        fd = os.open(path, flags | NOFOLLOW | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except OSError:
        if os.path.islink(path):
            raise HomeError(
                f"{path} is a symbolic link; the guard never follows one in its state folder. Fix: remove it "
                f"(`rm {path}`)"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HomeError(f"{path} is not a regular file. Fix: remove it (`rm {path}`)")
        if _owner_check() and info.st_uid != os.getuid():
            raise HomeError(f"{path} belongs to another user. Fix: remove it (`rm {path}`)")
        if _owner_check() and stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`: a fresh 0600 temporary file (O_EXCL, so a planted symlink or file
    at its name is never written through), fsynced, then renamed over the target."""
    secure_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_private(path: Path, limit: int = 1 << 20) -> bytes:
    """The bytes of a private file in the state folder (no symlink, a regular file, at most `limit` bytes)."""
    fd = open_private(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def secret_key(home: Path) -> bytes:
    """The key that tags approvals: 32 random bytes in `home/guard.key` (0600), made on first use. It is written
    to a temporary file and linked into place, so no process ever reads a half-written key."""
    path = secure_folder(home) / KEY_FILE
    try:
        key = read_private(path, KEY_BYTES + 1)
    except FileNotFoundError:
        temporary = path.with_name(f".{KEY_FILE}.{secrets.token_hex(6)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        key = read_private(path, KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise HomeError(
            f"the approval key {path} is damaged. Fix: remove it (`rm {path}`); approvals waiting now will have to "
            "be asked again"
        )
    return key


def _trusted_owner(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def _others_may_write(info: os.stat_result) -> bool:
    """Group or others may write it. A folder with the sticky bit (like /tmp) is not counted: others may add
    entries there but never rename or remove ours."""
    writable = stat.S_IMODE(info.st_mode) & 0o022
    return bool(writable) and not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX)


def check_owners_file(path: Path, what: str) -> None:
    """The checks ssh makes on ~/.ssh, for a file that decides what others may do (the policy): the folder that
    holds it and, through a symlink, the link and the folder of its target are owned by the user running the
    server (or root) and writable by nobody else; `owners_file_problem` checks the file itself once it is open.
    Raises HomeError naming the path and the fix."""
    if not _owner_check():
        return
    places = [path.absolute().parent, path.resolve().parent]
    if path.is_symlink():
        places.append(path.absolute())
    for place in dict.fromkeys(places):
        info = place.lstat()
        kind = "symbolic link" if stat.S_ISLNK(info.st_mode) else "folder"
        if not _trusted_owner(info.st_uid):
            raise HomeError(
                f"the {kind} {place} that leads to the {what} belongs to another user (uid {info.st_uid}), who "
                f"could swap the {what}. Fix: keep the {what} in a folder of your own (or `sudo chown "
                f"{os.getuid()} {place}`)"
            )
        if kind == "folder" and _others_may_write(info):
            raise HomeError(
                f"the folder {place} that holds the {what} is writable by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}), who could swap the {what}. Fix: `chmod go-w {place}`, or move "
                f"the {what} to a folder of your own"
            )


def owners_file_problem(path: Path, info: os.stat_result, what: str) -> str | None:
    """Why an opened file that decides what others may do cannot be trusted (another owner, others may write)."""
    if not _owner_check():
        return None
    if not _trusted_owner(info.st_uid):
        return (
            f"the {what} {path} belongs to another user (uid {info.st_uid}), who could change what callers may do. "
            f"Fix: copy it to a file of your own (or `sudo chown {os.getuid()} {path}`)"
        )
    if _others_may_write(info):
        return (
            f"the {what} {path} is writable by other users (mode {stat.S_IMODE(info.st_mode):04o}), so anyone on "
            f"this machine could change what callers may do. Fix: `chmod go-w {path}`"
        )
    return None


def read_regular_file(path: Path, owners: str | None = None) -> str:
    """The file's text, without ever waiting: opened non-blocking, so a FIFO or device at the path (which would
    freeze a plain read until someone writes to it) is refused at once, as is a file too large to be a policy.
    `owners` names a file that decides what others may do ("policy"): it and its folders must be the owner's
    alone (`check_owners_file`, `owners_file_problem`), else HomeError."""
    if owners is not None:
        check_owners_file(path, owners)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file (a FIFO, device or folder). Fix: point the policy at a JSON file")
        if owners is not None and (problem := owners_file_problem(path, info, owners)) is not None:
            raise HomeError(problem)
        data = handle.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise ValueError(f"larger than {MAX_TEXT_BYTES // 1_000_000} MB. Fix: a policy is a small JSON file")
    return data.decode("utf-8")
