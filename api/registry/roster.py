"""Registry adapter: 教师名册。"""

from __future__ import annotations

import click
from fastapi import APIRouter

from api.errors import ERRORS

api_router = APIRouter(prefix="/api/v1", responses=ERRORS)
page_router = APIRouter(include_in_schema=False)
LINKS: tuple[tuple[str, str], ...] = ()


@click.group("roster")
def cli() -> None:
    """教师名册。"""
