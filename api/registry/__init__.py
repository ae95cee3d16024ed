"""The pages, JSON API and CLI through which a bureau loads and keeps its own data: the org
tree, quotas, expert pools and the calendar (``org``), the teacher roster (``roster``),
accounts and roles (``accounts``). Thin adapters over ``states.registry``."""

from __future__ import annotations

import click
from fastapi import APIRouter

from api.registry import accounts, org, roster

MODULES = (org, roster, accounts)


def routers() -> list[APIRouter]:
    return [r for m in MODULES for r in (m.api_router, m.page_router)]


def commands() -> list[click.Command]:
    return [m.cli for m in MODULES]


# What the header links to, for officers who manage data (states.registry.scope.MANAGERS).
LINKS: tuple[tuple[str, str], ...] = tuple(link for m in MODULES for link in m.LINKS)
