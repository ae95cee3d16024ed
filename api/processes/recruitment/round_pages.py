"""Pages for running a round: the province opens it and closes its registration; each
county declares its posts in it (岗位计划), which the city checks and the province approves
on the plan's case page. Same web kit and the same operations (``rounds``) as the API.

The post form is a table of rows, one school's places a row; rows with the same post code
are one post whose hires go to several schools."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api import webkit
from api.processes.recruitment.pages import Viewing, round_for
from api.webkit import Posted, SignedIn, Who
from states.errors import RenshiError
from states.org import COUNTY_OFFICER, EDUCATION_LABELS, SCHOOL_LEVELS, SUBJECTS
from states.processes.recruitment import rounds
from states.processes.recruitment.machine import PLAN
from states.processes.recruitment.rules import MIN_EDUCATION

round_pages = APIRouter(include_in_schema=False)

NEW: Final = "/recruitment/rounds/new"
ROWS: Final = 8  # post rows on the form; a county with more declares in several plans
# The post form's columns: (name, label) — the states' names where they differ.
COLUMNS: Final = (
    ("code", "岗位代码"),
    ("subject", "学科"),
    ("level", "学段"),
    ("education", "学历要求"),
    ("school", "学校"),
    ("seats", "名额"),
)
STATES_NAME: Final = {"level": "school_level", "education": "min_education"}
_ERROR_AT = re.compile(r"posts\.(\d+)\.(\w+)(?:\.(\d+)\.(\w+))?")

OnNew = Annotated[Who, Depends(webkit.guarded(NEW))]
OnRound = Annotated[Who, Depends(webkit.guarded("/recruitment/{round_id}"))]
OnPlans = Annotated[Who, Depends(webkit.guarded("/recruitment/{round_id}/plans"))]


# --- opening a round ---------------------------------------------------------------------------
def _new_page(
    request: Request,
    who: Who,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    top_error: str | None = None,
    status: int = 200,
) -> Response:
    kept = values or {"written_weight": "50", "interview_weight": "50", "shortlist_ratio": "3"}
    errs = errors or {}
    fields = [
        replace(webkit.field_view(f, "round", None, "open", kept.get(f.name, "")),
                error=errs.get(f.name))
        for f in rounds.ROUND_FIELDS
    ]  # fmt: skip
    return webkit.render(
        request,
        "recruitment/round_new.html",
        who,
        {"nav": "/recruitment", "fields": fields, "top_error": top_error},
        status=status,
    )


@round_pages.get(NEW)
def new_round(request: Request, who: SignedIn) -> Response:
    if not rounds.may_open(who.actor):
        return webkit.not_found(request, who, "页面不存在")
    return _new_page(request, who)


@round_pages.post(NEW)
def open_round(request: Request, form: Posted, who: OnNew) -> Response:
    if not rounds.may_open(who.actor):
        return webkit.not_found(request, who, "页面不存在")
    values = {f.name: webkit.text(form, f.name) for f in rounds.ROUND_FIELDS}
    payload = {
        f.name: webkit.coerce(f, values[f.name])
        for f in rounds.ROUND_FIELDS
        if values[f.name].strip()
    }
    try:
        round_id = rounds.open_round_as(who.svc.engine, who.actor, payload)
    except RenshiError as exc:
        errors, top = webkit.field_errors(exc, (f.name for f in rounds.ROUND_FIELDS))
        return _new_page(
            request, who, values=values, errors=errors, top_error=top, status=exc.status
        )
    return webkit.redirect(
        f"/recruitment/{round_id}",
        f"已开启招聘「{values['name'].strip()}」，公开报名页面为 /recruitment/{round_id}/register",
        secure_cookie=who.svc.secure_cookies,
    )


@round_pages.post("/recruitment/{round_id}/close-registration")
def close_registration(request: Request, round_id: str, form: Posted, who: OnRound) -> Response:
    at = round_for(request, who, round_id)
    try:
        rounds.close_registration(who.svc.engine, who.actor, at.rid)
    except RenshiError as exc:
        return webkit.message(request, who, "未能截止报名", exc.message, exc.status)
    return webkit.redirect(
        f"/recruitment/{at.rid}", "本轮报名已截止", secure_cookie=who.svc.secure_cookies
    )


# --- the counties' posts -----------------------------------------------------------------------
def _choices(schools: list[tuple[int, str]]) -> dict[str, dict[str, str]]:
    return {
        "subject": {s: s for s in SUBJECTS},
        "level": dict(SCHOOL_LEVELS),
        "education": dict(EDUCATION_LABELS),
        "school": {str(i): name for i, name in schools},
    }


def _plans_page(
    request: Request,
    who: Who,
    at: Any,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    top_error: str | None = None,
    status: int = 200,
) -> Response:
    svc, actor = who.svc, who.actor
    spec = svc.engine.processes[PLAN]
    counties = rounds.county_schools(svc.engine, actor) if actor.holds(COUNTY_OFFICER) else {}
    county_id = next(iter(counties), None)
    schools = counties[county_id][1] if county_id is not None else []
    open_for_posts = rounds.registration_status(at.rnd, svc.today()) != rounds.OVER
    kept, errs = values or {}, errors or {}
    rows = [
        {
            "n": n,
            "cells": [
                {
                    "name": f"{name}_{n}",
                    "label": label,
                    "value": kept.get(f"{name}_{n}", ""),
                    "error": errs.get(f"{name}_{n}"),
                }
                for name, label in COLUMNS
            ],
        }
        for n in range(1, ROWS + 1)
    ]
    plans = rounds.plans(svc.engine, actor, at.rid)
    return webkit.render(
        request,
        "recruitment/plans.html",
        who,
        {
            "nav": "/recruitment",
            "round": at.rnd,
            "round_id": at.rid,
            "plans": [
                {
                    "plan": p,
                    "state": spec.state_label(p.state),
                    "posts": [
                        {
                            "post": post,
                            "level": SCHOOL_LEVELS.get(post.school_level, post.school_level),
                            "education": EDUCATION_LABELS.get(
                                post.min_education, post.min_education
                            ),
                            "schools": "、".join(f"{s}（{k}人）" for s, k in post.schools),
                        }
                        for post in p.posts
                    ],
                }
                for p in plans
            ],
            "county": counties[county_id][0] if county_id is not None else None,
            "county_id": county_id,
            "declaring": county_id is not None and open_for_posts,
            "open_for_posts": open_for_posts,
            "rows": rows,
            "choices": _choices(schools),
            "note": kept.get("note", ""),
            "submit": kept.get("submit", "1") == "1",
            "top_error": top_error,
            "min_education": {
                SCHOOL_LEVELS[k]: EDUCATION_LABELS[v] for k, v in MIN_EDUCATION.items()
            },
        },
        status=status,
    )


@round_pages.get("/recruitment/{round_id}/plans")
def plans_page(request: Request, at: Viewing) -> Response:
    return _plans_page(request, at.who, at)


def _rows(form: FormData) -> tuple[list[dict[str, Any]], list[list[int]], dict[str, str]]:
    """The filled rows as posts (rows of one code merged: one post, several schools), the
    rows behind each post, and the errors a row has by itself."""
    posts: list[dict[str, Any]] = []
    behind: list[list[int]] = []
    errors: dict[str, str] = {}
    by_code: dict[str, int] = {}
    for n in range(1, ROWS + 1):
        cell = {name: webkit.text(form, f"{name}_{n}").strip() for name, _ in COLUMNS}
        if not any(cell.values()):
            continue
        raw = cell["seats"]
        seats: Any = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None
        if seats is None:
            errors[f"seats_{n}"] = "请填写名额（整数）"
        school = int(cell["school"]) if cell["school"].isdigit() else None
        place = {"school_id": school, "seats": seats}
        k = by_code.get(cell["code"]) if cell["code"] else None
        if k is not None:
            first = posts[k]
            for name in ("subject", "level", "education"):
                if first[STATES_NAME.get(name, name)] != cell[name]:
                    errors[f"{name}_{n}"] = f"与同一岗位代码的第{behind[k][0]}行不一致"
            first["seats"].append(place)
            behind[k].append(n)
            continue
        if cell["code"]:
            by_code[cell["code"]] = len(posts)
        posts.append(
            {
                "code": cell["code"],
                "subject": cell["subject"],
                "school_level": cell["level"],
                "min_education": cell["education"],
                "seats": [place],
            }
        )
        behind.append([n])
    return posts, behind, errors


def _row_errors(exc: RenshiError, behind: list[list[int]]) -> tuple[dict[str, str], str | None]:
    """The states' ``posts.<i>.<field>`` errors put back on the rows they came from."""
    listed = getattr(exc, "problems", None) or [(exc.field or "", webkit.said(exc))]
    errors: dict[str, str] = {}
    top: list[str] = []
    names = {v: k for k, v in STATES_NAME.items()}
    for field, reason in listed:
        m = _ERROR_AT.fullmatch(field)
        if m is None or int(m.group(1)) >= len(behind):
            top.append(reason)
            continue
        rows = behind[int(m.group(1))]
        if m.group(3) is not None:
            j = int(m.group(3))
            row = rows[j] if j < len(rows) else rows[0]
            name = "school" if m.group(4) == "school_id" else "seats"
        else:
            row, name = rows[0], names.get(m.group(2), m.group(2))
        if name not in {c for c, _ in COLUMNS}:
            top.append(reason)
            continue
        errors.setdefault(f"{name}_{row}", reason)
    return errors, "；".join(top) or None


