"""The package directory as the package writer holds it: one sync at a time, its own files only.

- **One sync at a time**: `.p2c-package.lock` in the directory is held (the tool's cross-platform
  lock file, `p2c_upgrade.db.lockfile`) from the moment the target opens until it closes; a second
  sync into the directory is refused at once (`LockHeldError`, exit 4), naming the holder.
- **No following of links**: the writer's fixed names (its store, index and lock) must not be
  symbolic links (refused), the lock is opened with `O_NOFOLLOW`, and every file is written to a
  fresh temporary name made with `mkstemp` (`O_EXCL`: never an existing file or link) in the
  directory, then moved over its name with `os.replace` (atomic; a link there is replaced, not
  followed).
- **Only its own files**: the writer deletes a zip only when its index records having written
  it (`written`), never by pattern: an operator's `p2c-initial-sync-01-backup.zip` stays.

Files are created with the process's umask (as every file the tool writes).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from p2c_upgrade.db.lockfile import LockBusy, LockFile
from p2c_upgrade.errors import LockHeldError, P2CError

LOCK_NAME = ".p2c-package.lock"


def refuse_links(directory: Path, names: Iterable[str]) -> None:
    """P2CError when one of the writer's own fixed names in `directory` is a symbolic link."""
    for name in names:
        if (directory / name).is_symlink():
            raise P2CError(f"{directory / name} is a symbolic link: the package directory's own "
                           "files must be regular files; remove the link")


class DirectoryLock:
    """The exclusive lock of one package directory, held until `release`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._lock: LockFile | None = None

    def acquire(self) -> DirectoryLock:
        lock = LockFile(self.path)
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since":
                             datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        try:
            lock.acquire(record)
        except LockBusy as busy:
            raise LockHeldError(f"another sync is writing the package directory "
                                f"{self.path.parent} ({_describe(busy.record.encode())}): "
                                "wait for it to end") from None
        except OSError as exc:
            raise P2CError(f"cannot open the package directory's lock {self.path}: "
                           f"{exc.strerror}") from None
        self._lock = lock
        return self

    def release(self) -> None:
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.release()


def _describe(raw: bytes) -> str:
    try:
        info = json.loads(raw.decode("utf-8"))
        return f"pid {int(info['pid'])} on {str(info['host'])[:64]} since {str(info['since'])[:20]}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return "the holder could not be identified"


@contextlib.contextmanager
def atomic_file(directory: Path, name: str) -> Iterator[IO[bytes]]:
    """A new file in `directory` under a unique temporary name, moved over `name` when the
    block ends without an error (removed otherwise)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; the package follows the umask like the tool's other files
        # (POSIX: Windows has no fchmod before Python 3.13, and no modes to follow)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_written(directory: Path, written: Iterable[str], keep: Iterable[str]) -> None:
    """Delete the files the writer recorded writing (`written`) that it no longer needs."""
    needed = set(keep)
    for name in written:
        if name not in needed and "/" not in name and name not in (".", ".."):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
