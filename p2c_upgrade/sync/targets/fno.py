"""`fno:https://HOST`: the package target's zips, imported into a live F&O environment.

The engine writes each batch here as to a package (a store in a temporary directory that holds
only what this sync sends: records that failed, were never sent, or changed in Sales) and records
them `pending`; `finish` renders the zips, customers before contact persons, and imports them one
at a time (`p2c_upgrade.fno.importer`), which turns each pending record into synced or failed with
F&O's message. Before any of that, `bind` follows the imports a stopped sync started and runs the
preflight (a blocker: exit 3, nothing uploaded).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from p2c_upgrade.errors import UsageError
from p2c_upgrade.sync.entities import CONTACT_PERSONS, CUSTOMERS, Entity, fno_key
from p2c_upgrade.sync.targets.base import TargetRow, UpsertCounts
from p2c_upgrade.sync.targets.package import PackageTarget, plan_parts

FNO_PREFIX = "fno:"
_NS = uuid.UUID("2f9d8a34-61b1-4c0e-9a57-3f0f1b6f6c11")


def target_id_for(base_url: str, legal_entity: str) -> str:
    """The sync state's target id of one F&O environment and legal entity (stable)."""
    host = base_url.split("://", 1)[-1].lower()
    return str(uuid.uuid5(_NS, f"{host}/{legal_entity.lower()}"))


def connect(url: str, settings: Any, say: Callable[[str], None] | None = None) -> tuple[Any, str]:
    """(FnoClient, target id) for `fno:URL` with `[fno]` settings (plan and verify)."""
    from p2c_upgrade.auth import check_service_url, token_provider
    from p2c_upgrade.fno.client import FnoClient

    legal = settings.require_legal_entity()
    base_url = check_service_url(url)
    token = token_provider(settings.auth, base_url, env_token_var="P2C_FNO_TOKEN")
    return FnoClient(base_url, token, on_wait=say), target_id_for(base_url, legal)


class FnoTarget:
    kind = "fno"
    #: records are synced only once F&O has imported them (the engine records them pending)
    deferred = True

    def __init__(self, base_url: str, settings: Any, package: PackageTarget,
                 tmp: tempfile.TemporaryDirectory[str], client: Any) -> None:
        self.base_url = base_url
        self.settings = settings
        self.legal_entity: str = settings.require_legal_entity()
        self.target_id = target_id_for(base_url, self.legal_entity)
        self.description = f"fno:{base_url} (legal entity {self.legal_entity})"
        self.package = package
        self._tmp = tmp
        self.client = client
        self.importer: Any = None
        self.sync_run_id: int | None = None

    @classmethod
    def open(cls, url: str, settings: Any, *, max_rows: int, batch_size: int,
             description: str, say: Callable[[str], None] | None = None) -> FnoTarget:
        from p2c_upgrade.auth import check_service_url, token_provider
        from p2c_upgrade.fno.client import FnoClient
        from p2c_upgrade.fno.settings import FnoSettings

        if not url.strip():
            raise UsageError("the F&O target needs the environment's URL: --target fno:https://HOST")
        settings = settings or FnoSettings()
        settings.require_legal_entity()
        base_url = check_service_url(url)
        token = token_provider(settings.auth, base_url, env_token_var="P2C_FNO_TOKEN")
        client = FnoClient(base_url, token, on_wait=say)
        tmp = tempfile.TemporaryDirectory(prefix="p2c-fno-")
        package = PackageTarget.open(tmp.name, max_rows=max_rows, batch_size=batch_size,
                                     description=description)
        return cls(base_url, settings, package, tmp, client)

    def bind(self, db: Any, sync_run_id: int | None, plans: list[Any], tables: dict[str, Any],
             config: Any, say: Callable[[str], None]) -> None:
        """Before the tasks: follow what a stopped sync started, then the preflight."""
        from p2c_upgrade.fno.importer import Importer
        from p2c_upgrade.fno.preflight import require_preflight

        s = self.settings
        self.sync_run_id = sync_run_id
        self.client.on_wait = say
        self.importer = Importer(db, self.client, self.target_id, self.legal_entity,
                                 s.definition_group, s.poll_interval, s.timeout, say)
        self.importer.follow_open()
        self.importer.outcome.rejections = []  # those records are re-mapped and sent again
        require_preflight(db, self.client, self.legal_entity, plans, tables, config)

    def mask(self, text: str) -> str:
        return text

    def upsert(self, entity: Entity, fields: tuple[str, ...], rows: list[TargetRow]
               ) -> UpsertCounts:
        return self.package.upsert(entity, fields, rows)

    def finish(self, columns: dict[str, tuple[str, ...]], changed: bool) -> dict[str, Any]:
        out = self.package.finish(columns, True)
        customers, persons = self.package._counts()
        parts = plan_parts(customers, persons, self.package.max_rows)
        streams = {e.name: self._records(e) for e in (CUSTOMERS, CONTACT_PERSONS)}
        for path, part in zip(out["files"], parts, strict=True):
            self.importer.import_package(Path(path), _part_records(part, streams),
                                         self.sync_run_id)
        return {"kind": self.kind, "target": self.description,
                "legal_entity": self.legal_entity, "sent": out["rows"],
                "imports": self.importer.outcome.imports}

    def rejections(self) -> list[Any]:
        return list(self.importer.outcome.rejections) if self.importer else []

    def _records(self, entity: Entity) -> Iterator[tuple[str, str, str, str | None, str | None]]:
        for task, sid, key in self.package.store.iter_rows(
                entity, ("P2C_TASK", "P2C_SOURCE_ID", entity.key), self.package.batch_size):
            yield (str(task), str(sid), entity.name, key, fno_key(key) if key else None)

    def close(self) -> None:
        self.package.close()
        self._tmp.cleanup()


def _part_records(part: list[tuple[Entity, int, int]], streams: dict[str, Iterator[Any]],
                  batch: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
    """The records of one zip, in batches, taken from each entity's key-ordered stream."""
    for entity, _offset, count in part:
        chunk: list[tuple[Any, ...]] = []
        for _ in range(count):
            chunk.append(next(streams[entity.name]))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
