"""What the declared visibility costs a case read through the API, in one run.

The cases are walked past a committee sitting and into an objection, the most a filter has to
do: restricted payloads to leave out, committee members to anonymise in the trail and the
tasks. Each case's applicant — the reader the filter works hardest for — reads the case and
its audit trail through the real app (routing, sign-in, scope, serialisation), alternately
with the product's filtered read and with the same app reading unfiltered (``case_file``
swapped for the plain reads it wraps), in interleaved rounds so the machine's noise falls on
both alike. The app is driven in process, without a socket: the request costs less than it
does over uvicorn, so the filter's share comes out larger, never smaller, than it would be
on the wire.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select

import api.routes
from api.app import create_app
from api.auth import AuthConfig, Credential, issue_token
from api.deps import Services
from api.files import FileStore
from benchmarks.fire import prepare
from states.clock import FrozenClock
from states.engine import CaseEngine
from states.engine.visibility import OMNISCIENT, CaseFile, case_file
from states.errors import RenshiError
from states.org import CITY_OFFICER, COUNTY_OFFICER, PUBLIC_ACTOR, SCHOOL_OFFICER
from states.process.spec import ProcessSpec
from states.seed.builders import Unit, close_window, fire_current, seated, stand_in
from states.store import queries
from states.store.models import Case, OrgUnit, Person, table_of
from states.store.people import load_actor

cases_t, units_t, people_t = table_of(Case), table_of(OrgUnit), table_of(Person)


def plain_case_file(
    conn: Connection,
    processes: Mapping[str, ProcessSpec],
    actor: Any,
    case_id: int,
    *,
    with_trail: bool = False,
) -> CaseFile | None:
    """The reads ``case_file`` wraps, with nothing filtered: the before of this benchmark
    (the same statements: before the filter the route asked for the copy's state itself)."""
    open_ = queries.OPEN_STATUSES
    row = queries.get_case(conn, actor, case_id)
    if row is None:
        return None
    trail = (
        [
            {**e, "payload": json.loads(e["payload"]), "redacted": False}
            for e in queries.audit_trail(conn, case_id)
        ]
        if with_trail
        else []
    )
    return CaseFile(
        row=row,
        spec=processes[row["process"]],
        viewer=OMNISCIENT,
        data=row["data"] or {},
        tasks=[t for t in queries.case_tasks(conn, case_id) if t["status"] in open_],
        trail=trail,
    )


def _units(conn: Connection, case_id: int) -> tuple[Unit, Unit, Unit]:
    """The case's school, county and city."""
    path = conn.execute(select(cases_t.c.org_path).where(cases_t.c.id == case_id)).scalar_one()
    ids = [int(x) for x in path.strip("/").split("/")]
    rows = conn.execute(select(units_t.c.id, units_t.c.path).where(units_t.c.id.in_(ids)))
    found: dict[int, str] = {r.id: r.path for r in rows}
    school, county, city = ids[-1], ids[-2], ids[-3]
    return Unit(school, found[school]), Unit(county, found[county]), Unit(city, found[city])


def _walk(eng: CaseEngine, clock: FrozenClock, case_ids: list[int]) -> list[int]:
    """Every case through the school, the county's check (a committee drawn), every vote,
    the sitting's close and an objection, step by step for all cases together so that the
    clock moves once per step. Cases whose school's posts or subject's experts run out stay
    behind; the rest are returned."""
    with eng.db.connect() as conn:
        units = {c: _units(conn, c) for c in case_ids}

    def each(ids: list[int], step: Callable[[int], object]) -> list[int]:
        done = []
        for c in ids:
            try:
                step(c)
            except RenshiError:
                continue
            done.append(c)
        return done

    def officer(c: int, role: str, level: int) -> Any:
        return stand_in(None, role, [units[c][level]])

    ids = each(
        case_ids, lambda c: fire_current(eng, c, "school_approve", officer(c, SCHOOL_OFFICER, 0))
    )
    ids = each(ids, lambda c: close_window(eng, clock, c))
    ids = each(
        ids, lambda c: fire_current(eng, c, "recommend", officer(c, SCHOOL_OFFICER, 0)) and None
    )
    ids = each(
        ids, lambda c: fire_current(eng, c, "qualify", officer(c, COUNTY_OFFICER, 1)) and None
    )

    def vote_all(c: int) -> None:
        with eng.db.connect() as conn:
            voters = [load_actor(conn, person_id=p) for p in seated(eng.db, c)]
        for voter in voters:
            fire_current(eng, c, "vote", voter, {"choice": "yes"})

    ids = each(ids, vote_all)
    ids = each(
        ids, lambda c: fire_current(eng, c, "close_sitting", officer(c, CITY_OFFICER, 2)) and None
    )
    objection = {
        "content": "业绩材料与事实不符",
        "contact_name": "张三",
        "contact_phone": "13800138000",
    }
    return each(
        ids, lambda c: fire_current(eng, c, "raise_objection", PUBLIC_ACTOR, objection) and None
    )


def _tokens(db: Engine, case_ids: list[int], cfg: AuthConfig, clock: FrozenClock) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            select(people_t.c.id, people_t.c.session_generation)
            .join(cases_t, cases_t.c.applicant_id == people_t.c.id)
            .where(cases_t.c.id.in_(case_ids))
            .order_by(cases_t.c.id)
        ).all()
    return [issue_token(Credential(r.id, r.session_generation), clock.now(), cfg) for r in rows]


