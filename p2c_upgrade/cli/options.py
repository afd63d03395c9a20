"""What every command shares: the options accepted before and after the command name, opening the
database and the configuration, and the error boundary that maps exceptions to exit codes.

Exit codes (the contract): 0 done; 1 unexpected failure; 2 usage error; 3 blocked by the data;
4 another run holds the database's upgrade lock.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from p2c_upgrade import interrupt
from p2c_upgrade.db.connection import (
    DEFAULT_LOCK_TIMEOUT_S,
    ENV_URL,
    SQLITE_CACHE_KIB,
    Database,
    open_database,
)
from p2c_upgrade.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, P2CError
from p2c_upgrade.redact import mask_secrets, strip_personal_data, url_secrets

DEBUG_FLAG = "--debug"


class Settings:
    """Options given before the command; the command's own options win."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.schema: str | None = None
        self.config: str | None = None
        self.debug = False
        self.progress = True
        self.lock_timeout: float | None = None
        #: the command's --show-personal-data: a --debug traceback keeps bound parameters
        self.personal_data = False


def merge_settings(ctx: click.Context, kwargs: dict[str, Any]) -> Settings:
    base: Settings = ctx.find_object(Settings) or Settings()
    s = Settings()
    s.db = kwargs.pop("db", None) or base.db
    s.schema = kwargs.pop("schema", None) or base.schema
    s.config = kwargs.pop("config", None) or base.config
    s.debug = kwargs.pop("debug", False) or base.debug
    s.progress = kwargs.pop("progress", True) and base.progress
    s.lock_timeout = kwargs.pop("lock_timeout", None) or base.lock_timeout
    return s


_SHARED_OPTIONS = (
    click.option("--db", "db", metavar="URL", help=f"SQLAlchemy URL of the Sales database (or ${ENV_URL})."),
    click.option("--schema", metavar="NAME", help="PostgreSQL schema that holds the Sales tables."),
    click.option("--config", metavar="FILE", help="TOML configuration file (sync defaults, value maps, salt)."),
    click.option("--no-progress", "progress", flag_value=False, default=True, help="No progress bars."),
    click.option(DEBUG_FLAG, "debug", is_flag=True, help="Show tracebacks of unexpected failures."),
    click.option("--lock-timeout", type=click.FloatRange(0.1, 86_400), metavar="SECONDS",
                 help="How long to wait for a lock another session holds on a table (default 30)."),
)


def shared_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options accepted both before the command name and after it."""
    for option in reversed(_SHARED_OPTIONS):
        func = option(func)
    return func


def common(func: Callable[..., int | None]) -> Callable[..., None]:
    """Database and output options on every command, and the error boundary."""

    @shared_options
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, **kwargs: Any) -> None:
        settings = merge_settings(ctx, kwargs)
        settings.personal_data = bool(kwargs.get("show_personal_data"))
        try:
            with interrupt.handling_ctrl_c():
                try:
                    code = func(settings, **kwargs)
                except BaseException as exc:
                    # An error raised after Ctrl-C is the interruption, not a failure.
                    if isinstance(exc, Exception) and interrupt.requested():
                        raise KeyboardInterrupt from exc
                    raise
        except KeyboardInterrupt as exc:
            _fail(settings, exc, interrupt.MESSAGE, EXIT_INTERRUPTED)
        except BrokenPipeError:
            _closed_pipe()
        except P2CError as exc:
            _fail(settings, exc, exc.message, exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - the boundary: one line, no traceback
            _fail(settings, exc, f"unexpected failure: {type(exc).__name__}: {exc}", EXIT_FAILURE)
        ctx.exit(code or EXIT_OK)

    return wrapper


#: the reader of stdout went away (`plan --format csv | head`): the shell's code for SIGPIPE
EXIT_CLOSED_PIPE = 141


def _closed_pipe() -> None:
    """End quietly: nothing more can be shown, and Python's own flush of stdout at exit would
    otherwise complain about the broken pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_CLOSED_PIPE)


def _fail(settings: Settings, exc: BaseException, message: str, code: int) -> None:
    secrets = _secrets(settings)
    if settings.debug:
        text = mask_secrets("".join(traceback.format_exception(exc)), secrets)
        click.echo(text if settings.personal_data else strip_personal_data(text), err=True)
    line = mask_secrets(str(message).splitlines()[0] if message else type(exc).__name__, secrets)
    click.echo(f"error: {line}", err=True)
    sys.exit(code)


def _secrets(settings: Settings) -> list[str]:
    from p2c_upgrade.db.connection import parse_url, resolve_url

    try:
        return url_secrets(parse_url(resolve_url(settings.db)))
    except P2CError:
        return []


def open_db(settings: Settings, *, read_only: bool = False, bulk: bool = False) -> Database:
    """The Sales database; `bulk` for the commands that rewrite its tables (a larger SQLite
    page cache)."""
    timeout = settings.lock_timeout if settings.lock_timeout is not None else DEFAULT_LOCK_TIMEOUT_S
    return open_database(settings.db, settings.schema, read_only=read_only, lock_timeout=timeout,
                         sqlite_cache_kib=SQLITE_CACHE_KIB if bulk else None)


def config_of(settings: Settings) -> Any:
    from p2c_upgrade.config import load_config

    return load_config(settings.config)


