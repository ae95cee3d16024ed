"""Every label a person or an API client reads is Chinese, in the bureau's own words: the
pages each demo account reaches (and the public pages and the error pages), every API error
the schemas can give, the OpenAPI document, ``renshi --help`` and the catalogue's "who acts".

A label fails when it carries an English word outside a short allow-list: codes and ids
(anything with a digit, an underscore, a dot, a slash or an @), file kinds and units (PDF,
Excel, MB …), the demo accounts' usernames, and in API errors the values a client must send
(the document's enums). The words do not depend on the database: SQLite only."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import click
import httpx
import pytest
from click.testing import CliRunner

from api.cli import main as cli
from states.seed.province import DEMO_ROLES
from tests.live import PASSWORD, Live
from tests.test_api import _ids, declare
from tests.test_rounds import GOOD_ROUND

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

CJK = re.compile(r"[\u3400-\u9fff]")
ASCII_WORD = re.compile(r"[A-Za-z]+")
# Not prose: a command as it is typed ("renshi org import"), a metavar ("INTEGER RANGE").
COMMAND_LINE = re.compile(r"renshi(?: [a-z][a-z-]*)*|\b[A-Z][A-Z_]+\b")
RUN = re.compile(r"[!-~]+")
PUNCTUATION = "\"'()[]{}<>,;:!?*-"
# A token with one of these is a code, an id, a file name, an address, an e-mail, or a
# file format written out (JSON's quoted keys, a CSV header "date,kind,name").
CODE_MARK = re.compile(r"[0-9_./@#:=\\,]")
USERNAMES = {name for name, _ in DEMO_ROLES}
ALLOWED = {
    # file kinds, formats, units, standards
    "pdf", "excel", "xlsx", "csv", "docx", "jpg", "jpeg", "png", "json", "svg", "utf",
    "api", "url", "id", "uuid", "sms", "kb", "mb", "gb", "https", "http", "bearer",
    "yyyy", "mm", "dd", "hh", "x", "n", "ok", "openapi", "swagger", "redoc",
    # the product's name
    "renshi",
    # JSON's own words, as a client writes them
    "true", "false", "null",
    # the holiday calendar's CSV column (its file format, shown on the calendar page)
    "kind",
    *USERNAMES,
}  # fmt: skip
# An English sentence: three English words in a row.
SENTENCE = re.compile(r"[A-Za-z]{2,}[,;]? [A-Za-z]{2,}[,;]? [A-Za-z]{2,}")


def english(text: str, codes: frozenset[str] = frozenset()) -> list[str]:
    """The English words of ``text`` that are neither codes nor on the allow-list. Each run
    of ASCII between spaces and Chinese is judged whole: ``open-preferences`` is a code if
    the document lists it, ``school_officer`` and ``2026-09-01`` are codes by their marks."""
    found = []
    for run in RUN.findall(COMMAND_LINE.sub(" ", text)):
        token = run.strip(PUNCTUATION)
        if not token or token in codes or CODE_MARK.search(token) or token.isupper():
            continue
        if '"' in run:  # a JSON key written out
            continue
        for word in ASCII_WORD.findall(token):
            if len(word) > 1 and word.lower() not in ALLOWED and word not in codes:
                found.append(word)
    return found


# --- what a page shows ---------------------------------------------------------------------
class _Visible(HTMLParser):
    """Text nodes and the attributes a person reads or hears (title, aria-label, placeholder,
    alt, a button's value), and the page's links."""

    SHOWN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._hidden += 1
        for name in self.SHOWN:
            if a.get(name):
                self.texts.append(a[name])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.texts.append(a["value"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(data.strip())


def _read(html: str) -> _Visible:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return parser


CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
SKIP = ("/logout", "/api/", "/docs", "/redoc", "/openapi", "/static/", "/healthz", "/readyz")
PER_PATTERN = 1
PER_ROLE = 40


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _walk(client: httpx.Client, start: list[str]) -> Iterator[tuple[str, str]]:
    """(address, html) of each page reachable from ``start`` by its links, one of each shape
    of address (``/cases/N``), without downloads."""
    queue, seen, shapes = deque(start), set(start), dict[str, int]()
    pages = 0
    while queue and pages < PER_ROLE:
        path = queue.popleft()
        r = client.get(path, headers={"accept": "text/html"})
        if r.status_code in (301, 302, 303) or "text/html" not in r.headers.get("content-type", ""):
            continue
        pages += 1
        yield path, r.text
        for href in _read(r.text).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen or parts.path.startswith(SKIP) or "signout" in parts.path:
                continue
            if parts.path.endswith((".xlsx", ".csv", "/template", "/export")):
                continue
            shape = _pattern(parts.path)
            if shapes.get(shape, 0) >= PER_PATTERN:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            seen.add(target)
            queue.append(target)


def _page_problems(where: str, html: str) -> list[str]:
    out = []
    for text in _read(html).texts:
        words = english(text)
        if words:
            out.append(f"{where}: {', '.join(words)} in {text[:80]!r}")
    return out


def _sign_in(live: Live, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    r = c.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c, r.headers["location"]


@SQLITE
def test_every_page_each_demo_account_reaches_is_in_chinese(live: Live) -> None:
    # a case in the school's review and a recruitment round open for registration, so that
    # their pages and actions are there to read
    declare(live, live.client("teacher"), _ids(live)["subject"])
    opened = live.client("province_officer").post("/api/v1/recruitment/rounds", json=GOOD_ROUND)
    assert opened.status_code == 201, opened.text
    register = f"/recruitment/{opened.json()['id']}/register"
    problems: list[str] = []
    visited = 0
    anon = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    for path, html in _walk(anon, ["/", "/login", "/public/publicity", register]):
        visited += 1
        problems += _page_problems(f"(public) {path}", html)
    # one account of each role: a second officer at the same unit sees the same pages
    for username in sorted({role: name for name, role in reversed(DEMO_ROLES)}.values()):
        client, landing = _sign_in(live, username)
        # the navigation's 支教 sends each role to its own page by a redirect, which the walk
        # does not follow: those pages are walked from too (another role's redirect away)
        support = ["/support/board", "/support/school", "/support/checkins", "/support/me"]
        for path, html in _walk(client, [urlsplit(landing).path or "/inbox", *support]):
            visited += 1
            problems += _page_problems(f"{username} {path}", html)
    assert visited > 100, visited
    assert not problems, "\n".join(sorted(set(problems)))


@SQLITE
def test_the_error_pages_are_in_chinese(live: Live) -> None:
    page = {"accept": "text/html"}
    anon = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    teacher, _ = _sign_in(live, "teacher")
    csrf = CSRF.search(teacher.get("/declare/title_review").text)
    assert csrf, "the declaration form carries its token"
    answers = {
        "404": anon.get("/no-such-page", headers=page),
        "403 (no CSRF token)": teacher.post("/declare/title_review", data={"subject": "数学"}),
        "422 (a field left empty)": teacher.post(
            "/declare/title_review", data={"csrf": csrf[1], "target_title": "senior"}
        ),
        "422 (an invisible character)": anon.post(
            "/login", data={"username": "a\x01b", "password": "x"}, headers=page
        ),
    }
    problems: list[str] = []
    for name, r in answers.items():
        assert r.status_code == int(name[:3]), (name, r.status_code, r.text[:300])
        assert "text/html" in r.headers["content-type"], name
        problems += _page_problems(name, r.text)
    assert not problems, "\n".join(problems)


# --- what the API answers ------------------------------------------------------------------
def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"]
    return found


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its $ref followed and its Optional (anyOf with null) unwrapped."""
    while True:
        if "$ref" in schema:
            schema = _schemas(doc)[schema["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in schema:
            others = [s for s in schema["anyOf"] if s.get("type") != "null"]
            schema = others[0] if others else {}
        else:
            return schema


def _enums(doc: dict[str, Any]) -> frozenset[str]:
    """Every value the document lets a client send from a fixed list: codes, not words."""
    text = json.dumps(doc)
    values: set[str] = set()
    for found in re.findall(r'"enum": \[([^\]]*)\]', text):
        values |= {str(v) for v in json.loads(f"[{found}]")}
    for found in re.findall(r'"const": "([^"]*)"', text):
        values.add(found)
    return frozenset(values)


LONG = "长" * 20001


def _bad_values(doc: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """Values one field refuses: the wrong type, past its limits, outside its list."""
    s = _resolve(doc, schema)
    kind = s.get("type")
    out: list[Any] = []
    if kind in ("integer", "number"):
        out += ["一", 1.5 if kind == "integer" else None, -(2**60)]
        if "maximum" in s:
            out.append(s["maximum"] + 1)
    elif kind == "string":
        out.append(12)
        if s.get("minLength", 0) >= 1:
            out.append("")
        if "maxLength" in s:
            out.append("长" * (s["maxLength"] + 1))
        if "enum" in s or "pattern" in s:
            out.append("不在其中")
        if s.get("format") in ("date", "date-time"):
            out.append("2026-13-45")
    elif kind == "boolean":
        out.append("也许")
    elif kind == "array":
        out += ["不是列表", [], ["长"] * ((s.get("maxItems") or 0) + 1)]
    elif kind == "object" or "properties" in s:
        out += ["不是对象", [1]]
    out = [v for v in out if v is not None]
    # the wrong type, and the last limit: every kind of reason without every combination
    return out[:1] + out[-1:] if len(out) > 1 else out


def _requests(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx arguments) of requests each operation must refuse; a schema's
    fields once, at the first operation that takes it."""
    tried: set[tuple[str, str]] = set()
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            params = op.get("parameters", [])
            good_path = template
            bad_paths = []
            for p in params:
                if p["in"] != "path":
                    continue
                schema = _resolve(doc, p["schema"])
                good = str(schema["enum"][0]) if "enum" in schema else "999999999"
                good_path = good_path.replace(f"{{{p['name']}}}", good)
                bad_paths.append(template.replace(f"{{{p['name']}}}", "不是编号"))
            for bad in bad_paths:
                yield method, re.sub(r"\{[^}]+\}", "999999999", bad), {}
            if params and any(p["in"] == "path" for p in params):
                yield method, good_path, {}  # an id nobody has
            for p in params:
                if p["in"] != "query":
                    continue
                for value in _bad_values(doc, p["schema"]):
                    if isinstance(value, list | dict):
                        continue
                    yield method, good_path, {"params": {p["name"]: str(value)}}
            body = op.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                ref = json.dumps(body["application/json"]["schema"])
                schema = _resolve(doc, body["application/json"]["schema"])
                headers = {"content-type": "application/json"}
                yield method, good_path, {"content": b'{"a": 1,,}', "headers": headers}
                yield method, good_path, {"content": b"[]", "headers": headers}
                yield method, good_path, {"json": {"多余的字段": 1}}
                props = schema.get("properties", {})
                sample = {k: _sample(doc, v) for k, v in props.items()}
                for name, prop in props.items():
                    if (ref, name) in tried:
                        continue
                    tried.add((ref, name))
                    for value in _bad_values(doc, prop):
                        yield method, good_path, {"json": {**sample, name: value}}
            elif "multipart/form-data" in body:
                yield method, good_path, {"files": {"不是文件": ("a.txt", b"x", "text/plain")}}


def _sample(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    s = _resolve(doc, schema)
    kind = s.get("type")
    if "enum" in s:
        return s["enum"][0]
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}.get(
        str(kind), "二〇二六"
    )


def _api_problems(where: str, body: Any, codes: frozenset[str]) -> list[str]:
    texts = []
    if isinstance(body, dict):
        texts += [body.get("message"), body.get("detail")]
        texts += [e.get("reason") for e in body.get("errors") or [] if isinstance(e, dict)]
    out = []
    for text in texts:
        if not isinstance(text, str):
            continue
        if not CJK.search(text):
            out.append(f"{where}: no Chinese in {text!r}")
        elif words := english(text, codes):
            out.append(f"{where}: {', '.join(words)} in {text!r}")
    return out


@SQLITE
def _again(live: Live, client: httpx.Client) -> httpx.Client:
    fresh = httpx.Client(base_url=live.url, timeout=30)
    fresh.headers["Authorization"] = client.headers["Authorization"]
    client.close()
    return fresh


@SQLITE
def test_every_api_error_is_in_chinese(live: Live) -> None:
    doc = live.client().get("/openapi.json").json()
    codes = _enums(doc)
    officer = live.client("province_officer")
    problems: list[str] = []
    refused = 0
    for method, path, kwargs in _requests(doc):
        try:
            r = officer.request(method.upper(), path, **kwargs)
        except httpx.TransportError:
            # uvicorn closes a connection after a 5xx (already listed): a new one
            officer = _again(live, officer)
            r = officer.request(method.upper(), path, **kwargs)
        if r.status_code < 400:
            continue
        refused += 1
        if r.status_code >= 500:
            problems.append(f"{method.upper()} {path} {kwargs}"[:160] + f" -> {r.status_code}")
        if "json" not in r.headers.get("content-type", ""):
            continue
        problems += _api_problems(f"{method.upper()} {path} {kwargs}"[:160], r.json(), codes)
    assert refused > 400, refused
    # the words the issue named, now said in the bureau's words
    comment = officer.post("/api/v1/cases/1/comments", json={"text": ""}).json()
    assert comment["message"] == "意见：不能为空", comment
    broken = officer.post(
        "/api/v1/cases", content=b'{"process": 1,,}', headers={"content-type": "application/json"}
    ).json()
    assert broken["message"] == "请求内容不是有效的 JSON（第 15 个字符附近）", broken
    whole = officer.post("/api/v1/cases", json=[1]).json()
    assert whole["message"].startswith("请求内容："), whole
    hint = "English in API errors (a quoted “field” wants Field(title=...) or an entry in "
    hint += "api/labels.py FIELD_LABELS):\n"
    assert not problems, hint + "\n".join(problems[:80])


# --- the OpenAPI document, the CLI, the catalogue -------------------------------------------
@SQLITE
def test_the_openapi_document_is_in_chinese(live: Live) -> None:
    doc = live.client().get("/openapi.json").json()
    problems = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            problems += [f"{where}: tag {t!r}" for t in op.get("tags", []) if not CJK.search(t)]
            if not CJK.search(op.get("summary", "")):
                problems.append(f"{where}: summary {op.get('summary')!r}")
            description = op.get("description", "")
            if description and (not CJK.search(description) or SENTENCE.search(description)):
                problems.append(f"{where}: description {description[:80]!r}")
            for code, response in op.get("responses", {}).items():
                if not CJK.search(response.get("description", "")):
                    problems.append(f"{where} {code}: {response.get('description')!r}")
    for name, schema in _schemas(doc).items():
        texts = [schema.get("description", "")]
        texts += [p.get("description", "") for p in schema.get("properties", {}).values()]
        for text in texts:
            if text and (not CJK.search(text) or SENTENCE.search(text)):
                problems.append(f"schema {name}: {text[:80]!r}")
    for tag in doc.get("tags", []):
        if not CJK.search(tag["name"]):
            problems.append(f"tag {tag['name']!r}")
    assert CJK.search(doc["info"]["description"])
    assert not problems, "\n".join(problems)


CLICK_ENGLISH = ("Usage:", "Options:", "Commands:", "Arguments:", "Show this", "[required]")


def _commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_command_helps_in_chinese() -> None:
    runner = CliRunner()
    problems = []
    for path in _commands(cli, ()):
        r = runner.invoke(cli, [*path, "--help"], prog_name="renshi")
        assert r.exit_code == 0, (path, r.output)
        where = "renshi " + " ".join(path)
        out = r.output
        problems += [f"{where}: {w!r}" for w in CLICK_ENGLISH if w in out]
        prose = COMMAND_LINE.sub(" ", out)
        problems += [f"{where}: {m.group()!r}" for m in SENTENCE.finditer(prose)]
        assert "用法：" in out and "选项：" in out and "显示帮助并退出" in out, out
    assert not problems, "\n".join(problems)
    typo = runner.invoke(cli, ["case", "fire", "--nope"], prog_name="renshi")
    assert typo.exit_code == 2 and "错误：没有选项" in typo.output, typo.output


@SQLITE
def test_the_catalogue_says_who_acts_in_words(live: Live) -> None:
    catalogue = live.client("school_officer").get("/api/v1/processes").json()
    assert catalogue
    said = {e["who"] for p in catalogue for e in p["events"]}
    assert not [w for w in said if re.search(r"[A-Za-z]", w)], said
    assert {"县级人事干部", "申请人本人", "公众（公示期内）", "系统（到期自动）"} <= said, said
    assert "评审专家（抽取的评委会）" in said and any("学校人事干部" in w for w in said), said
    # a step the officer takes, or the system when time is up, names both (结束受理)
    need = next(p for p in catalogue if p["name"] == "support_need")
    closing = next(e for e in need["events"] if e["id"] == "close_need")
    assert closing["who"] == "上级审批单位的人事干部，或系统（到期自动）", closing
    labels = [p["label"] for p in catalogue]
    labels += [x["label"] for p in catalogue for x in (*p["states"], *p["events"])]
    assert not [w for w in labels if re.search(r"[A-Za-z]{2,}", w)], labels