@round_pages.post("/recruitment/{round_id}/plans")
def declare(request: Request, round_id: str, form: Posted, who: OnPlans) -> Response:
    at = round_for(request, who, round_id)
    values = {
        f"{name}_{n}": webkit.text(form, f"{name}_{n}")
        for n in range(1, ROWS + 1)
        for name, _ in COLUMNS
    }
    values |= {"note": webkit.text(form, "note"), "submit": webkit.text(form, "submit") or "0"}
    posts, behind, errors = _rows(form)
    if not posts:
        return _plans_page(
            request, who, at, values=values, top_error="请至少填写一行岗位", status=422
        )
    if errors:
        return _plans_page(request, who, at, values=values, errors=errors,
                           top_error="岗位填写有误，见下方标红处", status=422)  # fmt: skip
    submit = values["submit"] == "1"
    try:
        case_id = rounds.declare_posts(
            who.svc.engine, who.actor, at.rid, posts, note=values["note"], submit=submit
        )
    except RenshiError as exc:
        errors, top = _row_errors(exc, behind)
        top = top or "岗位填写有误，见下方标红处"
        return _plans_page(
            request, who, at, values=values, errors=errors, top_error=top, status=exc.status
        )
    done = "已报送市教育局审核" if submit else "已保存，请在事项页报送"
    return webkit.redirect(
        f"/recruitment/{at.rid}/plans",
        f"岗位计划（事项{case_id}，{len(posts)}个岗位）{done}",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["round_pages"]
