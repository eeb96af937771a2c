"""Parley against Isso and against a same-bytes ceiling, each under gunicorn: one command, one table.

    python bench/read_speed.py                  # 5 minutes on an idle 2-core machine; --quick: under 2
    python bench/read_speed.py --database postgresql --json results.json

Needs wrk (Debian package `wrk`), Isso (`pip install isso`; requirements-dev.txt has it), gunicorn
(requirements.txt), and for the browser rows Playwright's Python package with Chromium at
/usr/bin/chromium (Debian package `chromium`; `--browser-runs 0` leaves those rows out). With
`--database postgresql`, a PostgreSQL server the admin URL reaches (--pg-admin-url, default
postgresql+psycopg://postgres@127.0.0.1:5432/test): the bench creates a scratch database there and
drops it at the end. Everything runs on 127.0.0.1, and every process and file it made is gone at
the end, also after Ctrl-C or a failure. `--smoke` only seeds a smaller corpus and checks that both
servers answer it (the test suite runs that).

1. One made-up corpus goes into an Isso database, through Isso's own schema: a 200-comment thread
   (every 5th comment a reply, 35 authors, Markdown bodies of 300 to 500 characters), a 10-comment
   and a 1-comment thread, and 500 more threads of 28,700 comments in all. Parley gets the same
   comments with its own `flask import isso`, in a fresh SQLite file (or the scratch database), on
   a site `bench` that publishes comments without moderation.
2. Four gunicorn servers with the same workers (2 sync workers unless told otherwise): Parley as
   configured by default (spam checks and rate limits on) for the reads; the same Parley with rate
   limits off for posting (they would refuse the flood; the spam checks stay on, and each post
   carries the form token the comment frame hands out); Isso with moderation and its guard off; and
   the ceiling, plain Flask serving /hello, the bytes Parley answered for the 200-comment thread
   (/bytes, and a 304 for its ETag), Parley's own gzip of them (/bytes-gz), and a page with those
   comments in its HTML (the floor, for the browser), and a script that puts that page in an iframe
   (the iframe floor).
3. wrk -t2 -c8 --latency on each scenario, in rounds: Parley, then Isso, then the ceiling in each,
   so that machine noise falls on all; medians over rounds. Every worker first serves a few requests
   of each kind, and after each wrk run the bench waits until the server has served what wrk left
   queued, so that no server's backlog runs while another is measured.
4. Headless Chromium opens a blog page on 127.0.0.1 embedding the comments from localhost (another
   site, third-party cookies blocked as Chromium does by default) and times navigation start to the
   first comment's text on screen, in a fresh context per load (nothing cached), against the floor
   and against the iframe floor: the same blog page whose script, from localhost, makes a frame
   holding the floor page. That is the least any embed in a cross-site iframe can do.

Figures depend on the machine and what else runs on it (its core count and load are printed);
ratios travel better. Sync workers do
not keep connections alive, so with them every request opens a connection, for all servers alike;
`--worker-class gthread` keeps them alive.
"""
import argparse
import contextlib
import gzip
import json
import logging
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlencode

from _servers import BENCH, ROOT, Gunicorn, HostPages, free_port, get
from make_corpus import CLOSERS, FIRST, LAST, OPENERS, TOPICS

SECRET = "bench-secret-not-for-production"
BIG, TEN, ONE = "/posts/big-thread", "/posts/ten-comments", "/posts/one-comment"
POSTED = "/posts/new-comments"  # where posts go, so that the threads read stay as seeded
BIG_SIZE, TEN_SIZE = 200, 10
OTHER_THREADS, OTHER_COMMENTS = 500, 28_700
COUNTED_PAGES = 20
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCENARIO_KEYS = ("thread", "thread_gzip", "one", "not_modified", "counts", "post")
CHROMIUM = "/usr/bin/chromium"
SERVERS = ("Parley", "Isso", "ceiling")
PARLEY_SELECTOR = "#parley-comments .comment-content"
ISSO_SELECTOR = "#isso-root .isso-comment .isso-text"
FLOOR_SELECTOR = ".comment .comment-content"
IDLE_PATHS = {"parley": "/healthz", "parley-post": "/healthz", "isso": "/info", "ceiling": "/hello"}
ISSO_MODES = {1: "approved", 2: "pending", 4: "deleted"}


# The corpus ------------------------------------------------------------------------------------------

@dataclass
class Comment:
    parent: int | None  # index of the top-level comment it replies to, in its thread
    created: float
    author: str
    email: str
    website: str | None
    text: str
    likes: int


@dataclass
class Page:
    uri: str
    title: str
    comments: list[Comment] = field(default_factory=list)


def body(rng, low=300, high=500):
    """Markdown as blog readers write it: a few sentences, now and then emphasis, a link, a quote or a list."""
    topic = TOPICS[rng.choice(sorted(TOPICS))]

    def pick(kind):
        return rng.choice(topic[kind])

    shapes = [
        lambda: f"I made {pick('things')} and {pick('details')}.",
        lambda: f"About {pick('things')}: {pick('details')}.",
        lambda: f"We tried *{pick('things')}* twice, and {pick('details')}.",
        lambda: f"Also, {pick('details')}.",
        lambda: pick("questions"),
        lambda: f"> {pick('details').capitalize()}.\n\nSame here, and {pick('details')}.",
        lambda: f"What worked for me:\n\n- {pick('details')}\n- {pick('details')}",
        lambda: f"I wrote about {pick('things')} too: [my notes](https://{rng.choice(LAST).lower()}.example.org/notes).",
        lambda: f"The **short version**: {pick('details')}.",
    ]
    target = rng.randint(low, high)
    text = rng.choice(OPENERS)
    for _ in range(60):
        piece = rng.choice(shapes)()
        joined = f"{text}{' ' if rng.random() < 0.6 else chr(10) * 2}{piece}" if text else piece
        if len(joined) <= high:
            text = joined
            if len(text) >= target:
                break
    closer = rng.choice(CLOSERS)
    return f"{text}\n\n{closer}" if closer and len(text) + len(closer) + 2 <= high else text


