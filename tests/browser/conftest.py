"""Live servers and browsers: the host page and the comment server on different sites, as in production.

The comment server runs on http://localhost:PORT and the page that embeds it on http://127.0.0.1:OTHER,
so the widget's iframe is cross-site, with third-party cookies blocked as Chromium does by default.
"""
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import require
from helpers import serve_in_background
from werkzeug.serving import make_server

from widget import live

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")


class LiveServer:
    """A WSGI app served from a background thread, logging the paths it was asked for."""

    def __init__(self, app, host, public_host):
        self.requests = []
        self.delays = {}  # path -> seconds to wait before answering a POST there
        self._server = make_server(host, 0, self._logged(app), threaded=True)
        self.url = f"http://{public_host}:{self._server.server_port}"
        self._thread = serve_in_background(self._server)

    def _logged(self, app):
        def wsgi(environ, start_response):
            path = environ["PATH_INFO"]
            self.requests.append(path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""))
            if environ["REQUEST_METHOD"] == "POST" and path in self.delays:
                time.sleep(self.delays[path])
            return app(environ, start_response)
        return wsgi

    def paths(self, prefix=""):
        return [r for r in list(self.requests) if r.startswith(prefix)]

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


class HostPages(dict):
    """The site that embeds the comments: a WSGI app serving HTML pages by path, set by each test."""

    def __call__(self, environ, start_response):
        html = self.get(environ["PATH_INFO"])
        if html is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
        return [html.encode()]


def host_page(server_url, site="blog", container="", script="", before="", after="", title="A post",
              body_style="", thread=True):
    """A blog post that pastes the embed snippet as design.md section 4 gives it."""
    snippet = f'<div id="parley-thread"{container}></div>\n' if thread else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ max-width: 760px; margin: 2rem auto; padding: 0 1rem; font: 17px/1.6 Georgia, serif;
{body_style} }}</style>
</head><body>
<h1>{title}</h1>
<p>A post about something worth discussing.</p>
{before}
{snippet}<script src="{server_url}/embed.js" data-parley-site="{site}" async{script}></script>
{after}
</body></html>"""


class Widget:
    """One test's world: a comment server with a fresh database, a host site, and helpers to fill them."""

    def __init__(self, app, server, host, pages):
        self.app = app
        self.server = server
        self.host = host
        self.pages = pages
        self.client = app.test_client()
        self.runner = app.test_cli_runner()

    @property
    def page_url(self):
        return f"{self.host.url}/post"

    def cli(self, *args):
        result = self.runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    def site(self, site_id="blog", origins=None, **settings):
        """A site allowing the host page's origin (or the given ones), with settings applied."""
        origin_args = [arg for origin in (origins or [self.host.url]) for arg in ("--origin", origin)]
        self.cli("site", "add", site_id, "--name", "Test blog", *origin_args)
        for key, value in settings.items():
            self.cli("site", "set", site_id, key, str(value))
        return site_id

    def comment(self, body, name="Ada", email=None, website=None, parent=None, url=None, site="blog", origin=None):
        """Post through the public API as a reader of the host page would; returns (id, edit_token)."""
        author = {"name": name, "email": email or re.sub(r"\W", "", name.lower()) + "@example.org"}
        if website:
            author["website"] = website
        # A form token, as API clients ask for one (the server holds a guest's comment without it).
        token = self.client.get("/api/v1/form-token", query_string={"site": site}).get_json()["form_token"]
        payload = {"site": site, "url": url or self.page_url, "body": body, "author": author, "form_token": token}
        if parent:
            payload["parent_id"] = parent
        response = self.client.post("/api/v1/comments", json=payload, headers={"Origin": origin or self.host.url})
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        return data["comment"]["id"], data["edit_token"]

    def like(self, comment_id, times=1):
        for _ in range(times):  # each request without a reader token is a new reader
            response = self.client.post(f"/api/v1/comments/{comment_id}/like", headers={"Origin": self.host.url})
            assert response.status_code == 200, response.get_json()

    def edit(self, comment_id, token, body):
        response = self.client.patch(f"/api/v1/comments/{comment_id}", json={"body": body},
                                     headers={"Origin": self.host.url, "X-Edit-Token": token})
        assert response.status_code == 200, response.get_json()

    def delete(self, comment_id, token):
        response = self.client.delete(f"/api/v1/comments/{comment_id}",
                                      headers={"Origin": self.host.url, "X-Edit-Token": token})
        assert response.status_code == 204, response.get_data(as_text=True)

    def thread(self, url=None, site="blog"):
        return self.client.get("/api/v1/threads", query_string={"site": site, "url": url or self.page_url}).get_json()

    def serve(self, path="/post", **page):
        self.pages[path] = host_page(self.server.url, **page)
        return f"{self.host.url}{path}"

    def open(self, page, path="/post", query="", **options):
        """Load a host page with the snippet and wait until the widget in it is live."""
        url = self.serve(path, **options)
        page.goto(url + query)
        frame = page.frame_locator("iframe.parley-frame")
        frame.locator("html.is-live").wait_for(state="attached")
        return frame


