"""The demo `make run` builds works on whatever day it first runs: its story is dated back
from that day, so in January (a story that began in December, a year whose holidays are not
built in) and in May (before the usual September notice) every printed account still finds
its work — the teachers can declare today, the school and county officers each have a case
that reached them yesterday and is not overdue, the expert a seat on a sitting committee,
and the round walked through ended in an appointment."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from api import demo
from api.cli import main as cli
from states.clock import local_date
from states.processes.title_review import seed as title_review
from states.processes.title_review.tables import TitleReviewYear
from states.processes.title_review.years import OPEN, status
from states.seed.province import DEMO_DECLARES
from states.store.db import make_engine, reader
from states.store.models import Case, PanelSeat, Person, Task, Teacher

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize("today", [dt.date(2027, 1, 20), dt.date(2027, 5, 10)])
def test_the_demo_story_ends_on_the_day_it_runs(
    db_url: str, today: dt.date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RENSHI_DATABASE_URL", url)
    demo.walk(today)
    db = make_engine(url)
    try:
        with reader(db).connect() as conn:
            years = conn.execute(select(TitleReviewYear)).all()
            open_now = [
                y.year
                for y in years
                if status(y.opens_on, y.closes_on, y.closed_at is not None, today) == OPEN
            ]
            assert open_now == [today.year]
            first = conn.execute(select(Case.state).where(Case.id == 1)).scalar_one()
            assert first == "appointed"
            for role in ("school_officer", "county_officer"):
                due = conn.execute(
                    select(Task.due_on)
                    .join(Case, Case.id == Task.case_id)
                    .where(
                        Case.process == "title_review",
                        Task.status == "open",
                        Task.kind == "act",
                        Task.role == role,
                    )
                ).scalars()
                assert [d >= today for d in due] == [True], f"{role}: one declaration, on time"
            expert = conn.execute(select(Person.id).where(Person.username == "expert")).scalar()
            seated = conn.execute(select(PanelSeat.case_id).where(PanelSeat.expert_id == expert))
            assert list(seated.scalars())
            teachers = conn.execute(
                select(Person.username, Teacher.subject)
                .join(Teacher, Teacher.person_id == Person.id)
                .where(Person.username.in_(list(DEMO_DECLARES)))
            ).all()
        assert {t.username for t in teachers} == set(DEMO_DECLARES)
        at = dt.datetime(today.year, today.month, today.day, 10, tzinfo=demo.BUREAU_TZ)
        assert local_date(at) == today
        for username, subject in teachers:
            form = title_review.declaration(subject, title=DEMO_DECLARES[username])
            argv = ["--at", at.isoformat(), "case", "start", "title_review", "--as", username,
                    "--submit", "--form", json.dumps(form, ensure_ascii=False)]  # fmt: skip
            try:
                cli.main(args=argv, prog_name="renshi", standalone_mode=False)
            except SystemExit as exc:
                pytest.fail(f"{username} 无法在 {today} 申报（退出码 {exc.code}）")
    finally:
        db.dispose()