def people(rng, count):
    """`count` distinct readers: name, email, and a website for a quarter of them."""
    found = []
    for name in rng.sample([f"{first} {last}" for first in FIRST for last in LAST], count):
        first, last = name.lower().split()
        website = f"https://{last}-{first}.example.org" if rng.random() < 0.25 else None
        found.append((name, f"{first}.{last}@example.org", website))
    return found


def thread(rng, uri, title, size, authors, start):
    """`size` comments, every 5th a reply to an earlier top-level one (Isso nests one level deep)."""
    page = Page(uri, title)
    created, tops = start, []
    for index in range(size):
        created += rng.uniform(600, 20_000)
        name, email, website = rng.choice(authors)
        parent = rng.choice(tops) if index % 5 == 4 and tops else None
        if parent is None:
            tops.append(index)
        page.comments.append(Comment(parent, created, name, email, website, body(rng),
                                     rng.choice([0] * 6 + [1, 1, 2, 3, 5])))
    return page


def corpus(other_comments, seed=20261204):
    """The three threads measured, then OTHER_THREADS more of uneven sizes holding `other_comments`."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC).timestamp()
    regulars = people(rng, 35)
    pages = [thread(rng, BIG, "A post with 200 comments", BIG_SIZE, regulars, start),
             thread(rng, TEN, "A post with 10 comments", TEN_SIZE, regulars[:8], start),
             thread(rng, ONE, "A post with one comment", 1, regulars[:1], start)]
    weights = [rng.lognormvariate(0, 1) for _ in range(OTHER_THREADS)]
    sizes = [max(1, int(other_comments * w / sum(weights))) for w in weights]
    for index in range(other_comments - sum(sizes)):  # what rounding down left over
        sizes[index % OTHER_THREADS] += 1
    while sum(sizes) > other_comments:  # what the at-least-one rule added
        sizes[sizes.index(max(sizes))] -= 1
    crowd = people(rng, 400)
    for number, size in enumerate(sizes):
        pages.append(thread(rng, f"/posts/p{number}", f"Post {number}", size, crowd, start))
    return pages


# Isso's database, then Parley's import of it ---------------------------------------------------------

def isso_config(folder, page_origin):
    path = Path(folder) / "isso.cfg"
    path.write_text(textwrap.dedent(f"""
        [general]
        dbpath = {folder}/isso.db
        host = {page_origin}
        [moderation]
        enabled = false
        [guard]
        enabled = false
    """))
    return path


def seed_isso(config_path, pages):
    """Isso's tables made by Isso's own code, then the corpus inserted into them in one transaction."""
    from isso import config
    from isso.db import SQLite3
    from isso.utils import Bloomfilter

    conf = config.load(config.default_file(), str(config_path))
    path = SQLite3(conf.get("general", "dbpath"), conf).path
    address = "127.0.0.0"  # Isso keeps addresses cut to their /24
    voters = memoryview(Bloomfilter(iterable=[address]).array)
    next_id = 1
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        for tid, page in enumerate(pages, start=1):
            connection.execute("INSERT INTO threads (id, uri, title) VALUES (?, ?, ?)", (tid, page.uri, page.title))
            connection.executemany(
                "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, text, author, email, "
                "website, likes, dislikes, voters, notification) "
                "VALUES (?, ?, ?, ?, NULL, 1, ?, ?, ?, ?, ?, ?, 0, ?, 0)",
                [(tid, next_id + i, None if c.parent is None else next_id + c.parent, c.created, address, c.text,
                  c.author, c.email, c.website, c.likes, voters) for i, c in enumerate(page.comments)])
            next_id += len(page.comments)


def seed_parley(database_url, isso_db, page_origin):
    """Site `bench` and the same comments, by Parley's own commands as `flask --app app ...` runs them."""
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)  # the schema's migrations, a line each
    from widget import create_app
    from widget.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET, "BACKGROUND_SENDER": False})
    runner = app.test_cli_runner()
    output = ""
    for args in (["site", "add", "bench", "--name", "Bench", "--origin", page_origin],
                 # Already the default; said here so that the posting test measures published comments.
                 ["site", "set", "bench", "moderation", "none"],
                 ["import", "isso", str(isso_db), "--site", "bench", "--base-url", page_origin]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}")
        output = result.output
    with app.app_context():
        db.engine.dispose()
    return " / ".join(line.strip() for line in output.splitlines() if line.strip())


@contextlib.contextmanager
def scratch_postgres(admin_url):
    """A fresh PostgreSQL database for the run, dropped at its end."""
    import psycopg

    name = f"parley_bench_{uuid.uuid4().hex[:12]}"
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# What each server is asked ---------------------------------------------------------------------------

