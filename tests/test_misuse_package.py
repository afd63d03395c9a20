"""Misuse of a package directory (issue 13, items 7, 8, 13 and the zip names of 15): planted
links, the operator's own files, two syncs into one directory, 100 and more zips."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from click.testing import CliRunner, Result
from test_sync_package import NS, check_zip, parse_utf16

from p2c_upgrade.cli import main
from p2c_upgrade.config import Config
from p2c_upgrade.sync.targets.package_dir import DirectoryLock

from conftest import SalesDb
from sync_fixtures import dataset, load, package_zips, sync


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def files_of(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()}


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_planted_links_are_not_followed(sqlite_db: SalesDb, tmp_path: Path) -> None:
    load(sqlite_db, *dataset(6))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    victims = {name: tmp_path / f"victim{i}.txt" for i, name in enumerate(
        [".p2c-initial-sync-01.zip.tmp", ".p2c-package-index.json.tmp"])}
    for name, victim in victims.items():
        victim.write_text("the operator's file")
        (pkg / name).symlink_to(victim)
    result = invoke(["sync", *sqlite_db.args, "--no-progress", "--target", f"package:{pkg}"])
    assert result.exit_code == 0, result.output
    assert all(v.read_text() == "the operator's file" for v in victims.values())
    assert [p.name for p in package_zips(f"package:{pkg}")] == ["p2c-initial-sync-01.zip"]
    assert not [p for p in pkg.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]
    # the writer's own fixed names must be its own regular files
    index = pkg / ".p2c-package-index.json"
    index.unlink()
    index.symlink_to(victims[".p2c-initial-sync-01.zip.tmp"])
    line = one_line_error(invoke(["sync", *sqlite_db.args, "--no-progress", "--target",
                                  f"package:{pkg}"]), 1)
    assert "symbolic link" in line
    assert all(v.read_text() == "the operator's file" for v in victims.values())


def test_only_the_files_it_wrote_are_deleted(sqlite_db: SalesDb, tmp_path: Path) -> None:
    load(sqlite_db, *dataset(10))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    mine = {"p2c-initial-sync-01-backup.zip": b"backup", "p2c-initial-sync-77.zip": b"old"}
    for name, data in mine.items():
        (pkg / name).write_bytes(data)
    target = f"package:{pkg}"
    config = tmp_path / "p2c.toml"
    for max_rows in (4, 1000):  # several parts, then one: the stale parts go
        config.write_text(f"[sync]\npackage_max_rows = {max_rows}\n")
        result = invoke(["sync", *sqlite_db.args, "--no-progress", "--target", target,
                         "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert {n: (pkg / n).read_bytes() for n in mine} == mine
    assert sorted(p.name for p in pkg.glob("*.zip")) == sorted(
        [*mine, "p2c-initial-sync-01.zip"])


def test_a_package_directory_belongs_to_one_sales_database(sales_db: SalesDb,
                                                           second_db: SalesDb,
                                                           tmp_path: Path) -> None:
    load(sales_db, *dataset(6))
    load(second_db, *dataset(8))
    pkg = tmp_path / "pkg"
    target = ["--no-progress", "--target", f"package:{pkg}"]
    assert invoke(["sync", *sales_db.args, *target]).exit_code == 0
    before = files_of(pkg)
    line = one_line_error(invoke(["sync", *second_db.args, *target]), 2)
    assert "another Sales database" in line
    assert files_of(pkg) == before
    assert invoke(["sync", *sales_db.args, *target]).exit_code == 0  # its own sync goes on
    assert files_of(pkg) == before


def test_a_package_directory_takes_one_sync_at_a_time(sqlite_db: SalesDb,
                                                      tmp_path: Path) -> None:
    load(sqlite_db, *dataset(6))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    lock = DirectoryLock(pkg).acquire()  # another sync, from another database, is writing
    try:
        line = one_line_error(invoke(["sync", *sqlite_db.args, "--no-progress", "--target",
                                      f"package:{pkg}"]), 4)
        assert "another sync" in line and str(pkg) in line
        assert not package_zips(f"package:{pkg}")
    finally:
        lock.release()
    assert invoke(["sync", *sqlite_db.args, "--no-progress", "--target", f"package:{pkg}"]
                  ).exit_code == 0


def test_more_than_99_zips_sort_in_import_order(sqlite_db: SalesDb, tmp_path: Path) -> None:
    load(sqlite_db, *dataset(45))
    target = f"package:{tmp_path / 'pkg'}"
    sync(sqlite_db, target, Config(package_max_rows=1))
    zips = package_zips(target)  # in name order
    assert len(zips) >= 100
    numbers = []
    for path in zips:
        check_zip(path)
        with zipfile.ZipFile(path) as zf:
            group = parse_utf16(zf.read("PackageHeader.xml")).findtext(f"{NS}Description", "")
        numbers.append(int(group.split()[-3]))
    assert numbers == list(range(1, len(zips) + 1))
    assert zips[0].name == "p2c-initial-sync-001.zip"
