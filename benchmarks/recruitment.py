"""A provincial recruitment round: 200,000 applicants over 2,000 posts.

Timed: the applicant import as the API does it (read the .xlsx, validate every cell, check
eligibility, create the cases set-based), the shortlist of all posts and the ranking of all
posts. The rest of the round (plans, qualification, scores) is set-up.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

from sqlalchemy import text

from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.identity import make_id_number
from states.org import CITY_OFFICER, COUNTY_OFFICER, SYSTEM_ACTOR
from states.processes import installed
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment import steps as rec
from states.processes.recruitment.sheets import APPLICANTS
from states.seed import seed
from states.seed.builders import counties, stand_in, units
from states.sheets import read_table, validate
from states.store.people import load_actor

LEVELS = ("primary", "junior", "senior")
CERT = {"primary": "小学", "junior": "初级中学", "senior": "高级中学"}


def run(path: Path, *, applicants: int, posts: int) -> dict[str, float]:
    db = fresh_db(path)
    seed(db, 60_000)
    clock = FrozenClock(bureau_time(2026, 3, 2))
    engine = CaseEngine(db, installed(), clock)
    rng = random.Random(7)
    with db.begin() as conn:
        round_id = recruitment.new_round(conn, 1, "基准招聘", recruitment.SPRING)
        places = counties(conn)
        province = load_actor(conn, username="province_officer")
        city = load_actor(conn, username="city_officer")
        # every city selects for its own counties; one officer acting for all keeps this short
        city = stand_in(city.person_id, CITY_OFFICER, units(conn, "city"), label=city.name)
    per_county = -(-posts // len(places))
    codes: list[tuple[str, str]] = []
    for i, county in enumerate(places):
        officer = stand_in(province.person_id, COUNTY_OFFICER, [county.unit], label="县人事股")
        batch = []
        for j in range(per_county):
            if len(codes) >= posts:
                break
            level = LEVELS[j % 3]
            code = f"P{i:03d}{j:04d}"
            count = rng.randint(2, 8)
            codes.append((code, level))
            batch.append(
                recruitment.post(code, {county.school: count}, subject="数学", level=level)
            )
        if not batch:
            continue
        plan = rec.declare_plan(engine, officer, round_id, county.id, batch)
        recruitment.approve_plan(engine, plan, submitted_by=officer)
    rows = []
    for n in range(applicants):
        code, level = codes[n % len(codes)]
        birth = dt.date(1992, 1, 1) + dt.timedelta(days=n // 400)  # 400 a day: IDs stay unique
        rows.append(
            {
                "id_number": make_id_number("110101", birth, (n % 400) * 2, "F" if n % 2 else "M"),
                "name": f"考生{n}",
                "phone": f"13{n % 10}{n:08d}"[:11],
                "education": "本科",
                "cert_level": CERT[level],
                "post_code": code,
            }
        )
    sheet = recruitment.applicant_sheet(rows)

    t0 = time.perf_counter()
    checked = validate(read_table(sheet, "报名.xlsx", schema=APPLICANTS), APPLICANTS)
    report = rec.register_many(engine, province, round_id, checked.rows)
    import_s = time.perf_counter() - t0
    assert report.created == applicants and not checked.errors, (
        report.errors[:3],
        checked.errors[:3],
    )

    rec.qualify_all(engine, SYSTEM_ACTOR, round_id)
    with db.connect() as conn:
        ids = conn.execute(text("select id_number from applicants")).scalars().all()
    rec.record_scores(
        engine,
        SYSTEM_ACTOR,
        round_id,
        "written",
        [(i, round(rng.uniform(40, 100), 1)) for i in ids],
    )
    t0 = time.perf_counter()
    short = rec.shortlist(engine, city, round_id)
    shortlist_s = time.perf_counter() - t0
    with db.connect() as conn:
        through = (
            conn.execute(
                text(
                    "select a.id_number from applicants a join cases c on c.id = a.case_id "
                    "where c.state = 'shortlisted'"
                )
            )
            .scalars()
            .all()
        )
    rec.record_scores(
        engine,
        SYSTEM_ACTOR,
        round_id,
        "interview",
        [(i, round(rng.uniform(60, 95), 1)) for i in through],
    )
    t0 = time.perf_counter()
    ranked = rec.rank(engine, city, round_id)
    ranking_s = time.perf_counter() - t0
    db.dispose()
    return {
        "recruit_import_200k_s" if applicants >= 200_000 else "recruit_import_s": round(
            import_s, 2
        ),
        "recruit_shortlist_s": round(shortlist_s, 2),
        "recruit_shortlisted": short["shortlisted"],
        "recruit_ranking_s": round(ranking_s, 2),
        "recruit_to_physical": ranked["to_physical"],
    }
