"""``make bench``: run every benchmark, print a table, write benchmarks/results.json.

Benchmarks report; they never fail the test suite. ``--quick`` shrinks every size so the
whole run takes well under two minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from benchmarks import (
    compliance,
    dossier,
    fire,
    http,
    ledger,
    pg,
    recruitment,
    registration,
    roster,
    rotation,
    spiff,
    support_teaching,
    sweeps,
    task_book,
    visibility,
)
from states.seed.province import load_province, write_province
from states.store.db import make_engine
from states.store.migrate import upgrade

RESULTS = Path(__file__).parent / "results.json"


def bench_seed(path: Path, teachers: int) -> tuple[float, float]:
    """The demo province as the seed builds it (its five files written, then loaded through
    the registry's imports): (all of it, the files alone), in seconds."""
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    with tempfile.TemporaryDirectory(prefix="renshi-seed-") as tmp:
        t0 = time.perf_counter()
        files = write_province(Path(tmp), teachers)
        written = time.perf_counter() - t0
        load_province(db, files, demo_password="renshi2026", as_of=dt.date(2026, 8, 31))
        elapsed = time.perf_counter() - t0
    db.dispose()
    return round(elapsed, 2), round(written, 2)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes")
    parser.add_argument(
        "--only",
        choices=sorted(ONLY),
        help="run one benchmark and merge its figures into results.json",
    )
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, float] = {}
    if args.only:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        fresh = ONLY[args.only](quick)
        results.update(fresh)
        write(results, shown=fresh)
        return
    with tempfile.TemporaryDirectory(prefix="renshi-bench-") as tmp:
        work = Path(tmp)
        # The audit key ring of this run (shared with the benchmark's server processes).
        os.environ.setdefault("RENSHI_AUDIT_KEYS", str(work / "audit-keys"))
        results.update(
            fire.run(
                work / "fire.db",
                teachers=20_000 if quick else 60_000,
                cases=600 if quick else 3_000,
            )
        )
        results.update(
            http.run(
                work / "http.db",
                teachers=100_000 if quick else 250_000,
                cases=6_000 if quick else 16_000,
                seconds=1 if quick else 3,
            )
        )
        results.update(
            visibility.run(
                work / "visibility.db",
                teachers=20_000 if quick else 60_000,
                cases=60 if quick else 400,
                rounds=4 if quick else 10,
            )
        )
        results.update(
            sweeps.run(
                work / "sweep.db",
                tasks=100_000 if quick else 1_000_000,
                due=1_000 if quick else 10_000,
                mails=200 if quick else 2_000,
            )
        )
        results.update(
            recruitment.run(
                work / "recruit.db",
                applicants=20_000 if quick else 200_000,
                posts=200 if quick else 2_000,
            )
        )
        results.update(
            registration.run(
                work / "register.db",
                registrations=3_000 if quick else 6_000,
                seconds=2 if quick else 4,
            )
        )
        results.update(rotation_figures(quick))
        results.update(task_book_figures(quick))
        results.update(support_teaching.figures(quick))
        results.update(dossier.figures(quick))
        results.update(ledger_figures(quick))
        results.update(compliance.figures(quick))
        results.update(spiff.run(work / "spiff.db", cases=50 if quick else 250))
        # a province's roster imported, then re-imported with 1% changed (each in its own
        # process, for its peak RSS); the two .xlsx readers timed over the same file
        results.update(roster.run(work / "roster.db", teachers_n=20_000 if quick else 600_000))
        results.update(
            pg.run(
                pg.bench_url(), teachers=20_000 if quick else 60_000, cases=800 if quick else 3_000
            )
        )
        # the seed is the import path: files written, then imported (the roster's import
        # is most of it; roster_import_600k_s above is that import alone)
        seed_n = 60_000 if quick else 600_000
        size = "60k" if quick else "600k"
        results[f"seed_{size}_s"], results[f"seed_{size}_files_s"] = bench_seed(
            work / "seed.db", seed_n
        )
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    write(results, shown=results)


def rotation_figures(quick: bool) -> dict[str, float]:
    """A county's rotation campaign: 10,000 eligible, 2,000 places (a tenth with --quick);
    its eligible list computed from a 600,000-teacher roster."""
    found = (
        rotation.run(teachers=1_000, places=200, schools=20)
        if quick
        else rotation.run(teachers=10_000, places=2_000, schools=200)
    )
    # the county's eligible list from a province's roster (20,000 teachers with --quick)
    return {**found, **rotation.eligibility_figures(quick)}


def task_book_figures(quick: bool) -> dict[str, float]:
    """A province's task boards: 100,000 tasks and 400,000 milestones (a tenth with --quick)."""
    with tempfile.TemporaryDirectory(prefix="renshi-bench-") as tmp:
        os.environ.setdefault("RENSHI_AUDIT_KEYS", str(Path(tmp) / "audit-keys"))
        return task_book.run(
            Path(tmp) / "tasks.db", tasks=10_000 if quick else 100_000, seconds=2 if quick else 5
        )


def ledger_figures(quick: bool) -> dict[str, float]:
    """Title review's declaration with the service ledger read, against without it."""
    with tempfile.TemporaryDirectory(prefix="renshi-bench-") as tmp:
        os.environ.setdefault("RENSHI_AUDIT_KEYS", str(Path(tmp) / "audit-keys"))
        return ledger.run(
            Path(tmp) / "ledger.db",
            teachers=20_000 if quick else 60_000,
            cases=600 if quick else 3_000,
        )


# The benchmarks ``--only`` can run alone (those needing no shared set-up).
ONLY = {
    "rotation": rotation_figures,
    "task_book": task_book_figures,
    "dossier": dossier.figures,
    "ledger": ledger_figures,
    "compliance": compliance.figures,
    "support_teaching": support_teaching.figures,
}


def write(results: dict[str, float], *, shown: dict[str, float]) -> None:
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    width = max(len(k) for k in shown)
    print(f"{'figure':<{width}}  value")
    for name, value in shown.items():
        print(f"{name:<{width}}  {value}")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
