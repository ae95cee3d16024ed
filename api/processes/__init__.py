"""The web twins of the process packages, and what the generic pages build from them.

A process package names its web module (``ProcessPackage.web``); that module exposes one
``WEB = WebPackage(...)``: its routers, and the hooks the generic pages and API call instead
of knowing the process — the line the public publicity board shows for a case, a
declaration form started from the teacher's record, the record a reviewer reads beside
the case, and the documents a case's page offers to print. The app imports them once at start-up
(``load``) and keeps them, with the public board built from them, on ``app.state``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection

from states.org import Actor
from states.process.package import Catalogue
from states.process.spec import PUBLIC_WINDOW

Row = Mapping[str, Any]


@dataclass(frozen=True)
class RecordPanel:
    """What a reviewer reads beside a case: the applicant's record (a teacher's title, years
    and ledger; an applicant's registration), each row a label and a value already cut to
    what this reader may see."""

    title: str
    rows: tuple[tuple[str, str], ...]
    note: str = ""


# (connection, reader, the case's row: id, process, applicant_id, org_unit_id, state, data)
CaseRecord = Callable[[Connection, Actor, Row], RecordPanel | None]
# (the case as its reader sees it: id, state, data) -> the documents to print, (label, url)
Documents = Callable[[Row], list[tuple[str, str]]]
# (connection, a page's rows of one process: case_id, process, state, data) -> case id -> what
# the case asks for ("申报高级教师（数学）"); one read for the page, not one per row
Asks = Callable[[Connection, Sequence[Row]], Mapping[int, str]]


@dataclass(frozen=True)
class WebPackage:
    routers: tuple[APIRouter, ...] = ()
    # process -> what the public board says of a case in a window ("拟认定高级教师（数学）")
    publicity: Mapping[str, Callable[[Row], str]] = field(default_factory=dict)
    # process -> what its cases ask for, as the inbox's column says it (Asks)
    asks: Mapping[str, Asks] = field(default_factory=dict)
    # process -> a declaration form started from the teacher's record (field -> value)
    declare_defaults: Mapping[str, Callable[[Row], dict[str, str]]] = field(default_factory=dict)
    # process -> the applicant's record shown beside the case (None: nothing to show)
    case_record: Mapping[str, CaseRecord] = field(default_factory=dict)
    # process -> the documents a case's page links to, as (label, url): "打印申报表（PDF）"
    documents: Mapping[str, Documents] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    """The public publicity board: which (process, state) windows it lists, in which of
    them the public may object, and each process's line for a case."""

    windows: tuple[tuple[str, str], ...]
    objections: tuple[tuple[str, str], ...]
    details: Mapping[str, Callable[[Row], str]]

    def detail(self, row: Row) -> str:
        describe = self.details.get(str(row["process"]))
        return describe(row) if describe is not None else ""


@dataclass(frozen=True)
class Web:
    packages: tuple[WebPackage, ...]
    board: Board

    def declare_defaults(self, process: str) -> Callable[[Row], dict[str, str]] | None:
        return next((w.declare_defaults[process] for w in self.packages
                     if process in w.declare_defaults), None)  # fmt: skip

    def case_record(self, process: str) -> CaseRecord | None:
        return next((w.case_record[process] for w in self.packages
                     if process in w.case_record), None)  # fmt: skip

    def documents(self, process: str) -> Documents | None:
        return next((w.documents[process] for w in self.packages
                     if process in w.documents), None)  # fmt: skip

    def case_documents(self, process: str, case: Row) -> list[tuple[str, str]]:
        """What the case's page offers to print or export (none for most processes)."""
        found = self.documents(process)
        return found(case) if found is not None else []

    def asks(self, process: str) -> Asks | None:
        return next((w.asks[process] for w in self.packages
                     if process in w.asks), None)  # fmt: skip


def load(catalogue: Catalogue) -> Web:
    """Import the installed packages' web twins and build the public board from them."""
    packages: list[WebPackage] = []
    for package in catalogue.packages:
        if package.web is not None:
            web = importlib.import_module(package.web).WEB
            assert isinstance(web, WebPackage), package.web
            packages.append(web)
    return Web(tuple(packages), _board(catalogue, packages))


def _board(catalogue: Catalogue, packages: Sequence[WebPackage]) -> Board:
    details = {p: d for w in packages for p, d in w.publicity.items()}
    windows, objections = [], []
    for name in details:
        spec = catalogue[name]
        for state in spec.tagged(PUBLIC_WINDOW):
            windows.append((name, state))
            if spec.public_event(state) is not None:
                objections.append((name, state))
    return Board(tuple(windows), tuple(objections), details)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web
