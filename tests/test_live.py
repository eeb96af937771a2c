"""Live updates: the event stream of a thread, read from real threaded servers, and what makes it speak."""
import json
import queue
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import GUEST, ORIGIN, PAGE, REDIS_URL, require_redis
from dashboard_helpers import comment_on, submit, thread_html
from helpers import serve_in_background
from processes import healthz_seconds
from tcp_proxy import TcpProxy
from test_concurrency import Gunicorn, _prepare
from werkzeug.serving import make_server

from widget import live
from widget.extensions import db
from widget.models import Comment

WXR = Path(__file__).resolve().parent / "data" / "import" / "wordpress.xml"
SOURDOUGH = "https://blog.example.com/2023/05/sourdough/"
# Short, so that each test sees heartbeats and ends quickly; the poll is long, so an event that comes
# at once came from an announcement, not from the stream looking on its own.
QUICK = {"LIVE_HEARTBEAT_SECONDS": 0.5, "LIVE_POLL_SECONDS": 60, "LIVE_MAX_SECONDS": 30}


class Server:
    """An app served by Werkzeug from a background thread, as `flask run` serves it (threaded unless told)."""

    def __init__(self, app, threaded=True):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=threaded)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = serve_in_background(self._server)

    def stop(self):
        live.broker(self.app).stop()  # ends the streams still open, which would outlive the test's database
        self._server.shutdown()
        self._thread.join(timeout=5)


class Stream:
    """One reader's event stream, read on its own thread; the test takes its blocks with timeouts."""

    def __init__(self, server, url=PAGE, site="blog", headers=None, **params):
        self.response = requests.get(f"{server.url}/api/v1/threads/live", params={"site": site, "url": url} | params,
                                     headers={"Origin": ORIGIN} | (headers or {}), stream=True, timeout=(5, 30))
        self.blocks: queue.Queue = queue.Queue()
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        block = []
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line:
                    block.append(line)
                elif block:
                    self.blocks.put(block)
                    block = []
        except (requests.RequestException, AttributeError):  # closed by the test (urllib3 then reads from None)
            pass
        self.blocks.put(None)  # the server ended the stream

    def block(self, timeout=3.0):
        return self.blocks.get(timeout=timeout)

    def opened(self):
        """The first block, the reconnection delay in milliseconds: once it came, every change is announced."""
        (retry,) = self.block()
        assert retry.startswith("retry: ")
        return int(retry.removeprefix("retry: "))

    def event(self, timeout=3.0):
        """The next `changed` event as {"id", "event", "data"}, skipping heartbeats; AssertionError if none comes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                block = self.block(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no event within {timeout} s") from None
            assert block is not None, "the stream ended"
            if any(line.startswith("event:") for line in block):
                fields = dict(line.split(": ", 1) for line in block)
                return fields | {"data": json.loads(fields["data"])}

    def events_within(self, seconds):
        """The `changed` events that come in this long (heartbeats skipped)."""
        found, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                block = self.block(left)
            except queue.Empty:
                break
            assert block is not None, "the stream ended"
            found += [block] if any(line.startswith("event:") for line in block) else []
        return found

    def quiet(self, seconds):
        """Nothing but heartbeats for this long."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                block = self.block(left)
            except queue.Empty:
                return
            assert block == [": ping"], block

    def close(self):
        self.response.close()


def add_site(app):
    added = app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert added.exit_code == 0, added.output


@pytest.fixture
def app(make_app):
    return make_app(**QUICK)


@pytest.fixture
def serve():
    servers = []

    def serve_(app, threaded=True):
        servers.append(Server(app, threaded))
        return servers[-1]
    yield serve_
    for server in servers:
        server.stop()


@pytest.fixture
def listen(app, site, serve):
    """Open a reader's stream on the app, served live; the stream is ready when this returns."""
    server = serve(app)
    streams = []

    def listen_(**options):
        stream = Stream(server, **options)
        assert stream.response.status_code == 200, stream.response.text
        stream.opened()
        streams.append(stream)
        return stream
    yield listen_
    for stream in streams:
        stream.close()


