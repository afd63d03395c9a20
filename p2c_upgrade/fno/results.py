"""What F&O says about each record of an import: failing keys and their messages.

The failing keys come from the documented files, never from parsing messages: the target error
keys file (GenerateImportTargetErrorKeysFile, then GetImportTargetErrorKeysFileUrl until it is
not empty) and the staging error file (GetImportStagingErrorFileUrl), each a delimited file with
the entity's key column. GetExecutionErrors' messages are opaque text (their shape is not
documented): a key's message is every message that quotes the key ('KEY'); an entity whose
records all failed at entity level (a message that starts with the entity's name and a colon,
DMF codes such as DMF1966/DMF2060) fails all its records with that message.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from p2c_upgrade.fno.client import FnoClient, FnoError
from p2c_upgrade.sync.entities import Entity, fno_key

#: how long to wait for a generated error keys file before giving up on it
KEYS_FILE_WAIT_S = 120.0


@dataclass
class ExecutionResult:
    """One execution's outcome: status, messages, failing key folds per entity."""

    status: str
    messages: list[str] = field(default_factory=list)
    failed_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # entity -> fold -> msg
    entity_failures: dict[str, str] = field(default_factory=dict)  # entity -> message

    def failure(self, entity: str, fold: str | None) -> str | None:
        """F&O's message for a record, or None when F&O took it."""
        if entity in self.entity_failures:
            return self.entity_failures[entity]
        if fold is not None and fold in self.failed_keys.get(entity, {}):
            return self.failed_keys[entity][fold]
        if self.status in ("Failed", "Canceled") and not any(self.failed_keys.values()):
            return self.summary_message()
        return None

    def summary_message(self) -> str:
        if self.status == "Canceled":
            return "the import was canceled in F&O before it finished"
        first = self.messages[0] if self.messages else "no message"
        return f"the import ended {self.status} in F&O: {first}"


def read_results(client: FnoClient, execution_id: str, status: str, entities: list[Entity],
                 poll: float, sleep: Callable[[float], None] = time.sleep) -> ExecutionResult:
    """Collect the results of a finished execution for the entities its package carried."""
    result = ExecutionResult(status)
    if status == "Succeeded":
        return result
    raw = client.action("GetExecutionErrors", executionId=execution_id)
    try:
        messages = json.loads(raw) if isinstance(raw, str) else list(raw or [])
    except ValueError:
        messages = [str(raw)]
    result.messages = [str(m) for m in messages]
    if status == "Canceled":
        return result
    for entity in entities:
        keys: dict[str, str] = {}
        for key in _target_error_keys(client, execution_id, entity, poll, sleep):
            keys[fno_key(key)] = _message_for(key, result.messages)
        url = client.action("GetImportStagingErrorFileUrl", executionId=execution_id,
                            entityName=entity.display_name)
        if url:
            data = client.download(url, f"the staging error file of {entity.display_name}")
            for key in _keys_in_file(data, entity.key):
                keys.setdefault(fno_key(key), _message_for(key, result.messages))
        result.failed_keys[entity.name] = keys
        prefix = f"{entity.display_name.lower()}:"
        entity_level = [m for m in result.messages if m.lower().startswith(prefix)]
        if entity_level and not keys:
            result.entity_failures[entity.name] = entity_level[0][:400]
    return result


def _target_error_keys(client: FnoClient, execution_id: str, entity: Entity, poll: float,
                       sleep: Callable[[float], None]) -> list[str]:
    """The documented loop: generate, then ask for the URL until it is not empty."""
    if not client.action("GenerateImportTargetErrorKeysFile", executionId=execution_id,
                         entityName=entity.display_name):
        return []
    deadline = time.monotonic() + KEYS_FILE_WAIT_S
    while True:
        url = client.action("GetImportTargetErrorKeysFileUrl", executionId=execution_id,
                            entityName=entity.display_name)
        if url:
            return _keys_in_file(client.download(url, "the error keys file"), entity.key)
        if time.monotonic() > deadline:
            raise FnoError(f"F&O did not produce the error keys file of {entity.display_name} "
                           f"(execution {execution_id}) within {KEYS_FILE_WAIT_S:.0f} s; run the "
                           "same sync again to collect the results")
        sleep(min(poll, 1.0))


def _keys_in_file(data: bytes, key_column: str) -> list[str]:
    """The key column of a delimited error file (UTF-16 with BOM, UTF-8 with BOM or cp1252)."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        text = data.decode("utf-16")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        text = data.decode("cp1252", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return []
    header = [h.strip().upper() for h in rows[0]]
    if key_column not in header:
        return []
    i = header.index(key_column)
    return [r[i] for r in rows[1:] if len(r) > i and r[i].strip()]


def _message_for(key: str, messages: list[str]) -> str:
    quoted = f"'{key.rstrip()}'".lower()
    found = [m for m in messages if quoted in m.lower()]
    if not found:
        return "F&O rejected the record; see the execution's log in Data management"
    # drop the stand-in-or-F&O prefix before the first ': ' only when it names the key
    texts = [m.split("': ", 1)[1] if "': " in m else m for m in found]
    return "; ".join(dict.fromkeys(texts))[:400]
