"""A province's teacher roster: 600,000 teachers in 20,000 schools, imported from one .xlsx.

Timed, each in a process of its own so that its peak resident memory is the import's own:
- ``roster_import_600k_s``: the file read, every cell validated, people, teachers and one
  sealed history entry per teacher written (``roster_import_peak_rss_mb`` its peak RSS);
- ``roster_reimport_1pct_s``: the same file with 1% of the rows changed, imported again;
  ``roster_reimport_history`` counts the entries it wrote (exactly the changed rows).
The two .xlsx readers are timed over the same file (read and turned into text rows):
``roster_read_calamine_s`` (python-calamine, what the import uses) and
``roster_read_stream_s`` (the project's own expat reader).

Run alone: ``python -m benchmarks.roster [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from benchmarks.common import fresh_db
from states.clock import bureau_time
from states.identity import make_id_number
from states.org import PROVINCE_OFFICER, SUBJECTS, TITLES, Actor, Binding
from states.registry.history import file_ref
from states.registry.roster import import_roster
from states.registry.roster_sheet import MAX_ROWS, ROSTER, write_roster
from states.sheets import open_table
from states.store.db import make_engine
from states.store.models import OrgUnit, RecordChange, table_of

SCHOOLS_PER_COUNTY = 200
COUNTIES_PER_CITY = 10
TEACHERS_PER_SCHOOL = 30
AT = bureau_time(2026, 9, 1)
LEVELS = ("kindergarten", "primary", "primary", "junior", "senior", "vocational")
EDUCATION = ("associate", "bachelor", "bachelor", "bachelor", "master")


def build_province(db: Engine, schools: int) -> list[str]:
    """Province, cities, counties and ``schools`` schools (codes B00000 ...), written with
    executemany; returns the school codes."""
    units_t = table_of(OrgUnit)
    counties = max(1, -(-schools // SCHOOLS_PER_COUNTY))
    cities = max(1, -(-counties // COUNTIES_PER_CITY))
    rows: list[dict[str, Any]] = [
        {"id": 1, "parent_id": None, "tier": "province", "code": "BP", "name": "基准省",
         "path": "/1/"}
    ]  # fmt: skip
    next_id = 2
    county_rows: list[dict[str, Any]] = []
    for c in range(cities):
        city = {"id": next_id, "parent_id": 1, "tier": "city", "code": f"BC{c:02d}",
                "name": f"基准{c}市", "path": f"/1/{next_id}/"}  # fmt: skip
        rows.append(city)
        next_id += 1
        for _ in range(COUNTIES_PER_CITY):
            if len(county_rows) >= counties:
                break
            county = {"id": next_id, "parent_id": city["id"], "tier": "county",
                      "code": f"BX{len(county_rows):03d}", "name": f"基准{len(county_rows)}县",
                      "path": f"{city['path']}{next_id}/"}  # fmt: skip
            county_rows.append(county)
            rows.append(county)
            next_id += 1
    codes: list[str] = []
    for s in range(schools):
        county = county_rows[s // SCHOOLS_PER_COUNTY]
        code = f"B{s:05d}"
        codes.append(code)
        rows.append(
            {"id": next_id, "parent_id": county["id"], "tier": "school", "code": code,
             "name": f"基准第{s}学校", "path": f"{county['path']}{next_id}/"}
        )  # fmt: skip
        next_id += 1
    for r in rows:
        r.update(is_rural=False, is_weak=False, self_review_pilot=False, settings=None)
    with db.begin() as conn:
        conn.execute(insert(units_t), rows)
    return codes


def officer() -> Actor:
    return Actor(None, "省教育厅教师工作处（基准）", (Binding(PROVINCE_OFFICER, 1, "/1/"),))


def teachers(n: int, codes: list[str], *, changed: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` roster rows, the same for a seed; with ``changed``, every ``n // changed``-th
    row differs (a new title and its date, and a new mobile number)."""
    rng = random.Random(20260901)
    as_of = dt.date(2026, 8, 31)
    every = n // changed if changed else 0
    for i in range(n):
        female = rng.random() < 0.6
        birth = dt.date(1966, 1, 1) + dt.timedelta(days=i % 12_000)
        start = birth + dt.timedelta(days=int(365.25 * (21 + rng.random() * 3)))
        title = TITLES[min(4, int(rng.random() * 4.2))]
        joined = start + dt.timedelta(days=int((as_of - start).days * rng.random() * 0.5))
        row: dict[str, Any] = {
            "id_number": make_id_number(
                f"66{i % 90 + 10:02d}01", birth, (i // 12_000) * 2 % 1000, "F" if female else "M"
            ),
            "name": f"基准教师{i}",
            "gender": "F" if female else "M",
            "birth_date": birth,
            "school_code": codes[i // TEACHERS_PER_SCHOOL % len(codes)],
            "subject": SUBJECTS[i % 13],
            "school_level": LEVELS[i % len(LEVELS)],
            "title": title,
            "title_date": start + dt.timedelta(days=int((as_of - start).days * 0.6)),
            "education": EDUCATION[i % len(EDUCATION)],
            "started_teaching_on": start,
            "joined_school_on": joined,
            "rural_years": round(rng.random() * 3, 1),
            "backbone_level": "county" if i % 25 == 0 else None,
            "cert_level": LEVELS[i % len(LEVELS)],
            "cert_no": f"2001{i:011d}",
            "cert_registered_on": dt.date(2022, 3, 1),
            "phone": f"139{i:08d}",
            "ethics": ((dt.date(2024, 3, 1), "组织有偿补课"),) if i % 400 == 7 else (),
        }
        if every and i % every == 0:
            row["title"] = "senior" if title != "senior" else "full_senior"
            row["title_date"] = dt.date(2026, 7, 1)
            row["phone"] = f"137{i:08d}"
        yield row


def _import(db_path: str, sheet: str) -> dict[str, float]:
    """One import in this process: (seconds, peak RSS in MB, what it wrote)."""
    db = make_engine(f"sqlite:///{db_path}")
    t0 = time.perf_counter()
    table = open_table(sheet, sheet, schema=ROSTER, max_rows=MAX_ROWS)
    with open(sheet, "rb") as f:
        ref = file_ref(Path(sheet).name, f)
    with db.begin() as conn:
        report = import_roster(conn, table, actor=officer(), at=AT, source_ref=ref)
    elapsed = time.perf_counter() - t0
    assert not report.error_count, report.errors[:5]
    with db.connect() as conn:
        entries = conn.execute(
            select(func.count()).where(table_of(RecordChange).c.source_ref == ref)
        ).scalar_one()
    db.dispose()
    return {
        "seconds": round(elapsed, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "created": report.created,
        "updated": report.updated,
        "history": entries,
    }


def _in_process(db_path: Path, sheet: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.roster", "--import-into", str(db_path), str(sheet)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _read_seconds(sheet: Path, reader: str) -> float:
    t0 = time.perf_counter()
    table = open_table(sheet, sheet.name, schema=ROSTER, max_rows=MAX_ROWS, reader=reader)
    for _ in table.rows:
        pass
    return round(time.perf_counter() - t0, 2)


def run(path: Path, *, teachers_n: int) -> dict[str, float]:
    db = fresh_db(path)
    codes = build_province(db, max(1, teachers_n // TEACHERS_PER_SCHOOL))
    db.dispose()
    size = f"{teachers_n // 1000}k"
    changed = max(1, teachers_n // 100)
    with tempfile.TemporaryDirectory(prefix="renshi-roster-") as tmp:
        first, second = Path(tmp) / "教师名册.xlsx", Path(tmp) / "教师名册（更新）.xlsx"
        write_roster(first, teachers(teachers_n, codes))
        write_roster(second, teachers(teachers_n, codes, changed=changed))
        calamine = _read_seconds(first, "calamine")
        stream = _read_seconds(first, "stream")
        imported = _in_process(path, first)
        again = _in_process(path, second)
    assert imported["created"] == teachers_n, imported
    assert again["updated"] == again["history"] == changed, again
    return {
        f"roster_import_{size}_s": imported["seconds"],
        "roster_import_peak_rss_mb": imported["rss_mb"],
        "roster_reimport_1pct_s": again["seconds"],
        "roster_reimport_history": again["history"],
        "roster_read_calamine_s": calamine,
        "roster_read_stream_s": stream,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roster")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--import-into", nargs=2, metavar=("DB", "XLSX"))
    args = parser.parse_args()
    if args.import_into:
        print(json.dumps(_import(*args.import_into)))
        return
    with tempfile.TemporaryDirectory(prefix="renshi-bench-") as tmp:
        os.environ.setdefault("RENSHI_AUDIT_KEYS", str(Path(tmp) / "audit-keys"))
        results = run(Path(tmp) / "roster.db", teachers_n=20_000 if args.quick else 600_000)
    for name, value in results.items():
        print(f"{name}  {value}")


if __name__ == "__main__":
    main()
