"""The bench's `export` contender: the floor a sync is measured against (issue 14).

The same records the sync's tasks select, their mapped Sales columns under the F&O field names,
written as CSV by the simplest code: one streaming SELECT per entity (the tasks writing to the
entity as a UNION ALL), Python's csv writer, one UTF-8 file per entity. No mapping, defaults,
value maps, validation, state or key checks: reading and writing only.

Columns come from the product's own task plans (shipped templates, no configuration file), so the
export reads exactly the columns the sync reads: a field with a Sales source reads that column
(`@parent_customer_account`: the parent account's number, through the same outer join), a
constant is a bound value, any other field is NULL.

The bench builds the queries (`entity_queries`, from the product's plans) and writes them to a
JSON file; the measured child runs this file as a script, importing only csv and the driver, so
the floor pays no import of the product:

    python scripts/bench_export.py QUERIES.json URL DIR     # prints {"rows": N} on stdout
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def entity_queries(mark: str, true: str) -> dict[str, tuple[str, tuple[str, ...], list[Any]]]:
    """Per entity: (SQL, header, parameters). `mark` is the driver's placeholder, `true` the
    dialect's literal for a true flag."""
    from p2c_upgrade.config import load_config
    from p2c_upgrade.sync.templates import TaskPlan, plan_tasks

    plans = plan_tasks(load_config(None))
    by_entity: dict[str, list[TaskPlan]] = {}
    for p in plans:
        by_entity.setdefault(p.entity.name, []).append(p)
    out: dict[str, tuple[str, tuple[str, ...], list[Any]]] = {}
    for name, group in by_entity.items():
        entity = group[0].entity
        used = {f for p in group for f in p.field_names}
        header = tuple(f for f in entity.fields if f in used)
        selects: list[str] = []
        params: list[Any] = []
        for p in group:
            t = p.template
            specs = dict(p.fields)
            cols: list[str] = []
            for f in header:
                spec = specs.get(f)
                if spec is None or (spec.source is None and spec.constant is None):
                    cols.append("NULL")
                elif spec.constant is not None:
                    cols.append(mark)
                    params.append(spec.constant)
                elif spec.source.startswith("@"):
                    cols.append('pa."accountnumber"')
                else:
                    cols.append(f"src.{_q(spec.source)}")
            sql = f"SELECT {', '.join(cols)} FROM {_q(t.source)} src"
            if t.parent_task:
                sql += (' LEFT JOIN "account" pa ON src."parentcustomeridtype" = \'account\''
                        ' AND pa."accountid" = src."parentcustomerid"')
            conds: list[str] = []
            for col, value in t.selection:
                if isinstance(value, bool):
                    no = "0" if true == "1" else "false"
                    conds.append(f"coalesce(src.{_q(col)}, {no}) = {true if value else no}")
                else:
                    conds.append(f"src.{_q(col)} = {mark}")
                    params.append(value)
            if conds:
                sql += " WHERE " + " AND ".join(conds)
            selects.append(sql)
        out[name] = (" UNION ALL ".join(selects), header, params)
    return out


def _rows_sqlite(path: str, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        yield from conn.execute(sql, params)  # the cursor steps through the result
    finally:
        conn.close()


def _rows_pg(conninfo: str, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(conninfo) as conn, conn.cursor(name="p2c_export") as cur:
        cur.itersize = 5000  # a server-side cursor: memory holds one fetch
        cur.execute(sql, params)
        yield from cur


def write_queries(url: str, path: Path) -> None:
    """The export's queries for the database at `url`, as JSON for the measured child."""
    sqlite = url.startswith("sqlite")
    queries = entity_queries("?" if sqlite else "%s", "1" if sqlite else "true")
    path.write_text(json.dumps(queries), encoding="utf-8")


def export(queries: dict[str, Any], url: str, out_dir: Path) -> int:
    """Write one CSV per entity into `out_dir`; the number of rows written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, (sql, header, params) in queries.items():
        if url.startswith("sqlite"):
            rows = _rows_sqlite(url.split(":///", 1)[1], sql, params)
        else:
            conninfo = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
            rows = _rows_pg(conninfo, sql, params)
        with (out_dir / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                total += 1
    return total


if __name__ == "__main__":
    queries_file, db_url, out = sys.argv[1:4]
    found = json.loads(Path(queries_file).read_text(encoding="utf-8"))
    print(json.dumps({"rows": export(found, db_url, Path(out))}))
