"""The compliance checks' web twin: the JSON API (``routes``) and the pages (``pages``) — the
inspectors' board with its export, a teacher's ethics pledge, the honour certificates the
province or a city records. No case of its own: nothing for the publicity board or the
inbox."""

from __future__ import annotations

from api.processes import WebPackage
from api.processes.compliance import pages, routes

WEB = WebPackage(routers=(routes.router, pages.compliance_pages))
