"""Uploading and importing packages one at a time, following each execution to its end and
writing F&O's per-record results into the sync's state.

Per package (Microsoft Learn, *Data management package REST API*; the flow of
microsoft/Dynamics-AX-Integration's PackageImporter.cs):
1. record the import with our own execution id and its records (committed), then
2. GetAzureWriteUrl, PUT the zip (x-ms-blob-type: BlockBlob), ImportFromPackage with that
   executionId, 3. poll GetExecutionSummaryStatus until Succeeded, PartiallySucceeded, Failed
   or Canceled (a progress line on stderr), 4. collect the failing keys (results.py) and set
   each record synced or failed with F&O's message.
A killed sync runs `follow_open` first: every recorded import not yet applied is followed (F&O
knows the id) or abandoned (F&O answers Unknown: the request never arrived; its records are still
pending and go out again). So no package is ever imported twice.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.db import Database, translate_errors
from p2c_upgrade.errors import P2CError
from p2c_upgrade.fno import journal
from p2c_upgrade.fno.client import FnoClient, FnoError
from p2c_upgrade.fno.results import ExecutionResult, read_results
from p2c_upgrade.sync import state
from p2c_upgrade.sync.entities import ENTITIES, Entity

FINAL = ("Succeeded", "PartiallySucceeded", "Failed", "Canceled")
REJECTED = "fno_rejected"
IMPORT_FAILED = "fno_import_failed"
CANCELED = "fno_import_canceled"


@dataclass
class Rejection:
    task: str
    source_id: str
    entity: str
    key: str | None
    reason: str
    detail: str


@dataclass
class ImportOutcome:
    """What the imports of one sync did: per import, and every record F&O refused."""

    imports: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)


class Importer:
    def __init__(self, db: Database, client: FnoClient, target_id: str, legal_entity: str,
                 group: str, poll_interval: float, timeout: float,
                 say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> None:
        self.db = db
        self.client = client
        self.target_id = target_id
        self.legal_entity = legal_entity
        self.group = group
        self.poll = poll_interval
        self.timeout = timeout
        self.say = say
        self.sleep = sleep
        self.outcome = ImportOutcome()
        with translate_errors(db):
            journal.ensure_tables(db)

    # -- resuming ------------------------------------------------------------------------------

    def follow_open(self) -> None:
        """Follow every import a stopped sync started, before anything new is sent."""
        for row in journal.open_imports(self.db, self.target_id):
            status = self.client.action("GetExecutionSummaryStatus", executionId=row["execution_id"])
            if status == "Unknown":
                self.say(f"F&O never received import {row['execution_id']} ({row['package']}): "
                         "its records are sent again")
                journal.set_state(self.db, row["import_id"], journal.ABANDONED, fno_status="Unknown")
                continue
            self.say(f"following import {row['execution_id']} ({row['package']}) that a stopped "
                     f"sync started: {status}")
            if row["state"] == journal.PREPARED:
                journal.set_state(self.db, row["import_id"], journal.REQUESTED)
            self._finish(row["import_id"], row["execution_id"], row["package"])

    # -- a new package -------------------------------------------------------------------------

    def import_package(self, path: Path, records: Iterator[list[tuple[Any, ...]]],
                       sync_run_id: int | None) -> None:
        """Import one zip; `records` are its rows' (task, source_id, entity, key, fold)."""
        data = path.read_bytes()
        execution_id = f"p2c-{uuid.uuid4()}"
        with translate_errors(self.db):
            import_id = journal.prepare(self.db, self.target_id, path.name,
                                        hashlib.sha256(data).hexdigest(), execution_id, self.group,
                                        sync_run_id, records)
        self.say(f"uploading {path.name} ({len(data):,} bytes) to F&O")
        blob = self.client.write_url(f"{execution_id}.zip")
        try:
            self.client.upload(blob, data)
        except FnoError as exc:
            journal.set_state(self.db, import_id, journal.ABANDONED, message=exc.message)
            raise FnoError(f"F&O refused the upload of {path.name}: {exc.message}; nothing was "
                           "imported, run the same sync again") from None
        try:
            self.client.action("ImportFromPackage", packageUrl=blob, definitionGroupId=self.group,
                               executionId=execution_id, execute=True, overwrite=True,
                               legalEntityId=self.legal_entity)
        except FnoError as exc:
            if "already exists" not in exc.message:
                journal.set_state(self.db, import_id, journal.ABANDONED, message=exc.message)
                raise FnoError(f"F&O refused to import {path.name}: {exc.message}") from None
        journal.set_state(self.db, import_id, journal.REQUESTED)
        self._finish(import_id, execution_id, path.name)

    # -- following one execution ---------------------------------------------------------------

    def _finish(self, import_id: int, execution_id: str, package: str) -> None:
        status = self._wait(execution_id, package)
        entities = self._entities(import_id)
        result = read_results(self.client, execution_id, status, entities, self.poll, self.sleep)
        accepted, rejected = self._apply(import_id, result)
        message = result.summary_message() if status != "Succeeded" else None
        with translate_errors(self.db):
            journal.set_state(self.db, import_id, journal.APPLIED, fno_status=status,
                              message=message)
        self.outcome.imports.append({"package": package, "execution_id": execution_id,
                                     "status": status, "accepted": accepted,
                                     "rejected": rejected})
        self.say(f"{package}: {status} in F&O, {accepted:,} records imported, "
                 f"{rejected:,} rejected")

    def _wait(self, execution_id: str, package: str) -> str:
        started = time.monotonic()
        last, said = "", 0.0
        while True:
            status = self.client.action("GetExecutionSummaryStatus", executionId=execution_id)
            elapsed = time.monotonic() - started
            if status != last:  # F&O's answer for `status`, one UPDATE per change
                journal.note_status(self.db, execution_id, str(status))
            if status != last or elapsed - said >= 30:  # a line per change, else every 30 s
                self.say(f"{package}: {status} in F&O ({elapsed:.0f} s, execution {execution_id})")
                last, said = status, elapsed
            if status in FINAL:
                return str(status)
            if elapsed > self.timeout:
                raise P2CError(
                    f"F&O import {execution_id} of {package} is still {status} after "
                    f"{self.timeout:.0f} s ([fno] timeout); run the same sync again to keep "
                    "following it (it is not imported twice)")
            self.sleep(self.poll)

    def _entities(self, import_id: int) -> list[Entity]:
        c = journal.import_records.c
        with self.db.engine.connect() as conn:
            names = {r[0] for r in conn.execute(sa.select(c.entity).where(
                c.import_id == import_id).distinct())}
        return [e for e in ENTITIES.values() if e.name in names]

    def _apply(self, import_id: int, result: ExecutionResult) -> tuple[int, int]:
        """Pending records of the import become synced, or failed with F&O's message."""
        rec = state.records.c
        accepted = rejected = 0
        reason = CANCELED if result.status == "Canceled" else (
            IMPORT_FAILED if result.status == "Failed" and not any(result.failed_keys.values())
            else REJECTED)
        with translate_errors(self.db):
            for batch in journal.iter_records(self.db, import_id):
                ok: dict[str, list[str]] = {}
                bad: list[dict[str, Any]] = []
                for task, sid, entity, key, fold in batch:
                    message = result.failure(entity, fold)
                    if message is None:
                        ok.setdefault(task, []).append(sid)
                        continue
                    why = REJECTED if fold in result.failed_keys.get(entity, {}) else reason
                    bad.append({"t": task, "s": sid, "r": why, "d": message[:400]})
                    self.outcome.rejections.append(
                        Rejection(task, sid, entity, key, why, message[:400]))
                with self.db.engine.begin() as conn:
                    for task, sids in ok.items():
                        conn.execute(state.records.update().where(rec.target_id == self.target_id, rec.task == task,
                                            rec.source_id.in_(sids), rec.status == state.PENDING)
                                     .values(status=state.SYNCED, updated_at=state.now()))
                    if bad:
                        conn.execute(
                            state.records.update()
                            .where(rec.target_id == self.target_id,
                                   rec.task == sa.bindparam("t"), rec.source_id == sa.bindparam("s"))
                            .values(status=state.FAILED, reason=sa.bindparam("r"),
                                    detail=sa.bindparam("d"), updated_at=state.now()), bad)
                accepted += sum(len(v) for v in ok.values())
                rejected += len(bad)
        self.outcome.accepted += accepted
        return accepted, rejected
