"""The API documentation works offline under a policy that names no other origin, and cookies
are Secure whenever the browser reached the site over HTTPS (directly or through the proxy
deploy/ puts in front), never because a header from just anyone said so."""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn

from api.app import create_app, default_services
from api.auth import SESSION_COOKIE
from api.deps import Services, secured
from api.webkit import FLASH_COOKIE
from tests.browser import chromium, console_errors, offline
from tests.live import PASSWORD, Live, free_port

ROOT = Path(__file__).resolve().parent.parent
API_UNIT = ROOT / "deploy" / "systemd" / "renshi-api.service"
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}
# Source expressions that name no origin of their own.
KEYWORDS = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}


class _Assets(HTMLParser):
    """The scripts, stylesheets and icons a page loads, and any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.urls.append(str(a["src"]))
            else:
                self._in_script = True
        elif tag == "link" and a.get("href"):
            self.urls.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def _policy(header: str) -> dict[str, list[str]]:
    directives = [d.split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_from_this_server(live: Live, path: str) -> None:
    c = live.client()
    page = c.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")

    policy = _policy(page.headers["content-security-policy"])
    assert policy.get("default-src") == ["'none'"], policy
    assert policy.get("script-src") == ["'self'"], "scripts: this server only, nothing inline"
    for directive, sources in policy.items():
        foreign = [s for s in sources if s not in KEYWORDS]
        assert not foreign, f"{path}: {directive} names another origin: {foreign}"
        if "'unsafe-inline'" in sources:
            # ReDoc writes its styles into <style> elements; nothing else may be inline.
            assert (path, directive) == ("/redoc", "style-src"), f"{path}: {directive} inline"
    assert page.headers["x-content-type-options"] == "nosniff"

    found = _Assets()
    found.feed(page.text)
    assert not found.inline, f"{path}: inline script, refused by its own policy"
    scripts = [u for u in found.urls if u.endswith(".js")]
    assert scripts and all(u.startswith("/") for u in found.urls), found.urls
    if path == "/docs":
        assert any(u.endswith(".css") for u in found.urls), "Swagger UI's stylesheet"
    for url in found.urls:
        absolute = urljoin(live.url + path, url)
        assert urlsplit(absolute).netloc == urlsplit(live.url).netloc, f"{url} is another host"
        asset = c.get(url)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        expected = CONTENT_TYPES[Path(urlsplit(url).path).suffix]
        assert asset.headers["content-type"].split(";")[0] == expected, (url, asset.headers)
        assert len(asset.content) > 100, f"{url} is empty"
    # The specification itself stays where clients find it.
    spec = c.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Renshi 人事 API"
    assert spec.json()["paths"], "the specification lists the API"


def test_swagger_ui_renders_offline_without_console_errors(live: Live) -> None:
    with chromium() as browser:
        page = browser.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        page.goto(f"{live.url}/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.locator(".opblock").count() > 10, "the operations are listed"
        assert page.locator(".opblock-tag").count() > 3, "grouped under their tags"
        page.locator(".opblock").first.click()  # open one: its parameters render too
        page.wait_for_selector(".opblock-body", timeout=10_000)

        redoc = browser.new_page()
        escaped += offline(redoc, live.url)
        errors += console_errors(redoc)
        redoc.goto(f"{live.url}/redoc")
        redoc.wait_for_selector(".api-content h1", timeout=20_000)
        assert "Renshi" in redoc.locator(".api-content h1").first.inner_text()
        redoc.wait_for_timeout(300)  # late errors (a refused style or worker) surface
    assert not escaped, f"the docs asked other hosts for {escaped}"
    assert not errors, f"console errors (a refused policy among them?): {errors}"


# --- Secure cookies ------------------------------------------------------------------------
def _deployed_uvicorn_options() -> dict[str, object]:
    """uvicorn's own reading of the command line renshi-api.service starts the API with, so the
    test trusts exactly the proxy addresses the deployment trusts."""
    exec_start = next(
        line.split("=", 1)[1]
        for line in API_UNIT.read_text(encoding="utf-8").splitlines()
        if line.startswith("ExecStart=")
    )
    program, *argv = shlex.split(exec_start)
    assert program.endswith("/uvicorn"), f"{API_UNIT}: the API is not started by uvicorn"
    argv = ["1" if a.startswith("${") else a for a in argv]  # the unit's worker count
    context = uvicorn.main.make_context("uvicorn", argv)
    params = context.params
    assert params["proxy_headers"], f"{API_UNIT}: uvicorn does not read the proxy's headers"
    assert params["forwarded_allow_ips"], f"{API_UNIT}: no --forwarded-allow-ips"
    return {
        "proxy_headers": params["proxy_headers"],
        "forwarded_allow_ips": params["forwarded_allow_ips"],
    }


@contextmanager
def _deployed_server(svc: Services) -> Iterator[str]:
    """The app under uvicorn configured as deploy/ configures it, on loopback."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(svc),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            **_deployed_uvicorn_options(),  # type: ignore[arg-type]
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _cookies(response: httpx.Response) -> dict[str, list[str]]:
    """Each Set-Cookie by cookie name, its attributes lower-cased."""
    out: dict[str, list[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        out[name] = [a.strip().lower() for a in header.split(";")[1:]]
    return out


def _login(client: httpx.Client, **headers: str) -> httpx.Response:
    r = client.post("/login", data={"username": "teacher", "password": PASSWORD}, headers=headers)
    assert r.status_code == 303, r.text
    return r


def test_session_cookie_is_secure_only_over_https(live: Live) -> None:
    assert _deployed_uvicorn_options()["forwarded_allow_ips"] == "127.0.0.1", (
        "renshi-api.service trusts nginx on the same machine"
    )
    with _deployed_server(live.services) as url:
        plain = _login(httpx.Client(base_url=url))
        assert "secure" not in _cookies(plain)[SESSION_COOKIE], "plain HTTP: no TLS to ask for"
        assert "httponly" in _cookies(plain)[SESSION_COOKIE]

        # nginx on the same machine says the browser came over HTTPS: believed.
        proxied = httpx.Client(base_url=url, headers={"X-Forwarded-Proto": "https"})
        r = _login(proxied)
        assert "secure" in _cookies(r)[SESSION_COOKIE]
        assert r.headers["location"] == "/inbox"
        # Every cookie, the one-time message and the deleted session included. (httpx, like a
        # browser, keeps a Secure cookie off plain http://: hand it over as nginx would.)
        session = r.headers["set-cookie"].split(";")[0]
        proxied.headers["Cookie"] = session
        inbox = proxied.get("/inbox")
        assert inbox.status_code == 200, inbox.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', inbox.text)
        assert csrf
        out = proxied.post("/logout", data={"csrf": csrf[1]})
        assert out.status_code == 303
        cookies = _cookies(out)
        assert "secure" in cookies[SESSION_COOKIE] and "secure" in cookies[FLASH_COOKIE]

        # The same header from an address the deployment does not trust: ignored.
        elsewhere = httpx.Client(
            base_url=url,
            headers={"X-Forwarded-Proto": "https"},
            transport=httpx.HTTPTransport(local_address="127.0.0.2"),
        )
        spoofed = _login(elsewhere)
        assert "secure" not in _cookies(spoofed)[SESSION_COOKIE]


def test_secure_cookies_setting_forces_the_flag(
    live: Live, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENSHI_SECURE_COOKIES", "1")
    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    monkeypatch.setenv("RENSHI_SECRET_KEY", "ab" * 32)
    monkeypatch.setenv("RENSHI_FILES", str(tmp_path / "files"))
    svc = default_services(live.clock)
    assert svc.secure_cookies
    try:
        with _deployed_server(svc) as url:
            plain = _login(httpx.Client(base_url=url))
            assert "secure" in _cookies(plain)[SESSION_COOKIE], "forced even over plain HTTP"
    finally:
        svc.db.dispose()

    monkeypatch.setenv("RENSHI_SECURE_COOKIES", "0")
    svc = default_services(live.clock)
    svc.db.dispose()
    assert not svc.secure_cookies, "0 (the example's value) leaves it to the request"


def test_secure_is_added_once() -> None:
    assert secured(b"a=1; Path=/") == b"a=1; Path=/; Secure"
    assert secured(b"a=1; Path=/; Secure") == b"a=1; Path=/; Secure"
    assert secured(b"secure=1; HttpOnly") == b"secure=1; HttpOnly; Secure"
