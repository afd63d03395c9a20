"""Who and where this process is, on every platform (POSIX and Windows).

Used to label the ledger's runs and the upgrade lock's holder; nothing here may fail: a container
without a user name, or Windows without `os.getuid`, still gives an answer.
"""

from __future__ import annotations

import getpass
import os
import socket


def os_user() -> str:
    """The login name (`getpass`: LOGNAME/USER/USERNAME, then the password database where there
    is one); the numeric user id on POSIX without a name; `?` when neither is known."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers; no pwd module on Windows
        getuid = getattr(os, "getuid", None)
        return str(getuid()) if getuid is not None else "?"


def host_name() -> str:
    return socket.gethostname()
