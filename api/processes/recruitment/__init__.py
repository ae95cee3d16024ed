"""Recruitment's web twin: the public registration pages and API, the officers' round
pages, imports, progress and post choice."""

from __future__ import annotations

from api.processes import WebPackage
from api.processes.recruitment import pages, routes

WEB = WebPackage(routers=(routes.public, routes.officer, pages.recruitment_pages))
