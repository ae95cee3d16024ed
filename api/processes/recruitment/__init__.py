"""Recruitment's web twin: the public registration pages and API, the officers' round
pages, imports, progress, identity claims and post choice."""

from __future__ import annotations

from api.processes import WebPackage
from api.processes.recruitment import claim_pages, pages, routes

WEB = WebPackage(
    routers=(routes.public, routes.officer, pages.recruitment_pages, claim_pages.claim_pages)
)