# The stream itself ------------------------------------------------------------------------------------

def test_the_stream_opens_with_its_headers_a_retry_delay_and_heartbeats(app, site, serve):
    stream = Stream(serve(app))
    assert stream.response.status_code == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    assert stream.response.headers["Cache-Control"] == "no-cache, no-transform"
    assert stream.response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in stream.response.headers
    assert 3750 <= stream.opened() <= 6250  # LIVE_RETRY_SECONDS, give or take a quarter
    assert stream.block(timeout=2) == [": ping"]
    assert stream.block(timeout=2) == [": ping"]
    stream.close()


def test_a_reader_behind_gets_an_event_at_once(post, listen):
    post("one")
    post("two")  # the thread is at version 3: made at 1, then one bump per comment
    behind = listen(headers={"Last-Event-ID": "2"})
    assert behind.event(timeout=1) == {"id": "3", "event": "changed", "data": {"version": 3, "comment_count": 2}}
    by_query = listen(last_event_id="1")
    assert by_query.event(timeout=1)["id"] == "3"
    # After a reconnect the browser's Last-Event-ID is newer than the URL's: it wins.
    up_to_date = listen(last_event_id="1", headers={"Last-Event-ID": "3"})
    up_to_date.quiet(1)
    fresh = listen()  # nothing to compare with: it hears of the next change
    fresh.quiet(0.6)
    post("three")
    assert fresh.event()["data"] == {"version": 4, "comment_count": 3}
    assert up_to_date.event()["id"] == "4"


def test_a_page_without_comments_is_at_version_zero_and_its_first_comment_is_announced(post, listen):
    stream = listen(url="https://blog.example.com/new-post", last_event_id="0")
    stream.quiet(0.6)
    post("first!", url="https://blog.example.com/new-post")
    assert stream.event()["data"] == {"version": 2, "comment_count": 1}
    post("and on another page")  # not this stream's thread
    stream.quiet(1)


def test_the_stream_ends_after_its_time_so_the_browser_reconnects(make_app, serve):
    app = make_app(**QUICK | {"LIVE_MAX_SECONDS": 1})
    add_site(app)
    stream = Stream(serve(app))
    started = time.monotonic()
    blocks = [stream.block()]
    while blocks[-1] is not None:
        blocks.append(stream.block())
    assert 0.9 < time.monotonic() - started < 3
    assert blocks[0][0].startswith("retry: ") and blocks[1:] == [[": ping"]] * (len(blocks) - 2) + [None]


