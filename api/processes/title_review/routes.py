"""/api/v1/title-review: the province's title-review year and its declaration window."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from states.processes.title_review import years

YearId = Annotated[int, Path(ge=1, le=2**53)]

router = APIRouter(prefix="/api/v1/title-review", tags=["职称评审"], responses=ERRORS)


class YearIn(s.In):
    year: Annotated[int, Field(ge=-(2**31), le=2**31, description="年度，如 2026")]
    opens_on: Annotated[dt.date, Field(description="申报开始日期（含当天）")]
    closes_on: Annotated[dt.date, Field(description="申报截止日期（含当天），须与开始日期同一年度")]
    province_id: Annotated[s.Id | None, Field(description="省份编号；默认本人所在省")] = None


class WindowIn(s.In):
    opens_on: dt.date
    closes_on: dt.date


class YearOut(BaseModel):
    id: int
    province_id: int
    province: str
    year: int
    opens_on: dt.date
    closes_on: dt.date
    window: str
    closed_at: dt.datetime | None
    status: str


def _out(year: years.Year) -> YearOut:
    return YearOut(
        id=year.id,
        province_id=year.province_id,
        province=year.province,
        year=year.year,
        opens_on=year.opens_on,
        closes_on=year.closes_on,
        window=year.window,
        closed_at=year.closed_at,
        status=year.status,
    )


@router.get("/years", summary="职称评审年度列表", response_model=list[YearOut])
def list_years(svc: Svc, actor: ApiActor) -> list[YearOut]:
    """本省各年度职称评审的申报时间和状态（申报中、未开始、已截止）。"""
    return [_out(y) for y in years.years_for(svc.engine, actor)]


@router.post("/years", summary="开启职称评审年度", response_model=YearOut, status_code=201)
def open_year(body: YearIn, svc: Svc, actor: ApiActor) -> YearOut:
    """开启职称评审年度（省教育厅教师工作处）：教师只能在申报时间内提交申报，时间外的申报
    被拒绝并告知申报时间。每省每年一个，申报时间须在该年度内。"""
    year_id = years.open_year(
        svc.engine,
        actor,
        year=body.year,
        opens_on=body.opens_on,
        closes_on=body.closes_on,
        province_id=body.province_id,
    )
    return _out(years.get_year(svc.engine, actor, year_id))


@router.post("/years/{year_id}/window", summary="调整申报时间", response_model=YearOut)
def set_window(year_id: YearId, body: WindowIn, svc: Svc, actor: ApiActor) -> YearOut:
    """调整申报时间（如延期）；已截止的年度不能调整，已提交的申报不受影响。"""
    years.set_window(svc.engine, actor, year_id, opens_on=body.opens_on, closes_on=body.closes_on)
    return _out(years.get_year(svc.engine, actor, year_id))


@router.post("/years/{year_id}/close", summary="截止申报", response_model=YearOut)
def close_year(year_id: YearId, svc: Svc, actor: ApiActor) -> YearOut:
    """截止申报：此后不再受理新的申报（补正后重新提交不受影响），已提交的申报照常办理。"""
    years.close_year(svc.engine, actor, year_id)
    return _out(years.get_year(svc.engine, actor, year_id))