def parley_thread(origin, uri, limit=None):
    return "/api/v1/threads?" + urlencode({"site": "bench", "url": origin + uri, **({"limit": limit} if limit else {})})


def parley_counts(origin, uris):
    return "/api/v1/counts?" + urlencode([("site", "bench")] + [("url", origin + uri) for uri in uris])


def count_tree(comments):
    return sum(1 + count_tree(c.get("replies", [])) for c in comments)


def check_seeded(parley, isso, origin, uris):
    """Both APIs answer each seeded thread with all its comments, and the same counts for 20 pages."""
    found = {}
    for uri, expected in ((BIG, BIG_SIZE), (TEN, TEN_SIZE), (ONE, 1)):
        status, _, raw = get(parley.port, parley_thread(origin, uri, limit=200))
        page = json.loads(raw) if status == 200 else {}
        in_parley = count_tree(page.get("comments", []))
        if (in_parley, page.get("thread", {}).get("comment_count"), page.get("next_cursor")) != (expected, expected,
                                                                                                  None):
            raise RuntimeError(f"Parley answered {status} with {in_parley} comments for {uri}, not {expected}")
        status, _, raw = get(isso.port, f"/?uri={quote(uri)}")
        in_isso = count_tree(json.loads(raw)["replies"]) if status == 200 else None
        if in_isso != expected:
            raise RuntimeError(f"Isso answered {status} with {in_isso} comments for {uri}, not {expected}")
        found[uri] = (in_parley, in_isso)
    in_parley = json.loads(get(parley.port, parley_counts(origin, uris))[2])["counts"]
    in_parley = [in_parley[origin + uri] for uri in uris]
    in_isso = json.loads(get(isso.port, "/count", {"Content-Type": "application/json"}, "POST", json.dumps(uris))[2])
    if in_isso != in_parley:
        raise RuntimeError(f"the counts differ: Parley {in_parley}, Isso {in_isso}")
    return found


def post_bodies(kind, origin, form_token, tag, rng):
    """Eight comments as each server takes them, @@N@@ to be replaced by a number (repeated text is held as spam)."""
    texts = [body(rng, 280, 440) + f"\n\n(reader @@N@@, {tag})" for _ in range(8)]
    if kind == "Parley":
        return [json.dumps({"site": "bench", "url": origin + POSTED, "title": "Comments posted by wrk", "body": text,
                            "author": {"name": "Ben Reader", "email": "ben.reader@example.org"},
                            "form_token": form_token}) for text in texts]
    return [json.dumps({"text": text, "author": "Ben Reader", "email": "ben.reader@example.org", "website": None,
                        "title": "Comments posted by wrk"}) for text in texts]


# wrk --------------------------------------------------------------------------------------------------

@dataclass
class Target:
    """One server's side of a scenario: what wrk asks it."""

    server: str
    path: str
    headers: tuple = ()
    script: Path | None = None  # a wrk script that POSTs `body`
    body: str | None = None  # for posts, with @@N@@ where a number makes each one different

    def request(self, number):
        """The same request in Python, as (method, path, headers, body)."""
        headers = dict(header.split(": ", 1) for header in self.headers)
        if self.body is None:
            return "GET", self.path, headers, None
        return "POST", self.path, {**headers, "Content-Type": "application/json"}, self.body.replace("@@N@@", number)


@dataclass
class Scenario:
    key: str
    label: str
    targets: dict  # "Parley" / "Isso" / "ceiling" -> Target
    compare_to: str  # the server whose req/s Parley's is divided by
    notes: dict = field(default_factory=dict)  # server -> why its row has no measurement of its own


def lua_post(path, bodies):
    """A wrk script posting a different body each time: its thread's number and a counter fill in @@N@@."""
    listed = ",\n".join(f"[==[{b}]==]" for b in bodies)
    Path(path).write_text(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{
{listed}
}}
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
end
local n = 0
function request()
  n = n + 1
  local text = bodies[(n % #bodies) + 1]:gsub("@@N@@", tostring(tid) .. "-" .. tostring(n))
  return wrk.format(nil, nil, nil, text)
end
""")


def lua_json_post(path, value):
    Path(path).write_text(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{json.dumps(value)}]==]
""")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output):
    def found(pattern, default=None):
        match = re.search(pattern, output)
        if match is None and default is None:
            raise RuntimeError(f"unexpected wrk output:\n{output}")
        return match.groups() if match else default

    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$",
                                                                output, re.M)}
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"no latency distribution in wrk's output:\n{output}")
    (rps,) = found(r"Requests/sec:\s+([\d.]+)")
    (requests,) = found(r"(\d+) requests in")
    (non2xx,) = found(r"Non-2xx or 3xx responses: (\d+)", ("0",))
    sockets = [int(n) for n in found(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                                     ("0", "0", "0", "0"))]
    return {"rps": float(rps), "p50": latency["50"], "p99": latency["99"], "requests": int(requests),
            "errors": int(non2xx) + sum(sockets), "non2xx": int(non2xx), "socket_errors": sockets}


def wrk(port, target, duration):
    args = ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for header in target.headers:
        args += ["-H", header]
    if target.script:
        args += ["-s", str(target.script)]
    args.append(f"http://127.0.0.1:{port}{target.path}")
    result = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr or result.stdout}")
    return parse_wrk(result.stdout)


# The browser ------------------------------------------------------------------------------------------