@pytest.mark.parametrize("params,status,code", [
    ({"site": "nope", "url": PAGE}, 404, "unknown_site"),
    ({"site": "blog", "url": "ftp://blog.example.com/x"}, 400, "invalid_url"),
    ({"site": "blog", "url": "https://"}, 400, "invalid_url"),
    ({"site": "blog"}, 400, "missing_thread"),
    ({"site": "blog", "url": PAGE, "last_event_id": "-1"}, 400, "invalid_last_event_id"),
    ({"site": "blog", "url": PAGE, "last_event_id": "99999999999"}, 400, "invalid_last_event_id"),
])
def test_bad_input_is_refused_in_the_apis_words(app, site, serve, params, status, code):
    response = requests.get(f"{serve(app).url}/api/v1/threads/live", params=params, timeout=5)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_bad_last_event_id_header_and_a_foreign_origin_are_refused(app, site, serve):
    server = serve(app)
    url = f"{server.url}/api/v1/threads/live"
    params = {"site": "blog", "url": PAGE}
    bad = requests.get(url, params=params, headers={"Last-Event-ID": "seven"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_last_event_id"
    foreign = requests.get(url, params=params, headers={"Origin": "https://evil.example"}, timeout=5)
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_the_sites_own_pages_may_read_the_stream_across_origins(app, site, serve):
    stream = Stream(serve(app), headers={"Origin": ORIGIN})
    assert stream.response.status_code == 200
    assert stream.response.headers["Access-Control-Allow-Origin"] == ORIGIN
    stream.close()


def test_a_server_that_is_not_multithreaded_answers_no_content(app, site, serve):
    """A stream would hold a sync worker for minutes: 204 makes EventSource stop asking."""
    server = serve(app, threaded=False)
    response = requests.get(f"{server.url}/api/v1/threads/live", params={"site": "blog", "url": PAGE}, timeout=5)
    assert response.status_code == 204 and response.content == b""
    # The same worker still answers everything else.
    assert requests.get(f"{server.url}/api/v1/threads", params={"site": "blog", "url": PAGE}, timeout=5).ok


def test_streams_beyond_the_bound_are_refused_until_one_ends(make_app, serve):
    app = make_app(**QUICK | {"LIVE_MAX_CONNECTIONS": 2, "LIVE_HEARTBEAT_SECONDS": 0.2})
    add_site(app)
    server = serve(app)
    first, second = Stream(server), Stream(server)
    assert (first.response.status_code, second.response.status_code) == (200, 200)
    third = requests.get(f"{server.url}/api/v1/threads/live", params={"site": "blog", "url": PAGE}, timeout=5)
    assert third.status_code == 503
    assert third.json()["error"]["code"] == "too_many_streams" and int(third.headers["Retry-After"]) > 0
    # The rest of the API is not held back.
    assert requests.get(f"{server.url}/api/v1/threads", params={"site": "blog", "url": PAGE}, timeout=5).ok
    # A reader who leaves frees their slot: the server notices at its next heartbeat.
    first.close()
    deadline = time.monotonic() + 5
    while True:
        again = Stream(server)
        if again.response.status_code == 200:
            break
        assert again.response.status_code == 503 and time.monotonic() < deadline
        time.sleep(0.1)
    again.close()
    second.close()


def test_one_address_cannot_take_every_stream(make_app, serve):
    app = make_app(**QUICK | {"LIVE_MAX_CONNECTIONS": 4, "LIVE_MAX_PER_ADDRESS": 2, "LIVE_HEARTBEAT_SECONDS": 0.2,
                              "PROXY_COUNT": 1})
    add_site(app)
    server = serve(app)
    greedy, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.2"}
    held = [Stream(server, headers=greedy), Stream(server, headers=greedy)]
    assert [stream.response.status_code for stream in held] == [200, 200]
    third = Stream(server, headers=greedy)
    assert third.response.status_code == 429
    assert third.response.json()["error"]["code"] == "too_many_streams_from_you"
    assert int(third.response.headers["Retry-After"]) > 0
    # Another reader is not shut out: the process still has streams for them.
    neighbour = Stream(server, headers=other)
    assert neighbour.response.status_code == 200
    # A stream the address gives up is its own to open again, once the server notices at a heartbeat.
    held.pop().close()
    deadline = time.monotonic() + 5
    while True:
        again = Stream(server, headers=greedy)
        if again.response.status_code == 200:
            break
        assert again.response.status_code == 429 and time.monotonic() < deadline
        time.sleep(0.1)
    for stream in (again, neighbour, *held):
        stream.close()


def test_an_ipv6_customer_rotating_its_64s_cannot_take_every_stream(make_app, serve):
    app = make_app(**QUICK | {"LIVE_MAX_CONNECTIONS": 20, "LIVE_MAX_PER_ADDRESS": 2, "PROXY_COUNT": 1})
    add_site(app)
    server = serve(app)
    streams = []

    def open_from(address):
        stream = Stream(server, headers={"X-Forwarded-For": address})
        streams.append(stream)
        return stream.response.status_code

    try:
        # Two streams per /64, four per /56 (its 256 /64s together), eight per /48.
        assert [open_from(f"2001:db8:1:1{n:02x}::1") for n in range(6)] == [200] * 4 + [429] * 2
        assert [open_from(f"2001:db8:1:{n + 2:x}00::1") for n in range(6)] == [200] * 4 + [429] * 2
        # Other readers still find streams.
        assert open_from("2001:db8:2::1") == 200 and open_from("198.51.100.2") == 200
    finally:
        for stream in streams:
            stream.close()


def _raw_stream(port):
    """A live stream read by hand, as a browser's EventSource holds it: the socket, once its answer began."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /api/v1/threads/live?site=blog&url={PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Origin: {ORIGIN}\r\nAccept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


def test_streams_and_half_sent_headers_never_take_every_thread_and_a_closed_stream_frees_its_slot(
        fresh_database_url):
    """The production set-up without a proxy in front: one gunicorn worker, its default 66 threads and 50 streams."""
    _prepare(fresh_database_url)
    server = Gunicorn(fresh_database_url, workers=1, env={
        "PARLEY_BACKGROUND_SENDER": "false", "PARLEY_GRACEFUL_TIMEOUT": "5",
        "PARLEY_LIVE_MAX_PER_ADDRESS": "50"})  # every stream of this test comes from 127.0.0.1
    streams, slow = [], []
    try:
        server.wait_until_healthy()
        streams = [_raw_stream(server.port) for _ in range(50)]
        assert [status for _, status in streams] == [200] * 50
        # Twenty clients that send half a request's head and then nothing, and ten that send a head and part of
        # a small body: each used to hold a thread.
        for n in range(30):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " if n < 20 else
                         b"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 300\r\n\r\n{\"site\": \"blog\", ")
            slow.append(sock)
        time.sleep(0.5)
        assert healthz_seconds(server.port, timeout=5) < 2
        # Readers who leave give their stream back at once, not at the next heartbeat 20 s later.
        for sock, _ in streams:
            sock.close()
        deadline, streams = time.monotonic() + 5, []
        while len(streams) < 50:
            sock, status = _raw_stream(server.port)
            if status == 200:
                streams.append((sock, status))
            else:
                sock.close()
                assert status in (429, 503) and time.monotonic() < deadline, f"{len(streams)} streams after 5 s"
                time.sleep(0.1)
    finally:
        for sock in [s for s, _ in streams] + slow:
            sock.close()
        server.stop()


# What the stream announces -------------------------------------------------------------------------

def test_a_new_comment_is_announced(post, listen):
    stream = listen()
    post("Hello")
    assert stream.event()["data"]["comment_count"] == 1


def test_an_edit_a_like_and_a_delete_are_each_announced(client, post, listen):
    created = post("Hello").get_json()
    comment_id, token = created["comment"]["id"], created["edit_token"]
    stream = listen()
    headers = {"Origin": ORIGIN, "X-Edit-Token": token}
    assert client.patch(f"/api/v1/comments/{comment_id}", json={"body": "Edited"}, headers=headers).status_code == 200
    edited = stream.event()
    assert edited["data"] == {"version": 3, "comment_count": 1}
    assert client.post(f"/api/v1/comments/{comment_id}/like", headers={"Origin": ORIGIN}).status_code == 200
    assert stream.event()["data"] == {"version": 4, "comment_count": 1}
    assert client.delete(f"/api/v1/comments/{comment_id}", headers=headers).status_code == 204
    assert stream.event()["data"] == {"version": 5, "comment_count": 0}


def test_a_run_of_held_and_spam_comments_is_never_announced_nor_reread(app, client, runner, set_site, post, read,
                                                                        listen):
    # Each announcement makes every open frame read the thread again, and tells its reader that something
    # was held: a spam run would be both a flood of reads and a signal.
    post("Published before the run")
    set_site("moderation", "all")
    assert runner.invoke(args=["site", "set", "blog", "blocked_words", "casino"]).exit_code == 0
    stream = listen()
    public = read()
    held = [post(f"Held number {n}").get_json() for n in range(10)]
    spam = [post(f"The best casino, number {n}").get_json() for n in range(10)]
    assert {c["comment"]["status"] for c in held + spam} == {"pending"}  # spam looks held to its author
    # Their authors change them while they wait: nobody else sees that either.
    headers = {"Origin": ORIGIN, "X-Edit-Token": held[0]["edit_token"]}
    assert client.patch(f"/api/v1/comments/{held[0]['comment']['id']}", json={"body": "edited"},
                        headers=headers).status_code == 200
    assert client.delete(f"/api/v1/comments/{held[1]['comment']['id']}", headers=headers | {
        "X-Edit-Token": held[1]["edit_token"]}).status_code == 204
    with app.app_context():
        assert sorted(db.session.scalars(db.select(Comment.status).distinct())) == ["approved", "pending", "spam"]
    assert stream.events_within(1.5) == []
    # Every reader's copy of the thread is still good: the shared read cache and CDNs keep theirs too.
    assert read(headers={"If-None-Match": public.headers["ETag"]}).status_code == 304
    assert thread_html(client) == ["<p>Published before the run</p>"]


def test_held_and_spam_comments_on_a_page_without_comments_are_never_announced(app, admin, client, set_site,
                                                                               listen):
    # The first comment on a page makes its thread: one that waits must not tell the page's open frames.
    fresh = "https://blog.example.com/posts/fresh"
    set_site("moderation", "all")
    app.config["LIVE_POLL_SECONDS"] = 0.2  # it looks by itself too, as it does after any change on the site
    stream = listen(url=fresh)
    held = comment_on(client, "Held", url=fresh, title="CHEAP PILLS at spam.example")
    comment_on(client, "A bot's", url=fresh, honeypot="filled", author={"name": "Bot", "email": "bot@example.net"})
    assert stream.events_within(1.5) == []
    response = submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"})
    assert response.status_code in (200, 302)
    assert stream.event()["data"] == {"version": 1, "comment_count": 1}


def test_a_moderator_approving_a_held_comment_is_announced(app, admin, client, set_site, listen):
    set_site("moderation", "all")
    held = comment_on(client, "wait for it")
    stream = listen()
    response = submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"})
    assert response.status_code in (200, 302)
    assert stream.event()["data"]["comment_count"] == 1
    assert thread_html(client) == ["<p>wait for it</p>"]


def test_an_import_is_announced_and_a_dry_run_is_not(runner, listen):
    stream = listen(url=SOURDOUGH)
    move = "http://old.example.com/→https://blog.example.com/"
    dry = runner.invoke(args=["import", "wordpress", str(WXR), "--site", "blog", "--map-url", move, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    stream.quiet(1)  # rolled back: nothing changed, nothing to tell
    real = runner.invoke(args=["import", "wordpress", str(WXR), "--site", "blog", "--map-url", move])
    assert real.exit_code == 0, real.output
    assert stream.event()["data"]["comment_count"] > 0


# Several workers and machines -------------------------------------------------------------------------


@pytest.fixture
def two_instances(make_app, fresh_postgres_url, serve):
    """Two apps (two machines, say) on one PostgreSQL database, each served by its own threaded server."""
    def make(count=2, **config):
        apps = [make_app(SQLALCHEMY_DATABASE_URI=fresh_postgres_url, **QUICK | config) for _ in range(count)]
        add_site(apps[0])
        return [serve(app) for app in apps]
    return make


def post_to(server, body):
    response = requests.post(f"{server.url}/api/v1/comments", headers={"Origin": ORIGIN}, timeout=5,
                             json={"site": "blog", "url": PAGE, "body": body, "author": GUEST})
    assert response.status_code == 201, response.text


def test_a_comment_posted_on_one_instance_reaches_a_reader_of_another_through_redis(two_instances):
    require_redis()
    a, b = two_instances(REDIS_URL=REDIS_URL, LIVE_CHANNEL=f"parley-test-{uuid.uuid4().hex}:live")
    reader = Stream(b)
    reader.opened()
    reader.quiet(0.6)
    started = time.monotonic()
    post_to(a, "from the other machine")
    assert reader.event(timeout=2)["data"] == {"version": 2, "comment_count": 1}
    post_to(a, "and again")  # B's listener is surely subscribed now: this one can only come through Redis
    assert reader.event(timeout=2)["data"] == {"version": 3, "comment_count": 2}
    assert time.monotonic() - started < 4
    reader.close()


def test_two_apps_on_one_redis_keep_to_their_own_channels(make_app, serve):
    require_redis()
    mine, theirs = (make_app(**QUICK | {"REDIS_URL": REDIS_URL, "LIVE_CHANNEL": f"parley-test-{uuid.uuid4().hex}"})
                    for _ in range(2))
    add_site(mine)
    reader = Stream(serve(mine))
    reader.opened()
    reader.quiet(0.6)
    # The other app announces a change of the very same (site, thread) ids, on its own channel.
    comment_on(theirs.test_client(), "for the other app")
    reader.quiet(1)
    reader.close()


def test_without_redis_a_reader_of_another_instance_hears_through_the_database(two_instances):
    a, b = two_instances(LIVE_POLL_SECONDS=0.5)
    reader = Stream(b)
    reader.opened()
    reader.quiet(0.3)
    post_to(a, "no Redis here")
    assert reader.event(timeout=2)["data"] == {"version": 2, "comment_count": 1}
    reader.close()


def test_a_redis_that_drops_and_comes_back_loses_no_update(two_instances):
    require_redis()
    proxy = TcpProxy("127.0.0.1", 6379)
    try:
        a, b, c = two_instances(3, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0",
                                LIVE_CHANNEL=f"parley-test-{uuid.uuid4().hex}:live")
        reader = Stream(b)
        reader.opened()
        reader.quiet(0.6)
        proxy.cut()
        post_to(c, "while Redis is away")  # C cannot announce it; B's listener has lost its connection
        proxy.restore()
        # B's listener reconnects (after 0.5 s, then 1 s, ...) and has its streams look again.
        assert reader.event(timeout=5)["data"] == {"version": 2, "comment_count": 1}
        post_to(a, "Redis is back")  # announced through Redis again: the poll is a minute away
        assert reader.event(timeout=2)["data"] == {"version": 3, "comment_count": 2}
        reader.close()
    finally:
        proxy.cut()


def test_gunicorns_threaded_workers_hand_each_other_the_news_through_redis(fresh_database_url):
    """The production set-up: separate processes, each with its own streams and its own Redis listener."""
    require_redis()
    _prepare(fresh_database_url)
    # Two streams a worker at most, so that four open streams are two in each, whichever worker accepts what.
    server = Gunicorn(fresh_database_url, workers=2, options=["--worker-class", "gthread", "--threads", "4"],
                      env={"REDIS_URL": REDIS_URL, "PARLEY_LIVE_CHANNEL": f"parley-test-{uuid.uuid4().hex}:live",
                           "PARLEY_LIVE_MAX_CONNECTIONS": "2", "PARLEY_LIVE_POLL_SECONDS": "60",
                           # Streams notice a reader who left at their next heartbeat: then gunicorn may stop.
                           "PARLEY_LIVE_HEARTBEAT_SECONDS": "0.5",
                           "PARLEY_BACKGROUND_SENDER": "false"})
    readers = []
    try:
        server.wait_until_healthy()
        deadline = time.monotonic() + 20
        while len(readers) < 4:
            reader = Stream(server)
            if reader.response.status_code == 200:
                reader.opened()
                readers.append(reader)
            else:
                assert reader.response.status_code == 503 and time.monotonic() < deadline
        for reader in readers:
            reader.quiet(0.6)
        post_to(server, "to one worker, heard by all")
        for reader in readers:
            assert reader.event(timeout=2)["data"] == {"version": 2, "comment_count": 1}
    finally:
        for reader in readers:
            reader.close()
        server.stop()
