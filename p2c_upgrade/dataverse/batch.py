"""`$batch` requests with independent operations (no change set) and their multipart answers.

Why `$batch` and not UpdateMultiple: UpdateMultiple takes no `If-Match` per record and rolls the
whole request back on one error (data-platform/bulk-operations); a `$batch` of `PATCH` requests
each with `If-Match: <etag>`, sent with `Prefer: odata.continue-on-error`, gives optimistic
concurrency per record and one outcome per record, in one request against the service protection
limits (webapi/execute-batch-operations-using-web-api). At most 1,000 operations.

Shapes: `Operation(method, url, headers, body)`; `build(ops) -> (content_type, body)`;
`parse(content_type, body) -> [OpResult(status, headers, body)]` in request order.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";,\s]+)"?', re.I)
_STATUS = re.compile(r"^HTTP/1\.[01] (\d{3})")


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class OpResult:
    status: int
    headers: dict[str, str]
    body: str

    def message(self) -> str:
        try:
            err = json.loads(self.body).get("error", {})
            return (err.get("message") or f"HTTP {self.status}").splitlines()[0]
        except (ValueError, AttributeError):
            return f"HTTP {self.status}"


def build(ops: list[Operation]) -> tuple[str, str]:
    boundary = f"batch_{uuid.uuid4()}"
    out: list[str] = []
    for op in ops:
        out += [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                f"{op.method} {op.url} HTTP/1.1", "Content-Type: application/json; type=entry"]
        out += [f"{k}: {v}" for k, v in op.headers.items()]
        out += ["", json.dumps(op.body) if op.body is not None else ""]
    out.append(f"--{boundary}--")
    return f"multipart/mixed; boundary={boundary}", CRLF.join(out) + CRLF


def parse(content_type: str, body: bytes | str) -> list[OpResult]:
    """The operations' answers in order (change-set answers flattened)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    match = _BOUNDARY.search(content_type or "")
    if not match:
        return []
    results: list[OpResult] = []
    for part in _split(text, match.group(1)):
        head, _, rest = _cut(part)
        inner = _BOUNDARY.search(head)
        if inner and "multipart/mixed" in head.lower():
            results += parse(f"multipart/mixed; boundary={inner.group(1)}", rest)
            continue
        status_head, _, content = _cut(rest)
        lines = status_head.splitlines()
        status = _STATUS.match(lines[0].strip()) if lines else None
        if not status:
            continue
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        results.append(OpResult(int(status.group(1)), headers, content.strip()))
    return results


def _split(text: str, boundary: str) -> list[str]:
    parts = []
    for chunk in text.split("--" + boundary)[1:]:
        if chunk.startswith("--"):
            break
        parts.append(chunk.strip("\r\n"))
    return parts


def _cut(block: str) -> tuple[str, str, str]:
    match = re.search(r"\r?\n\r?\n", block)
    if not match:
        return block, "", ""
    return block[: match.start()], "", block[match.end():]