# Runs in every frame from its start: notes when the first comment's text first intersects the viewport
# (for a frame, the part of it on screen), in milliseconds since the epoch, as the frame's clock says.
OBSERVE = """
(() => {
  const selector = %s;
  let watched = null;
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const box = entry.intersectionRect;
      if (entry.isIntersecting && box.width > 0 && box.height > 0 && !window.__benchFirstComment) {
        window.__benchFirstComment = performance.timeOrigin + entry.time;
        seen.disconnect();
      }
    }
  }, { threshold: [0, 0.01, 0.25, 0.5, 1] });
  const look = () => {
    const element = document.querySelector(selector);
    if (element && element !== watched && element.textContent.trim()) {
      watched = element;
      seen.observe(element);
      changes.disconnect();
    }
  };
  const changes = new MutationObserver(look);
  changes.observe(document, { childList: true, subtree: true, characterData: true });
})();
"""


def host_page(title, inner):
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ max-width: 760px; margin: 2rem auto; padding: 0 1rem; font: 17px/1.6 Georgia, serif; }}
.comment {{ list-style: none; margin: 1.5rem 0; }} .comment ol {{ padding-left: 2rem; }}</style>
</head><body>
<h1>{title}</h1>
<p>A post about something worth discussing.</p>
{inner}
</body></html>""".encode()


def floor_page(title, thread_json):
    """The comments Parley served, already in the page's HTML: one request and nothing to run."""
    def items(comments):
        return "".join(
            f'<li class="comment" id="comment-{c["id"]}"><article><header><b>{escape(c["author"]["name"] or "")}</b> '
            f'<time datetime="{c["created_at"]}">{c["created_at"][:10]}</time></header>'
            f'<div class="comment-content">{c["html"]}</div></article>'
            + (f'<ol>{items(c["replies"])}</ol>' if c["replies"] else "") + "</li>"
            for c in comments)

    page = json.loads(thread_json)
    return host_page(title, f'<h2>{page["thread"]["comment_count"]} Comments</h2><ol>{items(page["comments"])}</ol>')


