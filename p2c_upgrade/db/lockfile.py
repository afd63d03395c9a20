"""An exclusive lock file that names its holder, on POSIX and Windows, freed when its holder dies.

The lock is one byte far past the file's content (`LOCK_OFFSET`), taken with the operating
system's record locks: `os.lockf` (POSIX `fcntl` record locks, no `fcntl` import needed) or
`msvcrt.locking` (Windows `LockFile`, a mandatory lock: hence a byte the record never reaches).
The holder's record (a line of JSON: command, user, host, pid, since) sits at the start of the
file, readable by anyone while the lock is held.

The file exists only while a holder holds it: the holder removes it before letting go, and a
process that locked a file which was meanwhile removed or replaced lets go and tries again
(`os.path.samestat` on the path and the open file), so two holders can never each hold "the" lock
through two files. A holder that dies (kill -9, power loss) leaves its file behind, unlocked: the
next holder reuses it, and `holder_record` reports it free.

Opening never follows a link nor truncates: `O_NOFOLLOW` where the platform has it, and the
record is written only after the path is checked to be this very regular file with one name
(a planted symbolic or hard link is refused with a one-line error, nothing written through it).

POSIX record locks belong to the process, not the file descriptor: closing any descriptor of the
file would drop them, and a second lock in the same process would succeed. The files this process
holds are therefore remembered (`_HELD_HERE`) and never opened a second time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from p2c_upgrade.errors import P2CError

#: the byte that is locked: past any record (Windows forbids other processes to read a locked
#: byte; the record is a few hundred bytes), as SQLite does with its lock bytes
LOCK_OFFSET = 1 << 30
#: the most of a record that is read
RECORD_MAX = 4096
_FLAGS = os.O_CLOEXEC if hasattr(os, "O_CLOEXEC") else 0
_FLAGS |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
_WINDOWS = os.name == "nt"
_HELD_HERE: dict[tuple[int, int], str] = {}


class LockBusy(Exception):
    """Another process (or another lock of this one) holds the file; `record` is its record."""

    def __init__(self, record: str) -> None:
        super().__init__(record)
        self.record = record


def _try_lock(fd: int) -> bool:
    """Take the lock byte without waiting; False when another process holds it."""
    os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
    try:
        if _WINDOWS:
            import msvcrt  # Windows only

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            os.lockf(fd, os.F_TLOCK, 1)
    except OSError as exc:
        if _WINDOWS or exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
    if _WINDOWS:
        import msvcrt  # Windows only

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        os.lockf(fd, os.F_ULOCK, 1)


def _is_locked_elsewhere(fd: int) -> bool:
    """Whether another process holds the lock byte (the descriptor may be read-only)."""
    os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
    if not _WINDOWS:
        try:
            os.lockf(fd, os.F_TEST, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return True
            raise
        return False
    if not _try_lock(fd):
        return True
    _unlock(fd)
    return False


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, RECORD_MAX).decode("utf-8", "replace").strip()


def _refuse_link(path: Path, exc: OSError | None = None) -> P2CError:
    return P2CError(f"the upgrade lock file {path} is a link or has other names; the tool never writes "
                    "through one: remove it (it is not the tool's) and run again"
                    + (f" ({exc.strerror})" if exc is not None and exc.strerror else ""))


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


class LockFile:
    """`LockFile(path).acquire(record)` ... `release()`; raises `LockBusy` at once when held."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None

    def acquire(self, record: str, attempts: int = 5) -> None:
        for _ in range(attempts):
            if self._try(record):
                return
        raise LockBusy("")  # released and re-taken under us each time: someone holds it now

    def _try(self, record: str) -> bool:
        try:  # held by this process: never open it again (closing would drop the lock)
            mine = _HELD_HERE.get(_identity(os.lstat(self.path)))
        except OSError:
            mine = None
        if mine is not None:
            raise LockBusy(mine)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _FLAGS, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
                raise _refuse_link(self.path, exc) from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                raise _refuse_link(self.path)
            key = _identity(st)
            if not _try_lock(fd):
                raise LockBusy(_read(fd))
            try:
                now = os.lstat(self.path)
            except FileNotFoundError:
                now = None
            if now is None or not os.path.samestat(now, st):
                # released (removed) or replaced between our open and our lock: not "the" file
                if now is not None and stat.S_ISLNK(now.st_mode):
                    _unlock(fd)
                    raise _refuse_link(self.path)
                _unlock(fd)
                os.close(fd)
                return False
            data = (record + "\n").encode("utf-8")
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._key = fd, key
        _HELD_HERE[key] = record
        return True

    def release(self) -> None:
        fd, key = self._fd, self._key
        if fd is None or key is None:
            return
        self._fd = self._key = None
        try:
            if not _WINDOWS:  # removed while still held: a waiter that opened it retries
                with contextlib.suppress(OSError):
                    if os.path.samestat(os.lstat(self.path), os.fstat(fd)):
                        os.unlink(self.path)
            _unlock(fd)
        finally:
            os.close(fd)
            _HELD_HERE.pop(key, None)
        if _WINDOWS:  # Windows removes no open file: a process that opened it since keeps it
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def holder_record(path: Path) -> str | None:
    """The holder's record while the lock at `path` is held (by any process), else None.
    Takes nothing and creates nothing: `status` and `plan` use it on read-only databases."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if _identity(st) in _HELD_HERE:
        return _HELD_HERE[_identity(st)]
    try:
        fd = os.open(path, os.O_RDONLY | _FLAGS)
    except OSError:
        return None
    try:
        return _read(fd) if _is_locked_elsewhere(fd) else None
    finally:
        os.close(fd)
