"""Server-rendered pages (Jinja2, zh-CN)."""

from __future__ import annotations

from fastapi import APIRouter

pages = APIRouter(include_in_schema=False)
