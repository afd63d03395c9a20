"""Realistic Sales data at any scale, fast: for tests, the demo and the benchmark.

`generate(db, accounts=N)` loads N accounts, 2N contacts, N quotes, N salesorders, N invoices and
one organization row into empty Sales tables (creating them when missing). Rows are made in chunks
and streamed (COPY on PostgreSQL, executemany in one transaction per table on SQLite), so memory
stays flat whatever N.

Deterministic for a seed. Record ids are random-looking version-4 UUIDs derived from a keyed hash
of (seed, table, row index): any row's id can be recomputed, so contacts and documents reference
existing accounts and contacts without keeping millions of ids in memory.

The data exercises the upgrade: accounts that already have numbers (some blank, a few colliding as
F&O compares them), exact ties in `createdon`, contacts whose parent is an account, a contact or
nothing, and documents in every state whose customer is an account or a contact.

The command line is `p2c-upgrade generate --db URL [--schema S] --accounts N [--seed K]`
(p2c_upgrade/cli/generate.py); the benchmark's child processes use it too.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.db.dialects import dialect_for
from p2c_upgrade.db.schema import DOCUMENT_TABLES, sales_metadata
from p2c_upgrade.errors import P2CError
from p2c_upgrade.progress import Progress

CHUNK_ROWS = 10_000

Row = tuple[Any, ...]

# --------------------------------------------------------------------------------------------
# Word lists. None of them holds a tab, newline or backslash: the COPY text is written as is.

_COMPANY_FIRST = (
    "Contoso", "Fabrikam", "Northwind", "Adventure", "Litware", "Proseware", "Tailspin", "Wingtip",
    "Alpine", "Blue Yonder", "Coho", "Fourth Coffee", "Lucerne", "Margie's", "Trey", "Wide World",
    "Humongous", "Graphic", "Woodgrove", "City Power", "Southridge", "Consolidated", "Bellows",
    "Nordic", "Atlas", "Summit", "Evergreen", "Silverline", "Redwood", "Harbor", "Pinnacle",
    "Müller", "Société Générale de", "Kühne", "Øresund", "São Paulo", "北京", "Zürich",
)
_COMPANY_SECOND = (
    "Traders", "Systems", "Logistics", "Foods", "Motors", "Pharma", "Energy", "Textiles",
    "Electronics", "Consulting", "Airlines", "Bank", "Works", "Industries", "Partners", "Labs",
    "Holdings", "Supplies", "Outfitters", "Brewing", "Software", "Insurance", "Media", "Retail",
)
_COMPANY_SUFFIX = ("Inc.", "Ltd", "GmbH", "S.A.", "LLC", "Corp.", "AG", "BV", "Oy", "plc", "")

_FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
    "José", "Zoë", "François", "Jürgen", "Søren", "Ángela", "Łukasz", "Chloé", "Björn", "Inés",
    "李", "王芳", "Олег", "Νίκος", "Aoife", "Siobhán", "Dvořák", "Mehmet", "Ayşe", "Nguyễn",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
    "Müller", "Schröder", "Dubois", "Lefèvre", "Núñez", "Øster", "Å'berg", "O'Brien", "Kowalski",
    "李", "王", "张", "Иванов", "Παπαδόπουλος", "Yılmaz", "Đặng", "Van der Berg", "da Silva",
)
# (country, weight): mostly names, some ISO codes, blanks, NULL and a few nobody knows.
_COUNTRIES = (
    ("United States", 30), ("Germany", 10), ("France", 8), ("United Kingdom", 8), ("Canada", 6),
    ("Netherlands", 3), ("Spain", 3), ("Italy", 3), ("Japan", 3), ("Australia", 3),
    ("Brazil", 2), ("Mexico", 2), ("India", 2), ("China", 2), ("Sweden", 2), ("Denmark", 1),
    ("Switzerland", 1), ("Ireland", 1), ("Norway", 1), ("Belgium", 1),
    ("USA", 2), ("US", 2), ("DE", 1), ("FR", 1), ("GB", 1), ("CA", 1),
    ("", 2), (None, 3), ("   ", 1), ("Atlantis", 1), ("Middle-earth", 1),
)
_CITIES = (
    "Seattle", "Redmond", "New York", "Chicago", "Austin", "Boston", "Denver", "Atlanta",
    "Berlin", "München", "Hamburg", "Köln", "Paris", "Lyon", "Montréal", "Toronto", "Vancouver",
    "London", "Manchester", "Edinburgh", "Amsterdam", "Madrid", "Barcelona", "Milano", "Roma",
    "Tokyo", "Osaka", "Sydney", "São Paulo", "Ciudad de México", "Mumbai", "Shanghai", "Zürich",
    "Göteborg", "København", "Dublin", "Oslo", "Bruxelles", None, "",
)
# Bulk imports: many records share these exact timestamps (exercises the tie-break on the key).
_IMPORT_STAMPS = (
    "2014-01-01 00:00:00", "2015-07-01 00:00:00", "2016-03-15 02:00:00", "2017-11-30 23:59:59",
    "2019-01-01 00:00:00", "2020-06-30 12:00:00", "2022-02-01 04:30:00", "2023-09-01 00:00:00",
)
_FIRST_DAY = 16071  # 2014-01-01 as days since 1970-01-01
_DAYS = 3652  # ~10 years
_TIE_SHARE = 0.03

#: Documents' statecode ranges (FACTS.md): quote 0-3, salesorder 0-4, invoice 0-3.
DOCUMENT_STATES = {"quote": 4, "salesorder": 5, "invoice": 4}

COLLISION_KINDS = ("exact", "case", "accent", "trailing space")

COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("accountid", "name", "accountnumber", "address1_country", "address1_city",
                "statecode", "createdon"),
    "contact": ("contactid", "firstname", "lastname", "parentcustomerid", "parentcustomeridtype",
                "address1_country", "statecode", "createdon"),
    **{t: (f"{t}id", "customerid", "customeridtype", "statecode", "createdon")
       for t in DOCUMENT_TABLES},
    "organization": ("organizationid", "issopintegrationenabled"),
}

TABLES = ("account", "contact", *DOCUMENT_TABLES, "organization")


@dataclass
class GenerateSummary:
    """Rows loaded per table, and how long it took."""

    account: int = 0
    contact: int = 0
    quote: int = 0
    salesorder: int = 0
    invoice: int = 0
    organization: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return (self.account + self.contact + self.quote + self.salesorder + self.invoice
                + self.organization)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "seconds"}

    def line(self) -> str:
        parts = ", ".join(f"{v:,} {k}" for k, v in self.counts().items())
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        return (f"generated {self.total:,} rows ({parts}) in {self.seconds:.1f} s "
                f"({rate:,.0f} rows/s)")


def collision_groups(accounts: int) -> int:
    """How many colliding groups of each kind are planted: a handful whatever the scale."""
    return max(1, accounts // 100_000)


def planted_collisions(accounts: int) -> list[tuple[str, str, str]]:
    """(kind, first value, second value) of every planted collision pair."""
    out: list[tuple[str, str, str]] = []
    for j in range(1, collision_groups(accounts) + 1):
        out.append(("exact", f"DUP-{j:04d}", f"DUP-{j:04d}"))
        out.append(("case", f"ABC-{j:04d}", f"abc-{j:04d}"))
        out.append(("accent", f"MÜLLER-{j:04d}", f"MULLER-{j:04d}"))
        out.append(("trailing space", f"X-{j:04d}", f"X-{j:04d}  "))
    return out


def _weighted(pairs: tuple[tuple[Any, int], ...]) -> tuple[Any, ...]:
    """Expand (value, weight) pairs into a flat tuple to pick from uniformly."""
    return tuple(v for v, w in pairs for _ in range(w))


class SalesData:
    """The rows of every table, chunk by chunk, deterministic for (accounts, seed)."""

    def __init__(self, accounts: int, seed: int = 0) -> None:
        if accounts < 1:
            raise P2CError("--accounts must be at least 1")
        self.accounts = accounts
        self.contacts = 2 * accounts
        self.documents = accounts
        self.seed = seed
        self._key = hashlib.blake2b(f"p2c-generator:{seed}".encode(), digest_size=32).digest()
        self._countries = _weighted(_COUNTRIES)
        self._days = tuple(
            time.strftime("%Y-%m-%d", time.gmtime((_FIRST_DAY + d) * 86400)) for d in range(_DAYS)
        )
        self._times = tuple(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
        self._planted = self._plant()

    # ids ------------------------------------------------------------------------------------
    def id(self, table: str, index: int) -> str:
        """The id of row `index` of `table`: a version-4 UUID in canonical lower-case text."""
        return self._id_for(table[:2].encode())(index)

    def _id_for(self, tag: bytes) -> Callable[[int], str]:
        blake2b = hashlib.blake2b
        key = self._key
        from_bytes = int.from_bytes
        clear = ~((0xF000 << 64) | (0xC000 << 48))
        set_ = (4 << 76) | (0x8000 << 48)

        def make(index: int) -> str:
            n = from_bytes(
                blake2b(tag + index.to_bytes(8, "little"), digest_size=16, key=key).digest(), "big"
            )
            x = "%032x" % ((n & clear) | set_)
            return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

        return make

    def _rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}:{table}")

    def _createdon(self, rnd: Callable[[], float]) -> str:
        if rnd() < _TIE_SHARE:
            return _IMPORT_STAMPS[int(rnd() * len(_IMPORT_STAMPS))]
        return f"{self._days[int(rnd() * _DAYS)]} {self._times[int(rnd() * 86400)]}"

    # accounts -------------------------------------------------------------------------------
    def _plant(self) -> dict[int, str]:
        pairs = planted_collisions(self.accounts)
        values = [v for _, a, b in pairs for v in (a, b)]
        values += ["", "   "] * collision_groups(self.accounts)  # blanks, whatever the luck
        rng = self._rng("planted")
        positions = rng.sample(range(self.accounts), min(self.accounts, len(values)))
        return dict(zip(positions, values, strict=False))

    def account_chunks(self, chunk: int = CHUNK_ROWS) -> Iterator[list[Row]]:
        rng = self._rng("account")
        rnd = rng.random
        make_id = self._id_for(b"ac")
        countries, ncountries = self._countries, len(self._countries)
        cities, ncities = _CITIES, len(_CITIES)
        f1, n1 = _COMPANY_FIRST, len(_COMPANY_FIRST)
        f2, n2 = _COMPANY_SECOND, len(_COMPANY_SECOND)
        f3, n3 = _COMPANY_SUFFIX, len(_COMPANY_SUFFIX)
        planted = self._planted
        createdon = self._createdon
        rows: list[Row] = []
        for i in range(self.accounts):
            r = rnd()
            if r < 0.20:
                number: str | None = f"CUST-{i:07d}"
            elif r < 0.203:
                number = ""
            elif r < 0.206:
                number = "   "
            else:
                number = None
            if i in planted:
                number = planted[i]
            name = f"{f1[int(rnd() * n1)]} {f2[int(rnd() * n2)]} {f3[int(rnd() * n3)]}".rstrip()
            rows.append((
                make_id(i), name, number, countries[int(rnd() * ncountries)],
                cities[int(rnd() * ncities)], 1 if rnd() < 0.1 else 0, createdon(rnd),
            ))
            if len(rows) >= chunk:
                yield rows
                rows = []
        if rows:
            yield rows

    # contacts -------------------------------------------------------------------------------
    def contact_chunks(self, chunk: int = CHUNK_ROWS) -> Iterator[list[Row]]:
        rng = self._rng("contact")
        rnd = rng.random
        make_id = self._id_for(b"co")
        account_id = self._id_for(b"ac")
        countries, ncountries = self._countries, len(self._countries)
        fn, nfn = _FIRST_NAMES, len(_FIRST_NAMES)
        ln, nln = _LAST_NAMES, len(_LAST_NAMES)
        accounts, contacts = self.accounts, self.contacts
        createdon = self._createdon
        rows: list[Row] = []
        for i in range(contacts):
            r = rnd()
            if r < 0.60:
                parent: str | None = account_id(int(rnd() * accounts))
                ptype: str | None = "account"
            elif r < 0.75 and contacts > 1:
                j = int(rnd() * (contacts - 1))
                parent = make_id(j if j < i else j + 1)  # any other contact
                ptype = "contact"
            else:
                parent = ptype = None
            first = None if rnd() < 0.02 else fn[int(rnd() * nfn)]
            rows.append((
                make_id(i), first, ln[int(rnd() * nln)], parent, ptype,
                countries[int(rnd() * ncountries)], 1 if rnd() < 0.1 else 0, createdon(rnd),
            ))
            if len(rows) >= chunk:
                yield rows
                rows = []
        if rows:
            yield rows

    # quotes, orders, invoices ---------------------------------------------------------------
    def document_chunks(self, table: str, chunk: int = CHUNK_ROWS) -> Iterator[list[Row]]:
        rng = self._rng(table)
        rnd = rng.random
        make_id = self._id_for(table[:2].encode())
        account_id = self._id_for(b"ac")
        contact_id = self._id_for(b"co")
        states = DOCUMENT_STATES[table]
        accounts, contacts = self.accounts, self.contacts
        createdon = self._createdon
        rows: list[Row] = []
        for i in range(self.documents):
            if rnd() < 0.70:
                customer, ctype = account_id(int(rnd() * accounts)), "account"
            else:
                customer, ctype = contact_id(int(rnd() * contacts)), "contact"
            rows.append((make_id(i), customer, ctype, int(rnd() * states), createdon(rnd)))
            if len(rows) >= chunk:
                yield rows
                rows = []
        if rows:
            yield rows

    def organization_chunks(self) -> Iterator[list[Row]]:
        yield [(self._id_for(b"or")(0), False)]

    def chunks(self, table: str, chunk: int = CHUNK_ROWS) -> Iterator[list[Row]]:
        if table == "account":
            return self.account_chunks(chunk)
        if table == "contact":
            return self.contact_chunks(chunk)
        if table == "organization":
            return self.organization_chunks()
        return self.document_chunks(table, chunk)

    def count(self, table: str) -> int:
        return {"account": self.accounts, "contact": self.contacts,
                "organization": 1}.get(table, self.documents)


# --------------------------------------------------------------------------------------------
# Loading


def _copy_text(rows: list[Row]) -> str:
    """COPY text format; no value holds a tab, newline or backslash (see the word lists)."""
    out = []
    for row in rows:
        out.append("\t".join(
            "\\N" if v is None else ("t" if v is True else "f" if v is False else str(v))
            for v in row
        ))
    out.append("")
    return "\n".join(out)


def _load_postgres(db: Database, data: SalesData, progress: Progress,
                   summary: GenerateSummary) -> None:
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("SET synchronous_commit TO off")
        raw.commit()
        for table in TABLES:
            cols = ", ".join(COLUMNS[table])
            with progress.bar(data.count(table), f"generate {table}") as bar:
                with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for rows in data.chunks(table):
                        copy.write(_copy_text(rows))
                        setattr(summary, table, getattr(summary, table) + len(rows))
                        bar.update(len(rows))
                raw.commit()
        with raw.cursor() as cur:
            for table in TABLES:
                cur.execute(f"ANALYZE {table}")
        raw.commit()


def _load_sqlite(db: Database, data: SalesData, progress: Progress,
                 summary: GenerateSummary) -> None:
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA cache_size = -262144")  # 256 MiB for this connection's index inserts
        for table in TABLES:
            cols = COLUMNS[table]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            fix = _sqlite_fixer(table)
            with progress.bar(data.count(table), f"generate {table}") as bar:
                raw.execute("BEGIN IMMEDIATE")
                try:
                    for rows in data.chunks(table):
                        raw.executemany(sql, fix(rows) if fix else rows)
                        setattr(summary, table, getattr(summary, table) + len(rows))
                        bar.update(len(rows))
                    raw.execute("COMMIT")
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
        raw.execute("ANALYZE")


def _sqlite_fixer(table: str) -> Callable[[list[Row]], list[Row]] | None:
    """SQLAlchemy keeps DATETIME on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff': store the same."""
    if table == "organization":
        return None
    last = len(COLUMNS[table]) - 1  # createdon is the last column

    def fix(rows: list[Row]) -> list[Row]:
        return [r[:last] + (f"{r[last]}.000000",) for r in rows]

    return fix


