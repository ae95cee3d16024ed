"""Registry adapter: 机构、岗位指标、评委库与工作日历。"""

from __future__ import annotations

import click
from fastapi import APIRouter

from api.errors import ERRORS

api_router = APIRouter(prefix="/api/v1", responses=ERRORS)
page_router = APIRouter(include_in_schema=False)
LINKS: tuple[tuple[str, str], ...] = ()


@click.group("org")
def cli() -> None:
    """机构、岗位指标、评委库与工作日历。"""
