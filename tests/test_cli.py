"""The ``renshi`` command line as an operator runs it: a real process on a real database.

Each test runs the command it is about as a real process; the commands that set the scene
or read it back go through the same entry point in this process (tests/cli.py)."""

from __future__ import annotations

import json
import subprocess

import pytest
from sqlalchemy import Engine, text

from states.processes.title_review.seed import declaration
from states.seed import demo_teacher
from states.store.db import make_engine
from tests.cli import renshi_here as here
from tests.cli import renshi_process as run

AT = ("--at", "2026-09-01T09:00")


def _seeded(db_url: str) -> Engine:
    """A province of 200 teachers, seeded the way an operator does it."""
    assert here(db_url, "seed", "--teachers", "200").returncode == 0
    return make_engine(db_url)


def _declare(
    db_url: str, engine: Engine, *, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """The demo teacher declares for 高级 in their subject and submits, on 1 September."""
    with engine.connect() as conn:
        form = declaration(demo_teacher(conn).subject, statement="述职报告")
    args = ("case", "start", "title_review", "--as", "teacher", "--submit")
    return (run if process else here)(
        db_url, *AT, *args, "--form", json.dumps(form, ensure_ascii=False)
    )


def test_case_commands_and_audit_verify(db_url: str) -> None:
    """Declare and approve through the CLI; then a changed audit row fails verification."""
    engine = _seeded(db_url)
    started = _declare(db_url, engine, process=True)
    assert started.returncode == 0, started.stderr
    assert "「草稿」→「学校审核」" in started.stdout

    wrong = here(db_url, *AT, "case", "fire", "1", "appoint", "--as", "school_officer")
    assert wrong.returncode == 1 and "可执行" in wrong.stderr
    stale = here(
        db_url,
        *AT,
        "case",
        "fire",
        "1",
        "school_approve",
        "--as",
        "school_officer",
        "--version",
        "1",
    )
    assert stale.returncode == 1 and "版本" in stale.stderr
    bad = here(db_url, *AT, "case", "fire", "1", "send_back", "--as", "school_officer")
    assert bad.returncode == 1 and "[reason]" in bad.stderr
    ok = here(db_url, *AT, "case", "fire", "1", "school_approve", "--as", "school_officer")
    assert ok.returncode == 0 and "校内公示" in ok.stdout

    from states.engine import CaseEngine
    from states.processes import installed
    from states.store.people import load_actor

    with engine.connect() as conn:
        officer = load_actor(conn, username="school_officer")
    CaseEngine(engine, installed()).comment(1, officer, "请补充论文原件")  # outside the machine
    shown = here(db_url, "case", "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert "校内公示" in shown.stdout and "学校审核通过" in shown.stdout
    assert "发表意见" in shown.stdout
    verified = here(db_url, "audit", "verify")
    assert verified.returncode == 0 and "审计链完整" in verified.stdout

    with engine.begin() as conn:  # someone edits the record of the school's decision
        conn.execute(
            text("update audit_events set actor_label = '校长' where case_id = 1 and seq = 3")
        )
    broken = run(db_url, "audit", "verify")
    assert broken.returncode == 1
    assert "事项1 第3条（school_approve）" in broken.stderr
    engine.dispose()


def test_deleted_last_audit_row_is_detected(db_url: str) -> None:
    engine = _seeded(db_url)
    assert _declare(db_url, engine).returncode == 0
    with engine.begin() as conn:
        conn.execute(text("delete from audit_events where case_id = 1 and seq = 2"))
    broken = run(db_url, "audit", "verify")
    assert broken.returncode == 1 and "事项1" in broken.stderr
    engine.dispose()


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [("state", "appointed", "事项状态「appointed」"), ("version", "7", "事项版本7")],
)
def test_a_case_row_changed_alone_is_detected(
    db_url: str, column: str, value: str, said: str
) -> None:
    """The case row is proven from its chain: a state or version set apart from the events
    (someone "appointing" a teacher in the database) breaks verification."""
    engine = _seeded(db_url)
    assert _declare(db_url, engine).returncode == 0
    assert here(db_url, "audit", "verify").returncode == 0
    with engine.begin() as conn:
        conn.execute(text(f"update cases set {column} = :v where id = 1"), {"v": value})
    broken = run(db_url, "audit", "verify")
    assert broken.returncode == 1 and said in broken.stderr, broken.stderr
    engine.dispose()
