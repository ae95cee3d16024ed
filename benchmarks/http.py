"""Transitions through HTTP against a bare endpoint issuing the same statements, same server.

One uvicorn worker (a separate process) on SQLite; wrk on loopback with 8 keep-alive
connections (a C load generator, so the client is never what is measured). Both sides
approve different title-review cases of the same database in interleaved rounds. The API
side goes through sign-in, data scope, the engine and the response model; the bare side runs
the same SQL and nothing else.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from api.auth import AuthConfig, Credential, issue_token
from benchmarks.fire import prepare
from states.clock import bureau_time
from states.org import SCHOOL_OFFICER
from states.seed.builders import Unit, add_person, bind
from states.store.models import Case

CLIENTS = 8
LUA = Path(__file__).with_name("approve.lua")


def _officer_tokens(db: Engine, case_ids: list[int], secret: str) -> dict[int, str]:
    """A school officer account per school that has a case, and a token for each case."""
    cfg = AuthConfig(secret=secret.encode())
    now = bureau_time(2026, 9, 1)
    with db.begin() as conn:
        rows = conn.execute(
            select(Case.id, Case.org_unit_id, Case.org_path).where(Case.id.in_(case_ids))
        ).all()
        schools = {r.org_unit_id: Unit(r.org_unit_id, r.org_path) for r in rows}
        officer: dict[int, str] = {}
        for school, unit in sorted(schools.items()):
            pid = add_person(conn, f"人事干部{school}")
            bind(conn, pid, SCHOOL_OFFICER, unit)
            officer[school] = issue_token(Credential(pid, gen=0), now, cfg)  # a new person
    return {r.id: officer[r.org_unit_id] for r in rows}


def _drive(
    url: str, jobs: list[tuple[str, str, str]], seconds: float, work: Path
) -> dict[str, float]:
    """Run wrk for ``seconds`` with CLIENTS connections over ``jobs`` (path, token, body);
    every job is a different case, so each completed request is one real transition."""
    jobs_file = work / f"jobs-{time.monotonic_ns()}.tsv"
    jobs_file.write_text("".join(f"{p}\t{t}\t{b}\n" for p, t, b in jobs))
    threads = 1
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{CLIENTS}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
            "--",
            str(jobs_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, errors, duration_us, p50, p99, _mean = line.split()[1:]
    if int(requests) > len(jobs):
        raise RuntimeError(f"wrk sent {requests} requests for {len(jobs)} cases: add cases")
    return {
        "per_s": int(requests) / (int(duration_us) / 1e6),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "errors": int(errors),
        "requests": int(requests),
    }


def run(path: Path, *, teachers: int, cases: int, seconds: float) -> dict[str, float]:
    """Rounds of the API, bare, and the API with the old plain audit hash, interleaved
    (order turned each round); ``cases`` must outlast the rounds. Besides the requests per
    second, the server's CPU seconds per request: the keyed seal's cost is a share of that,
    which the machine's other work does not blur."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the HTTP benchmark (Debian package 'wrk')")
    db, _, ids = prepare(path, teachers, cases)
    secret = secrets.token_hex(16)
    tokens = _officer_tokens(db, ids, secret)
    db.dispose()
    body = json.dumps({"event": "school_approve", "expected_version": 2})
    rounds = 2
    order = ("bare", "api", "plain")  # the API keyed and plain back to back each round
    share = len(ids) // (len(order) * rounds)
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in order}
    chunks = iter(ids[i * share : (i + 1) * share] for i in range(len(order) * rounds))
    with serving(path, secret) as url:
        for r in range(rounds):
            for side in order if r % 2 == 0 else reversed(order):
                chunk = next(chunks)
                # "plain": the same API with the audit hash as it was before it was keyed
                httpx.post(f"{url}/bench/seal/{'plain' if side == 'plain' else 'keyed'}")
                jobs = [
                    (f"/bench/bare/{c}", tokens[c], "{}")
                    if side == "bare"
                    else (f"/api/v1/cases/{c}/events", tokens[c], body)
                    for c in chunk
                ]
                before = httpx.get(f"{url}/bench/cpu").json()["cpu"]
                result = _drive(url, jobs, seconds, path.parent)
                result["cpu_s"] = httpx.get(f"{url}/bench/cpu").json()["cpu"] - before
                runs[side].append(result)

    def total(rs: list[dict[str, float]], key: str) -> float:
        return sum(x[key] for x in rs)

    def rate(rs: list[dict[str, float]]) -> float:
        return total(rs, "requests") / sum(x["requests"] / x["per_s"] for x in rs)

    def per_cpu_s(rs: list[dict[str, float]]) -> float:
        return total(rs, "requests") / total(rs, "cpu_s")

    api, bare, plain = runs["api"], runs["bare"], runs["plain"]
    http_per_s, bare_per_s, plain_per_s = rate(api), rate(bare), rate(plain)
    keyed_cpu, plain_cpu = per_cpu_s(api), per_cpu_s(plain)
    # per round, the keyed API against the plain one run right after or before it: the
    # server's CPU per request, and the median over the rounds
    cost_cpu = statistics.median(
        1 - (p["cpu_s"] / p["requests"]) / (k["cpu_s"] / k["requests"])
        for k, p in zip(api, plain, strict=True)
    )
    cost_wall = statistics.median(
        1 - k["per_s"] / p["per_s"] for k, p in zip(api, plain, strict=True)
    )
    return {
        "http_per_s": round(http_per_s, 1),
        "http_p50_ms": round(max(x["p50_ms"] for x in api), 2),
        "http_p99_ms": round(max(x["p99_ms"] for x in api), 2),
        "http_errors": int(total(api, "errors")),
        "bare_http_per_s": round(bare_per_s, 1),
        "bare_http_p99_ms": round(max(x["p99_ms"] for x in bare), 2),
        "bare_http_errors": int(total(bare, "errors")),
        "http_vs_bare": round(http_per_s / bare_per_s, 3),
        "http_plain_hash_per_s": round(plain_per_s, 1),
        "http_plain_hash_errors": int(total(plain, "errors")),
        "http_per_server_cpu_s": round(keyed_cpu, 1),
        "http_plain_hash_per_server_cpu_s": round(plain_cpu, 1),
        # what the keyed seal costs against the plain hash: the share of the server's
        # throughput per CPU second it takes (one worker: CPU-bound; median of the rounds),
        # the clock's beside it
        "keyed_hash_http_cost": round(cost_cpu, 4),
        "keyed_hash_http_cost_wall": round(cost_wall, 4),
    }


@contextmanager
def serving(path: Path, secret: str) -> Iterator[str]:
    """``benchmarks.http_server`` over the SQLite file at ``path``, in a process of its own
    as a deployment runs it; its URL once it answers."""
    database = f"sqlite:///{path}"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.http_server",
            "--url",
            database,
            "--port",
            str(port),
            "--secret",
            secret,
        ],
        env={**os.environ, "RENSHI_DATABASE_URL": database},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("benchmark server did not start")