def _round(client: TestClient, jobs: list[tuple[int, str]]) -> float:
    """Requests per second over one pass of every case's detail and trail."""
    t0 = time.perf_counter()
    for case_id, token in jobs:
        headers = {"Authorization": f"Bearer {token}"}
        for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/audit"):
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
    return 2 * len(jobs) / (time.perf_counter() - t0)


def run(path: Path, *, teachers: int, cases: int, rounds: int = 8) -> dict[str, float]:
    db, eng, case_ids = prepare(path, teachers, cases)
    clock = eng.clock
    assert isinstance(clock, FrozenClock)
    walked = _walk(eng, clock, case_ids)
    if not walked:
        raise SystemExit("no case could be walked to a committee")
    cfg = AuthConfig(secret=b"bench-secret-bench-secret-0123456789")
    svc = Services(
        db=db, engine=eng, clock=clock, auth=cfg, files=FileStore(path.with_suffix(".files"))
    )
    jobs = list(zip(walked, _tokens(db, walked, cfg, clock), strict=True))
    modes: dict[str, Callable[..., CaseFile | None]] = {
        "filtered": case_file,
        "plain": plain_case_file,
    }
    rates: dict[str, list[float]] = {m: [] for m in modes}
    with TestClient(create_app(svc)) as client:
        for reader in modes.values():  # warm both paths
            api.routes.case_file = reader  # type: ignore[attr-defined]
            _round(client, jobs[:10])
        try:
            for n in range(rounds):  # ABBA: whichever runs second in a round gains nothing
                order = list(modes.items()) if n % 2 == 0 else list(modes.items())[::-1]
                for mode, reader in order:
                    api.routes.case_file = reader  # type: ignore[attr-defined]
                    rates[mode].append(_round(client, jobs))
        finally:
            api.routes.case_file = case_file  # type: ignore[attr-defined]
    filtered, plain = (statistics.median(rates[m]) for m in ("filtered", "plain"))
    db.dispose()
    return {
        "visibility_read_cases": len(walked),
        "visibility_reads_per_s": round(filtered, 1),
        "plain_reads_per_s": round(plain, 1),
        # the share of read throughput the filter costs: 1 - filtered / plain (below zero:
        # within the noise of the run)
        "visibility_http_cost": round(1 - filtered / plain, 4),
    }


if __name__ == "__main__":
    import sys
    import tempfile

    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp) / "vis.db", teachers=20_000, cases=60 if quick else 200))