def _check_empty(db: Database) -> None:
    with db.engine.connect() as conn:
        for table in TABLES:
            if conn.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():
                raise P2CError(
                    f"table {table} already holds rows: the generator loads empty Sales tables only"
                )


def generate(db: Database, accounts: int, *, seed: int = 0, progress: bool = False
             ) -> GenerateSummary:
    """Load N accounts, 2N contacts, N quotes, N salesorders, N invoices and one organization."""
    if db.read_only:
        raise P2CError("the database is opened read-only: cannot generate data")
    data = SalesData(accounts, seed)
    started = time.perf_counter()
    summary = GenerateSummary()
    with translate_errors(db):
        sales_metadata().create_all(db.engine, checkfirst=True)
        _check_empty(db)
        bars = Progress(enabled=progress, quiet=not progress)
        if db.dialect_impl.copy_in:
            _load_postgres(db, data, bars, summary)
        else:
            _load_sqlite(db, data, bars, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def ensure_schema(url: str | None, schema: str) -> None:
    """Create the PostgreSQL schema `schema` where missing (nothing on SQLite)."""
    from p2c_upgrade.db.connection import parse_url, resolve_url

    parsed = parse_url(resolve_url(url))
    impl = dialect_for(parsed.get_backend_name())
    if not impl.has_schemas:
        return
    engine = sa.create_engine(parsed)
    try:
        with translate_errors(None), engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {impl.quote(schema)}"))
    finally:
        engine.dispose()