def first_comment_ms(browser, url, selector, timeout=30):
    """Milliseconds from navigation start to the first comment's text on screen, in a fresh context."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-US")
    try:
        context.add_init_script(OBSERVE % json.dumps(selector))
        page = context.new_page()
        page.goto(url, wait_until="commit")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in page.frames:
                try:
                    seen = frame.evaluate("window.__benchFirstComment || null")
                except Exception:  # noqa: BLE001 (a frame that is navigating answers nothing yet)
                    continue
                if seen:
                    return seen - page.evaluate("performance.timeOrigin")
            time.sleep(0.02)
        raise RuntimeError(f"no comment became visible within {timeout} s at {url}")
    finally:
        context.close()


def browser_samples(loads, runs, workers):
    """{thread: {server: [ms, ...]}}: uncounted loads of each page, one per worker, then `runs` rounds of all."""
    from playwright.sync_api import sync_playwright

    samples = {key: {kind: [] for kind in loads[key]} for key in loads}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu"])
        try:
            # Uncounted: the first load of each page renders what a worker then keeps (Parley's frame page per
            # thread and version), which every later reader of that page is spared.
            for pages in list(loads.values()) * workers:
                for url, selector in pages.values():
                    first_comment_ms(browser, url, selector)
            for key, pages in loads.items():
                for _ in range(runs):
                    for kind, (url, selector) in pages.items():
                        samples[key][kind].append(first_comment_ms(browser, url, selector))
        finally:
            browser.close()
    return samples


# The run ----------------------------------------------------------------------------------------------

class Bench:
    """One run: its temporary folder, its servers, and what it measured. Everything it starts, it stops."""

    def __init__(self, args, cleanup):
        self.args, self.cleanup = args, cleanup
        self.started = time.monotonic()
        self.load = os.getloadavg()[0]  # other work on the machine shows in every figure
        self.workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="parley-bench-")))
        self.servers = {}
        self.probes = args.workers * (args.threads if args.worker_class == "gthread" else 1)
        # The blog's pages: one origin for the Parley embed, another for Isso's (Isso keys threads by path only).
        self.parley_pages, self.isso_pages = HostPages(), HostPages()
        cleanup.callback(self.parley_pages.stop)
        cleanup.callback(self.isso_pages.stop)
        self.origin = self.parley_pages.origin

    def say(self, text):
        print(f"[{time.monotonic() - self.started:4.0f} s] {text}", file=sys.stderr, flush=True)

    def seed(self, other_comments):
        self.say("writing the corpus into Isso's database")
        self.pages = corpus(other_comments)
        self.total = sum(len(p.comments) for p in self.pages)
        (self.workdir / "isso").mkdir()
        self.isso_cfg = isso_config(self.workdir / "isso", self.isso_pages.origin)
        seed_isso(self.isso_cfg, self.pages)
        if self.args.database == "postgresql":
            self.database_url = self.cleanup.enter_context(scratch_postgres(self.args.pg_admin_url))
        else:
            self.database_url = f"sqlite:///{self.workdir}/parley.sqlite3"
        self.say(f"importing its {self.total:,} comments into Parley ({self.args.database})")
        self.say("import: " + seed_parley(self.database_url, self.workdir / "isso" / "isso.db", self.origin))
        self.uris = [BIG, TEN, ONE] + [page.uri for page in self.pages[3:COUNTED_PAGES]]

    def start(self, name, app, env, port=None, pythonpath=None):
        args = self.args
        server = Gunicorn(name, app, env=env, port=port, pythonpath=pythonpath, workers=args.workers,
                          worker_class=args.worker_class, threads=args.threads, logdir=self.workdir)
        self.cleanup.callback(server.stop)
        self.servers[name] = server
        return server

    def start_parley(self, name, **config):
        # As `gunicorn app:app` runs it, configured by the environment. PUBLIC_URL is its own address as
        # the browser reaches it; it only names the server in the links it writes.
        port = free_port()
        return self.start(name, "app:app", {"DATABASE_URL": self.database_url, "PARLEY_SECRET_KEY": SECRET,
                                            "PARLEY_PUBLIC_URL": f"http://localhost:{port}",
                                            "PARLEY_BACKGROUND_SENDER": "false", **config}, port)

    def start_servers(self):
        args = self.args
        self.say(f"starting gunicorn: {args.workers} {args.worker_class} workers for each server")
        self.parley = self.start_parley("parley")
        # wrk sends the same few bodies again and again, with one form token: a load test, not readers.
        self.parley_post = self.start_parley("parley-post", PARLEY_RATELIMIT_ENABLED="false",
                                             PARLEY_SPAM_FORM_TOKENS="false")
        self.isso = self.start("isso", "isso.run:application", {"ISSO_SETTINGS": str(self.isso_cfg)})
        for server, path in ((self.parley, "/healthz"), (self.parley_post, "/healthz"), (self.isso, "/info")):
            server.wait_ready(path)
        self.say("checking that both servers answer the same threads")
        return check_seeded(self.parley, self.isso, self.origin, self.uris)

    def start_ceiling(self):
        """The ceiling app, serving what Parley answered for the 200-comment thread."""
        self.big = parley_thread(self.origin, BIG, limit=200)
        status, headers, plain = get(self.parley.port, self.big)
        status_gz, headers_gz, compressed = get(self.parley.port, self.big, {"Accept-Encoding": "gzip"})
        if status != 200 or status_gz != 200 or headers_gz.get("content-encoding") != "gzip":
            raise RuntimeError(f"Parley answered {status}, and {status_gz} {headers_gz.get('content-encoding')} "
                               "when asked for gzip")
        if gzip.decompress(compressed) != plain:
            raise RuntimeError("Parley's gzipped thread is not its plain one")
        self.etag = headers["etag"].strip('"')
        if get(self.parley.port, self.big, {"If-None-Match": f'"{self.etag}"'})[0] != 304:
            raise RuntimeError("Parley does not answer 304 to its own ETag")
        self.sizes = {"Parley": len(plain), "Parley gzipped": len(compressed),
                      "Isso": len(get(self.isso.port, f"/?uri={quote(BIG)}")[2])}
        folder = self.workdir / "ceiling"
        folder.mkdir()
        (folder / "thread.json").write_bytes(plain)
        (folder / "thread.json.gz").write_bytes(compressed)  # Parley's own gzip output, byte for byte
        (folder / "meta.json").write_text(json.dumps({"etag": self.etag, "content_type": headers["content-type"]}))
        ten = get(self.parley.port, parley_thread(self.origin, TEN, limit=200))[2]
        (folder / "floor-big.html").write_bytes(floor_page(self.pages[0].title, plain))
        (folder / "floor-ten.html").write_bytes(floor_page(self.pages[1].title, ten))
        self.ceiling = self.start("ceiling", "_servers:ceiling_app()", {"BENCH_CEILING_DIR": str(folder)},
                                  pythonpath=BENCH)
        self.ceiling.wait_ready("/hello")
        _, served_headers, served = get(self.ceiling.port, "/bytes")
        if served != plain or served_headers["content-type"] != headers["content-type"]:
            raise RuntimeError("the ceiling does not serve Parley's bytes")

    def prepare_posting(self):
        """A form token as the comment frame asks for one, and one post to each server: both must publish it."""
        self.form_token = json.loads(get(self.parley_post.port, "/api/v1/form-token?site=bench")[2])["form_token"]
        self.rng = random.Random(7)
        time.sleep(3.5)  # the spam checks hold what comes back sooner than people write
        parley = post_bodies("Parley", self.origin, self.form_token, "check", self.rng)[0].replace("@@N@@", "0")
        status, _, raw = get(self.parley_post.port, "/api/v1/comments",
                             {"Content-Type": "application/json", "Origin": self.origin}, "POST", parley)
        state = json.loads(raw)["comment"]["status"] if status == 201 else raw[:300]
        if state != "approved":
            raise RuntimeError(f"Parley did not publish a posted comment: {status} {state!r}")
        isso = post_bodies("Isso", self.origin, None, "check", self.rng)[0].replace("@@N@@", "0")
        status, _, raw = get(self.isso.port, f"/new?uri={quote(POSTED)}", {"Content-Type": "application/json"},
                             "POST", isso)
        if status != 201 or json.loads(raw).get("mode") != 1:
            raise RuntimeError(f"Isso did not publish a posted comment: {status} {raw[:300]!r}")
        self.posted = {"Parley": 1, "Isso": 1}

    def scenarios(self):
        scripts = self.workdir / "lua"
        scripts.mkdir(exist_ok=True)
        lua_json_post(scripts / "isso-count.lua", self.uris)
        isso_thread = {"Isso": "Isso never gzips: its plain figure, from the row above"}
        no_etag = {"Isso": "Isso sends no ETag"}
        not_modified = (f'If-None-Match: "{self.etag}"',)
        gzip_please = ("Accept-Encoding: gzip",)
        every = [
            Scenario("thread", f"whole thread, {BIG_SIZE} comments", {
                "Parley": Target("parley", self.big),
                "Isso": Target("isso", f"/?uri={quote(BIG)}"),
                "ceiling": Target("ceiling", "/bytes")}, "ceiling"),
            Scenario("thread_gzip", "same, Accept-Encoding: gzip", {
                "Parley": Target("parley", self.big, gzip_please),
                "ceiling": Target("ceiling", "/bytes-gz", gzip_please)}, "ceiling", isso_thread),
            Scenario("one", "thread of 1 comment", {
                "Parley": Target("parley", parley_thread(self.origin, ONE)),
                "Isso": Target("isso", f"/?uri={quote(ONE)}"),
                "ceiling": Target("ceiling", "/hello")}, "Isso"),
            Scenario("not_modified", "304 Not Modified (If-None-Match)", {
                "Parley": Target("parley", self.big, not_modified),
                "ceiling": Target("ceiling", "/bytes", not_modified)}, "ceiling", no_etag),
            Scenario("counts", f"counts for {len(self.uris)} pages", {
                "Parley": Target("parley", parley_counts(self.origin, self.uris)),
                "Isso": Target("isso", "/count", script=scripts / "isso-count.lua", body=json.dumps(self.uris))},
                     "Isso"),
            Scenario("post", "post a comment", {
                "Parley": Target("parley-post", "/api/v1/comments", (f"Origin: {self.origin}",),
                                 scripts / "post-Parley.lua"),
                "Isso": Target("isso", f"/new?uri={quote(POSTED)}", (f"Origin: {self.isso_pages.origin}",),
                               scripts / "post-Isso.lua")}, "Isso"),
        ]
        wanted = self.args.only.split(",") if self.args.only else SCENARIO_KEYS
        return [scenario for scenario in every if scenario.key in wanted]

    def new_posts(self, scenarios, tag):
        """Fresh texts for the posting scripts: the spam checks hold a text posted twice."""
        for kind, target in [item for s in scenarios if s.key == "post" for item in s.targets.items()]:
            bodies = post_bodies(kind, self.origin, self.form_token, f"{tag} of {uuid.uuid4().hex[:8]}", self.rng)
            lua_post(target.script, bodies)
            target.body = bodies[0]

    def warm_up(self, scenarios):
        """Two requests of each kind per worker, so that none pays for its first imports and caches while timed."""
        self.say("warming every worker up")
        self.new_posts(scenarios, "warm-up")
        for scenario in scenarios:
            for kind, target in scenario.targets.items():
                server = self.servers[target.server]
                statuses = server.at_once([target.request(f"w{i}") for i in range(2 * self.probes)])
                if any(status >= 400 for status in statuses):
                    raise RuntimeError(f"{kind} answered {statuses} to {target.path}")
                if scenario.key == "post":
                    self.posted[kind] += len(statuses)

    def measure(self, rounds, duration):
        """{(scenario, server): [wrk's figures, one per round]}."""
        scenarios, results = self.scenarios(), {}
        self.warm_up(scenarios)
        self.say(f"{rounds} round(s) of {duration} s per server and scenario")
        for number in range(1, rounds + 1):
            self.new_posts(scenarios, f"round {number}")
            for scenario in scenarios:
                for kind in SERVERS:
                    if target := scenario.targets.get(kind):
                        server = self.servers[target.server]
                        measured = wrk(server.port, target, duration)
                        server.settle(IDLE_PATHS[target.server], self.probes)
                        results.setdefault((scenario.key, kind), []).append(measured)
                        if scenario.key == "post":
                            self.posted[kind] += measured["requests"]
            self.say(f"round {number} done")
        return scenarios, results

    def statuses(self):
        """What became of the comments posted, read from each database: published, or held by a check."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        with engine.connect() as connection:
            parley = dict(connection.execute(text(
                "SELECT comments.status, COUNT(*) FROM comments JOIN threads ON threads.id = comments.thread_id "
                "WHERE threads.url = :url GROUP BY comments.status"), {"url": self.origin + POSTED}).all())
        engine.dispose()
        with contextlib.closing(sqlite3.connect(self.workdir / "isso" / "isso.db")) as connection:
            isso = dict(connection.execute(
                "SELECT mode, COUNT(*) FROM comments JOIN threads ON threads.id = comments.tid WHERE threads.uri = ? "
                "GROUP BY mode", (POSTED,)).fetchall())
        return {"Parley": parley, "Isso": {ISSO_MODES.get(mode, str(mode)): n for mode, n in isso.items()}}

    def browse(self, runs):
        self.say(f"browser: {runs} loads of each embed and the floor, per thread")
        parley = (f'<div id="parley-thread"></div>\n<script src="http://localhost:{self.parley.port}/embed.js" '
                  'data-parley-site="bench" async></script>')
        isso = (f'<script data-isso="http://localhost:{self.isso.port}/" src="http://localhost:{self.isso.port}'
                '/js/embed.min.js"></script>\n<section id="isso-thread"></section>')
        loads = {}
        for key, page in (("big", self.pages[0]), ("ten", self.pages[1])):
            self.parley_pages.pages[page.uri] = host_page(page.title, parley)
            self.isso_pages.pages[page.uri] = host_page(page.title, isso)
            loads[key] = {"Parley": (self.origin + page.uri, PARLEY_SELECTOR),
                          "Isso": (self.isso_pages.origin + page.uri, ISSO_SELECTOR),
                          "floor": (f"http://127.0.0.1:{self.ceiling.port}/floor/{key}", FLOOR_SELECTOR),
                          "iframe floor": (self.origin + f"/frame-floor/{key}", FLOOR_SELECTOR)}
            self.parley_pages.pages[f"/frame-floor/{key}"] = host_page(page.title, (
                f'<div id="parley-thread"></div>\n<script src="http://localhost:{self.ceiling.port}/frame-floor.js" '
                f'data-thread="{key}" async></script>'))
        return browser_samples(loads, runs, self.args.workers)


def table_rows(scenarios, results, browser):
    """Rows to print and their JSON, one per scenario and server."""
    rows, data = [], []
    for scenario in scenarios:
        parley_rps = statistics.median(r["rps"] for r in results[(scenario.key, "Parley")])
        base_rps = statistics.median(r["rps"] for r in results[(scenario.key, scenario.compare_to)])
        # A server too slow to finish one request within a short run (--quick on a busy machine) has no ratio.
        ratio = f"{parley_rps / base_rps:.2f} × {scenario.compare_to}'s req/s" if base_rps else "–"
        label = scenario.label
        for kind in SERVERS:
            found, note = results.get((scenario.key, kind)), scenario.notes.get(kind, "")
            if found is None and not note:
                continue
            if found is None and scenario.key == "thread_gzip":
                found = results.get(("thread", kind))
            entry = {"scenario": scenario.key, "label": scenario.label, "server": kind, "note": note or None}
            if found is None:
                rows.append((label, kind, "–", "–", "–", "–", "–", note))
            else:
                answered = [r for r in found if r["requests"]]  # latencies exist only where requests ended
                rps = statistics.median(r["rps"] for r in found)
                p50, p99 = (statistics.median(r[key] for r in answered) if answered else None for key in ("p50", "p99"))
                errors, requests = sum(r["errors"] for r in found), sum(r["requests"] for r in found)
                rows.append((label, kind, f"{rps:,.0f}", "–" if p50 is None else f"{p50:.1f}",
                             "–" if p99 is None else f"{p99:.1f}", f"{requests:,}", errors,
                             ratio if kind == "Parley" else note))
                entry |= {"req_per_s": rps, "p50_ms": p50, "p99_ms": p99, "requests": requests, "errors": errors,
                          "rounds": found}
                if kind == "Parley":
                    entry |= {"ratio": parley_rps / base_rps if base_rps else None, "ratio_to": scenario.compare_to}
            data.append(entry)
            label = ""
    for key, size in (("big", BIG_SIZE), ("ten", TEN_SIZE)):
        if key not in browser:
            continue
        floor, iframe = (statistics.median(browser[key][kind]) for kind in ("floor", "iframe floor"))
        label = f"first comment on screen, {size} comments"
        for kind, samples in browser[key].items():
            ms = statistics.median(samples)
            ratio = {"floor": "one request with the comments in it",
                     "iframe floor": f"{ms / floor:.2f} × the floor: the page's script puts it in a frame",
                     "Parley": f"{ms / floor:.2f} × the floor, {ms / iframe:.2f} × the iframe floor"}
            rows.append((label, kind, "", f"{ms:.0f}", "", "", "", ratio.get(kind, f"{ms / floor:.2f} × the floor")))
            data.append({"scenario": f"first_comment_{key}", "label": label, "server": kind, "median_ms": ms,
                         "samples_ms": samples, "ratio_to_floor": ms / floor, "ratio_to_iframe_floor": ms / iframe})
            label = ""
    return rows, data


def describe(statuses):
    return ", ".join(f"{count:,} {status}" for status, count in sorted(statuses.items())) or "none"


def format_table(rows):
    header = ("what", "server", "req/s", "median ms", "p99 ms", "requests", "errors", "ratio")
    table = [header] + rows
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [str(cell).rjust(width) if 2 <= i <= 6 else str(cell).ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def versions():
    try:
        parley = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--tags"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        parley = "unknown"
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()
    return {"parley": parley, "isso": metadata.version("isso"), "gunicorn": metadata.version("gunicorn"),
            "wrk": wrk_version[1] if len(wrk_version) > 1 else "?", "python": sys.version.split()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s and 3 browser loads: under 2 minutes")
    parser.add_argument("--smoke", action="store_true",
                        help="seed a smaller corpus, start Parley and Isso, check that they answer it; no timings")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="Parley's database (Isso only has SQLite)")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN, help="where to create the scratch PostgreSQL database")
    parser.add_argument("--rounds", type=int, help="rounds of every scenario (default 3)")
    parser.add_argument("--duration", type=int, help="seconds of each wrk run (default 5)")
    parser.add_argument("--browser-runs", type=int, help="loads of each embed per thread (default 5; 0: none)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server (default 2)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads of each gthread worker (default 4)")
    parser.add_argument("--other-comments", type=int, help=f"comments in the {OTHER_THREADS} other threads "
                                                           f"(default {OTHER_COMMENTS:,}; with --smoke 1,000)")
    parser.add_argument("--json", metavar="PATH", help="also write the results there, as JSON")
    parser.add_argument("--only", metavar="KEYS", help="measure only these scenarios, comma-separated: "
                                                       f"{', '.join(SCENARIO_KEYS)}")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (2 if args.quick else 5)
    runs = args.browser_runs if args.browser_runs is not None else (3 if args.quick else 5)
    other = args.other_comments if args.other_comments is not None else (1_000 if args.smoke else OTHER_COMMENTS)
    if min(rounds, duration, args.workers, args.threads) < 1 or runs < 0 or other < OTHER_THREADS:
        parser.error(f"rounds, duration, workers and threads must be at least 1, --other-comments at least "
                     f"{OTHER_THREADS}")
    if args.only and not set(args.only.split(",")) <= set(SCENARIO_KEYS):
        parser.error(f"--only takes some of {', '.join(SCENARIO_KEYS)}")
    if not args.smoke and not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    try:
        metadata.version("isso")
    except metadata.PackageNotFoundError:
        raise SystemExit("Isso is the peer: pip install isso") from None
    # Parley as configured by default: no settings from this shell reach the servers.
    for name in [n for n in os.environ if n.startswith("PARLEY_") or n in ("DATABASE_URL", "REDIS_URL")]:
        del os.environ[name]
    # A kill cleans up as Ctrl-C does: through the finally clauses.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with contextlib.ExitStack() as cleanup:
        bench = Bench(args, cleanup)
        bench.seed(other)
        seeded = bench.start_servers()
        if args.smoke:
            for uri, (in_parley, in_isso) in seeded.items():
                print(f"smoke: {uri}: Parley {in_parley}, Isso {in_isso} comments")
            print(f"smoke: {bench.total:,} comments seeded; the counts of {len(bench.uris)} pages agree")
            return
        bench.start_ceiling()
        bench.prepare_posting()
        scenarios, results = bench.measure(rounds, duration)
        statuses = bench.statuses()
        browser = bench.browse(runs) if runs else {}
        failed = report(args, bench, scenarios, results, browser, statuses, rounds, duration, runs)
        if failed:
            for server in bench.servers.values():  # before the folder with the logs is deleted
                print(f"\n{server.name}'s log ends:\n{server.tail()}", file=sys.stderr)
            raise SystemExit(f"errors in {', '.join(failed)}")


def report(args, bench, scenarios, results, browser, statuses, rounds, duration, runs):
    rows, data = table_rows(scenarios, results, browser)
    info = versions()
    workers = f"{args.workers} {args.worker_class} workers" + (
        f" of {args.threads} threads" if args.worker_class == "gthread" else "")
    sizes = bench.sizes
    table = format_table(rows)
    print(textwrap.dedent(f"""
        Parley {info['parley']} against Isso {info['isso']}, each under gunicorn {info['gunicorn']} with {workers};
        Parley on {args.database}, Isso on SQLite. nproc: {os.cpu_count()}, load average {bench.load:.1f} at the start.
        Python {info['python']}, wrk {info['wrk']}.
        {bench.total:,} comments on {len(bench.pages)} pages. wrk -t2 -c8, {rounds} round(s) of {duration} s per server
        and scenario, medians over rounds. The {BIG_SIZE}-comment thread is {sizes['Parley']:,} bytes from Parley
        ({sizes['Parley gzipped']:,} gzipped), {sizes['Isso']:,} from Isso.
    """))
    print(table)
    notes = textwrap.dedent(f"""
        req/s: higher is better. Ratio: Parley's req/s over the ceiling's (plain Flask under the same gunicorn,
        serving the bytes Parley answered, Parley's gzip of them, a 304 for a fixed ETag, or "Hello, World!"
        beside the 1-comment thread) or over Isso's. median and p99 ms: wrk's latency percentiles. errors: answers
        other than 2xx and 3xx, and socket errors, over all rounds. Posting goes to another page than the threads
        read, on a second Parley with rate limits off and the spam checks on. The posted comments, as stored after
        the run: Parley {describe(statuses['Parley'])}, Isso {describe(statuses['Isso'])}; wrk counted
        {bench.posted['Parley']:,} and {bench.posted['Isso']:,} answers (posts still queued when wrk stopped are stored
        without being counted).
    """).rstrip()
    if runs:
        notes += textwrap.dedent(f"""
            First comment on screen: ms from navigation start until the first comment's text is visible, median of
            {runs} loads in headless Chromium, the page on 127.0.0.1 and the comments from localhost, a fresh browser
            context per load (nothing cached), third-party cookies blocked. The iframe floor is the same page whose
            script, from localhost, puts the floor page in a frame: what any embed in a cross-site iframe pays first.
        """).rstrip()
    print(notes)
    print(f"\nTook {time.monotonic() - bench.started:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": {"nproc": os.cpu_count(), "load_average_at_start": bench.load}, "versions": info,
            "settings": {"database": args.database, "workers": args.workers, "worker_class": args.worker_class,
                         "threads": args.threads if args.worker_class == "gthread" else None, "rounds": rounds,
                         "duration_s": duration, "wrk": "-t2 -c8 --latency", "browser_runs": runs,
                         "comments": bench.total, "pages": len(bench.pages)},
            "response_bytes": sizes, "posts_answered": bench.posted, "posts_stored": statuses,
            "rows": data, "table": table}, indent=2))
    failed = [f"{r['label']} ({r['server']})" for r in data if r.get("errors")]
    return failed + [f"posted comments held ({server}: {describe(found)})" for server, found in statuses.items()
                     if set(found) != {"approved"}]


if __name__ == "__main__":
    main()
