"""The files a SQLite database is made of: the file itself, its rollback journal, its WAL and
shared-memory files, and the upgrade lock file beside it. A report the tool writes (`--output`)
must be none of them: opening one for writing would replace the database (or its journal, the
one copy of an interrupted transaction) with the report.
"""

from __future__ import annotations

import os
from pathlib import Path

from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import UsageError

#: what SQLite adds to the database's name for its journal, WAL and shared memory
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


def database_files(db: Database) -> list[Path]:
    """The SQLite database's files, existing or not (none for PostgreSQL)."""
    from p2c_upgrade.db.lock import UpgradeLock  # late: the lock imports the connection

    path = db.sqlite_path
    if path is None:
        return []
    files = [path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)]
    lock = UpgradeLock(db).path
    return files + ([lock] if lock is not None else [])


def refuse_database_file(db: Database, output: str, option: str = "--output") -> None:
    """Raise UsageError when `output` is, resolves to (a symbolic link), or is a hard link
    of one of the database's files."""
    given = Path(output).expanduser()
    resolved = given.resolve()
    for f in database_files(db):
        same = resolved == f.resolve()
        if not same and given.exists() and f.exists():
            same = os.path.samefile(given, f)
        if same:
            raise UsageError(f"{option} {output} is the database's file {f}: "
                             "write the report somewhere else")
