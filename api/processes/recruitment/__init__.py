"""Recruitment's web twin: the public registration pages and API, the officers' round
pages, imports, progress, identity claims and post choice, and running a round (opening it,
closing its registration, the counties' post plans)."""

from __future__ import annotations

from api.processes import WebPackage
from api.processes.recruitment import (
    claim_pages,
    pages,
    round_pages,
    round_routes,
    routes,
)

WEB = WebPackage(
    routers=(
        routes.public,
        round_routes.public,
        routes.officer,
        round_routes.router,
        pages.recruitment_pages,
        round_pages.round_pages,
        claim_pages.claim_pages,
    )
)