@pytest.fixture(scope="session")
def playwright():
    require(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed")
    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="session")
def browser(playwright):
    """Playwright's own launch: storage partitioning off, so localStorage throws in the widget's frame."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu"])
    yield browser
    browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _drain(stream, found, holder):
    """Read Chromium's stderr to the end (a full pipe would stall it), noting the DevTools address."""
    for line in stream:
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match and not found.is_set():
            holder.append(match.group(1))
            found.set()
    found.set()


@pytest.fixture(scope="session")
def real_chrome(playwright, tmp_path_factory):
    """Chromium started as a reader's Chrome runs: partitioned storage on, third-party cookies blocked."""
    profile = tmp_path_factory.mktemp("chrome-profile")
    (profile / "Default").mkdir()
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}))
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found, holder = threading.Event(), []
    threading.Thread(target=_drain, args=(process.stderr, found, holder), daemon=True).start()
    found.wait(timeout=30)
    if not holder:
        process.kill()
        pytest.fail("Chromium did not print its DevTools address")
    browser = playwright.chromium.connect_over_cdp(holder[0])
    yield browser
    browser.close()
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def widget(make_app):
    """A comment server on localhost and a host site on 127.0.0.1, both live for one test."""
    yield from _live_widget(make_app)


@pytest.fixture
def limited_widget(make_app):
    """The same, with rate limits on and one comment a minute allowed per address."""
    yield from _live_widget(make_app, RATELIMIT_ENABLED=True, RATELIMIT_COMMENTS="1 per minute")


@pytest.fixture
def rate_limited_widget(make_app):
    """The same, with the rate limits on as the server ships them (the other worlds turn them off)."""
    yield from _live_widget(make_app, RATELIMIT_ENABLED=True)


@pytest.fixture
def paced_widget(make_app):
    """The same, at a person's pace: the server's hourly comment limit without its per-minute one, which a
    person spreading a few comments over minutes never meets, and a test doing it in seconds would."""
    yield from _live_widget(make_app, RATELIMIT_ENABLED=True, RATELIMIT_COMMENTS="30 per hour")


@pytest.fixture
def mail_widget(make_app):
    """The same, with a real SMTP server on loopback and the server's own background sender running."""
    from smtp_server import MailServer

    from widget import worker

    with MailServer() as mail:
        for world in _live_widget(make_app, BACKGROUND_SENDER=True, OUTBOX_POLL_SECONDS=0.5, **mail.config()):
            world.mail = mail
            yield world
            worker.stop_in_background(world.app)


@pytest.fixture
def open_widget(make_app):
    """The same, fetching pages on private addresses: Webmention sources served by the host site on loopback."""
    yield from _live_widget(make_app, ALLOW_PRIVATE_TARGETS=True)


def _live_widget(make_app, **config):
    # SERVER_NAME off: the live server answers to localhost:PORT, and its URLs must say so. Form tokens are
    # required, as on a real server: the widget's own comments must pass without anyone noticing.
    app = make_app(SERVER_NAME=None, **{"SPAM_FORM_TOKENS": True} | config)
    pages = HostPages()
    server = LiveServer(app, "127.0.0.1", "localhost")
    host = LiveServer(pages, "127.0.0.1", "127.0.0.1")
    yield Widget(app, server, host, pages)
    live.broker(app).stop()  # ends the widgets' event streams, which would outlive the test's data
    server.stop()
    host.stop()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
