"""What the servers Parley fetches from can do to it, tried on a real server process: a Webmention source or a
webhook receiver answering with a decompression bomb, a source trickling its headers a byte at a time, a
chain of slow redirects, a slow name server. The hostile servers run in the test on loopback, so the
server under test allows private addresses."""
import functools
import gzip
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import pytest
from conftest import PAGE, SECRET
from dashboard_helpers import submit
from helpers import serve_in_background
from processes import free_port, start, stop, wait_for_health

from widget import worker

ROOT = Path(__file__).resolve().parent.parent
# What the attacks cost, for the record: shown by `pytest tests/test_outbound.py -rP --log-level=INFO`.
figures_log = logging.getLogger("figures")
MIB = 1 << 20
GIB = 1 << 30


# Bombs: a gibibyte of zeros, a few kilobytes on the wire -----------------------------------------------

def _zeros_deflated(size):
    """Raw deflate of `size` zero bytes (a multiple of a MiB), built from one compressed MiB repeated: after a
    full flush a block refers to nothing before it, so copies of it decode one after another."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty final block
    return block * (size // MIB) + last


def _gzip_of_zeros(size):
    crc = 0
    zeros = bytes(MIB)
    for _ in range(size // MIB):
        crc = zlib.crc32(zeros, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + _zeros_deflated(size)
            + crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little"))


def _zlib_of_zeros(size):
    adler = (size % 65521) << 16 | 1  # Adler-32 of zeros: the first sum stays 1, the second counts them
    return b"\x78\xda" + _zeros_deflated(size) + adler.to_bytes(4, "big")


def _brotli_of_zeros(size):
    compressor = brotli.Compressor(quality=5)
    zeros = bytes(MIB)
    return b"".join(compressor.process(zeros) for _ in range(size // MIB)) + compressor.finish()


@functools.cache
def bombs():
    """{name: (body, Content-Encoding)}, each 1 GiB of zeros once decoded."""
    gzipped = _gzip_of_zeros(GIB)
    return {
        "deflate": (_zlib_of_zeros(GIB), "deflate"),
        "br": (_brotli_of_zeros(GIB), "br"),
        "gzip, gzip": (gzip.compress(gzipped, 9), "gzip, gzip"),
        "deflate, gzip, br": (brotli.compress(gzip.compress(_zlib_of_zeros(GIB), 9)), "deflate, gzip, br"),
    }


# Hostile servers ------------------------------------------------------------------------------------------

class Source:
    """A Webmention source on loopback: pages (any status, body and headers, answered after `delay` s), and
    /trickle, which sends its status line and then one header byte every `trickle_every` seconds, 120 of them,
    remembering when it was cut off. It keeps the headers of every request."""

    def __init__(self):
        self.pages, self.cut_at, self.requests, self.trickle_every = {}, [], [], 0.5
        self.trickling, self.closing = threading.Event(), threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (the name http.server calls)
                source.requests.append(dict(self.headers))
                if self.path == "/trickle":
                    return self.trickle()
                body, headers, delay, status = source.pages.get(self.path, (b"not here", {}, 0, 404))
                if source.closing.wait(delay):
                    return
                self.send_response(status)
                for name, value in ({"Content-Type": "text/html; charset=utf-8"} | headers).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the reader had enough

            def do_POST(self):  # noqa: N802  (a webhook's delivery)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.do_GET()

            def trickle(self):
                source.trickling.set()
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(120):
                        self.wfile.write(b"a")
                        self.wfile.flush()
                        if source.closing.wait(source.trickle_every) or self.reader_left():
                            break
                except OSError:
                    pass
                source.cut_at.append(time.monotonic())

            def reader_left(self):
                try:
                    return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                except BlockingIOError:
                    return False

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_background(self.server)

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path, body, status=200, delay=0, **headers):
        self.pages[path] = (body, headers, delay, status)
        return self.url(path)

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A webhook receiver that answers every delivery 200 with the body and Content-Encoding it is given."""

    def __init__(self):
        self.arrived, self.answer = [], (b"", None)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.arrived.append(time.monotonic())
                body, coding = receiver.answer
                self.send_response(200)
                if coding:
                    self.send_header("Content-Encoding", coding)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        serve_in_background(self.server)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def source():
    served = Source()
    yield served
    served.close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


# The server under test ---------------------------------------------------------------------------------

@pytest.fixture
def app(make_app):
    return make_app(ALLOW_PRIVATE_TARGETS=True)


def _environment(app, tmp_path, **extra):
    variables = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    return variables | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PARLEY_SECRET_KEY": SECRET,
        "PARLEY_INSTANCE_PATH": str(tmp_path / "instance"), "PARLEY_ALLOW_PRIVATE_TARGETS": "true",
        "PARLEY_OUTBOX_POLL_SECONDS": "0.2", "PARLEY_AUTO_MIGRATE": "false",
    } | extra


class Server:
    """The server under test: gunicorn with its own background sender (`process` is its one worker), or
    `flask --app app worker` with the app in the test taking the requests."""

    def __init__(self, kind, app, tmp_path, **env):
        self.kind, self.app = kind, app
        if kind == "gunicorn":
            port = free_port()
            self.base = f"http://127.0.0.1:{port}"
            self.main = start([sys.executable, "-m", "gunicorn"], tmp_path / "server.log", cwd=ROOT,
                              env=_environment(app, tmp_path, PARLEY_BIND=f"127.0.0.1:{port}", PARLEY_WORKERS="1",
                                               PARLEY_THREADS="8", PARLEY_LIVE_MAX_CONNECTIONS="4", **env))
            wait_for_health(self.main, f"{self.base}/healthz")  # its first request starts the sender
            children = Path(f"/proc/{self.main.pid}/task/{self.main.pid}/children").read_text().split()
            self.pid = int(children[0])
        else:
            self.client = app.test_client()
            self.main = start([sys.executable, "-m", "flask", "--app", "app", "worker"], tmp_path / "worker.log",
                              cwd=ROOT, env=_environment(app, tmp_path, **env))
            self.pid = self.main.pid

    def webmention(self, source_url):
        """Send a Webmention for PAGE; the URL of its status."""
        form = {"source": source_url, "target": PAGE}
        if self.kind == "gunicorn":
            request = urllib.request.Request(f"{self.base}/webmention/blog", urllib.parse.urlencode(form).encode())
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 202
                return response.headers["Location"]
        response = self.client.post("/webmention/blog", data=form)
        assert response.status_code == 202
        return response.headers["Location"]

    def status(self, location):
        if self.kind == "gunicorn":
            with urllib.request.urlopen(location, timeout=10) as response:
                return json.load(response)
        return self.client.get(location).get_json()

    def checked(self, location, seconds=60):
        """The Webmention's status once its source was fetched (or tried), waiting up to `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            status = self.status(location)
            if status["status"] != "queued" or "fetched again" in status["reason"]:
                return status
            assert time.monotonic() < deadline, f"not checked within {seconds} s: {status}"
            time.sleep(0.05)

    def memory(self):
        """(peak, current) resident memory of the process that sends, in MB, as the kernel counts it."""
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.pid}/status").read_text().splitlines())
        return int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        return stop(self.main)


@pytest.fixture
def servers(app, site, tmp_path):
    started = []

    def start_server(kind="gunicorn", **env):
        started.append(Server(kind, app, tmp_path, **env))
        return started[-1]

    yield start_server
    for server in started:
        server.stop()


class HealthProbe:
    """Asks /healthz every 50 ms from a thread of its own: the longest it waited for an answer."""

    def __init__(self, base):
        self.url, self.longest, self.failures = f"{base}/healthz", 0.0, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._probe, daemon=True)
        self.thread.start()

    def _probe(self):
        while not self.done.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as response:
                    response.read()
            except OSError as error:
                self.failures.append(repr(error))
            self.longest = max(self.longest, time.monotonic() - started)
            self.done.wait(0.05)

    def stop(self):
        self.done.set()
        self.thread.join(40)
        return self.longest


def post_page(link=PAGE):
    return f'<!doctype html><title>A reply</title><p>I liked <a href="{link}">this post</a>.</p>'.encode()


# Decompression bombs -------------------------------------------------------------------------------------

def test_decompression_bombs_from_webmention_sources_cost_the_server_neither_memory_nor_its_answers(
        servers, source):
    bodies = bombs()
    server = servers("gunicorn")
    # A first, ordinary check: what any sender needs is loaded before the peak is taken.
    assert server.checked(server.webmention(source.serve("/post", post_page())))["status"] == "verified"
    peak_before, _ = server.memory()
    probe = HealthProbe(server.base)
    figures = {}
    for name, (body, coding) in bodies.items():
        cpu = server.cpu_seconds()
        location = server.webmention(source.serve(f"/bomb/{len(figures)}", body, **{"Content-Encoding": coding}))
        status = server.checked(location)
        # Its first megabyte, all zeros, links nowhere.
        assert (status["status"], status["reason"]) == ("refused", "source does not link to target"), name
        figures[name] = (len(body), server.memory()[0] - peak_before, server.cpu_seconds() - cpu)
    longest = probe.stop()
    for name, (size, growth, cpu) in figures.items():
        figures_log.info(f"{name}: {size} bytes sent, peak memory +{growth:.1f} MB, {cpu:.2f} s of CPU")
    figures_log.info(f"/healthz waited at most {longest:.2f} s")
    assert probe.failures == []
    for name, (_, growth, _) in figures.items():
        assert growth < 50, f"{name}: the server's peak memory grew by {growth:.0f} MB"
    assert longest < 1, f"/healthz waited {longest:.1f} s"


def test_a_webhook_receiver_answering_with_a_bomb_costs_the_server_no_memory(servers, admin, receiver):
    from test_webhooks import HOOKS, add_hook, hook_id, jobs

    body, coding = bombs()["br"]
    receiver.answer = (b"ok", None)
    assert add_hook(admin, receiver.url).status_code == 302
    server = servers("gunicorn")
    assert submit(admin, f"{HOOKS}/test", {"webhook": str(hook_id(server.app, receiver.url))}).status_code == 302
    _wait_for(lambda: [job["status"] for job in jobs(server.app)] == ["done"])
    peak_before, _ = server.memory()
    receiver.answer = (body, coding)
    probe = HealthProbe(server.base)
    cpu = server.cpu_seconds()
    assert submit(admin, f"{HOOKS}/test", {"webhook": str(hook_id(server.app, receiver.url))}).status_code == 302
    _wait_for(lambda: [job["status"] for job in jobs(server.app)] == ["done", "done"])
    growth, cpu, longest = server.memory()[0] - peak_before, server.cpu_seconds() - cpu, probe.stop()
    figures_log.info(f"webhook answer as br: peak memory +{growth:.1f} MB, {cpu:.2f} s of CPU, "
                     f"/healthz waited at most {longest:.2f} s")
    assert jobs(server.app)[-1]["result"] == "HTTP 200"
    assert growth < 50 and longest < 1 and probe.failures == []


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.05)


# Slow sources ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["gunicorn", "flask worker"])
def test_a_source_trickling_its_headers_is_cut_at_the_deadline_and_holds_up_nothing_else(
        servers, admin, source, receiver, kind):
    from test_webhooks import HOOKS, add_hook, hook_id

    assert add_hook(admin, receiver.url).status_code == 302
    server = servers(kind, PARLEY_OUTBOUND_TIMEOUT_SECONDS="3")
    slow = server.webmention(source.url("/trickle"))
    assert source.trickling.wait(60)
    started = time.monotonic()
    # Behind it, a delivery to a webhook (another lane) and a good Webmention (the same lane).
    assert submit(admin, f"{HOOKS}/test", {"webhook": str(hook_id(server.app, receiver.url))}).status_code == 302
    time.sleep(1.5)
    queued = time.monotonic()
    good = server.webmention(source.serve("/post", post_page()))
    assert server.checked(good, seconds=30)["status"] == "verified"
    waited = time.monotonic() - queued
    late = server.checked(slow, seconds=30)
    figures_log.info(f"{kind}: the good Webmention waited {waited:.2f} s; the trickle was cut "
                     f"{source.cut_at[0] - started:.2f} s after it began, the webhook delivered "
                     f"{receiver.arrived[0] - started:.2f} s after")
    assert waited < 5
    assert late == {"status": "queued", "reason": "the source will be fetched again: the source timed out after 3 s",
                    "source": source.url("/trickle"), "target": PAGE}
    assert receiver.arrived and receiver.arrived[0] < source.cut_at[0]  # not held up by the trickle at all


@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_flood_of_slow_webmentions_for_one_site_holds_up_another_sites_by_one_deadline_at_most(
        servers, app, source, threads):
    # A /48 may send hundreds of Webmentions an hour naming sources that answer at their deadline, more than the
    # lane can check: they wait behind each other, not in front of every other site's.
    other = "https://other.example.com/posts/hello"
    added = app.test_cli_runner().invoke(args=["site", "add", "other", "--name", "Other",
                                               "--origin", "https://other.example.com"])
    assert added.exit_code == 0, added.output
    server = servers("flask worker", PARLEY_OUTBOUND_TIMEOUT_SECONDS="2", PARLEY_OUTBOX_FETCH_THREADS=threads)
    for n in range(6):
        server.webmention(source.serve(f"/slow/{n}", post_page(), delay=60))
    _wait_for(lambda: source.requests, seconds=30)  # the sender is at the first of them
    queued = time.monotonic()
    response = server.client.post("/webmention/other", data={"source": source.serve("/good", post_page(other)),
                                                              "target": other})
    assert response.status_code == 202
    status = server.checked(response.headers["Location"], seconds=30)
    waited = time.monotonic() - queued
    figures_log.info(f"{threads} fetch thread(s): the other site's Webmention waited {waited:.2f} s behind a flood "
                     "of six sources that each take the 2 s deadline")
    assert status["status"] == "verified"
    assert waited < 5  # one deadline (2 s) and the sender's poll, with room for a loaded machine; not six


def test_a_source_that_times_out_twice_is_refused_not_tried_for_hours(app, client, site, source):
    app.config["OUTBOUND_TIMEOUT_SECONDS"] = 0.5
    app.config["OUTBOX_RETRY_FIRST_SECONDS"] = 0.3
    location = client.post("/webmention/blog", data={"source": source.url("/trickle"), "target": PAGE}
                           ).headers["Location"]
    worker.run_pending(app)
    first = client.get(location).get_json()
    assert first["status"] == "queued" and "timed out after 0.5 s" in first["reason"]
    time.sleep(0.4)  # the retry's backoff
    worker.run_pending(app)
    second = client.get(location).get_json()
    assert (second["status"], second["reason"]) == (
        "refused", "the source timed out after 0.5 s on attempt 2: not tried again")


# Encodings, redirects, names ------------------------------------------------------------------------------

def checked(app, client, source_url):
    """Send a Webmention for PAGE, let the sender check it, and return what its status address then says."""
    response = client.post("/webmention/blog", data={"source": source_url, "target": PAGE})
    assert response.status_code == 202, response.get_data(as_text=True)
    worker.run_pending(app)
    return client.get(response.headers["Location"]).get_json()


def _raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODE = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "br", "gzip, br", "deflate, gzip, br", "identity"])
def test_a_source_encoded_as_asked_is_read_once_decoded(app, client, site, source, coding):
    body = post_page()
    for name in coding.split(", "):
        body = ENCODE.get(name, lambda data: data)(body)
    assert checked(app, client, source.serve("/post", body, **{"Content-Encoding": coding}))["status"] == "verified"
    assert source.requests[-1]["Accept-Encoding"] == "gzip, deflate, br"  # what the sender can decode, no more


def test_a_source_in_raw_deflate_is_read_too(app, client, site, source):
    # RFC 9110's "deflate" is the zlib format; some servers send the bare deflate stream, which browsers read.
    url = source.serve("/post", _raw_deflate(post_page()), **{"Content-Encoding": "deflate"})
    assert checked(app, client, url)["status"] == "verified"


@pytest.mark.parametrize("coding, reason", [
    ("zstd", "the answer is encoded as 'zstd', which this server does not read (it asks for gzip, deflate, br)"),
    ("compress", "the answer is encoded as 'compress', which this server does not read (it asks for gzip, "
                 "deflate, br)"),
    ("br, zstd", "the answer is encoded as 'zstd', which this server does not read (it asks for gzip, deflate, br)"),
    ("gzip, gzip, gzip, gzip, gzip", "the answer is encoded 5 times over; at most 4 are read"),
])
def test_a_source_encoded_in_a_way_not_asked_for_is_refused(app, client, site, source, coding, reason):
    # Passed on as it came, such a body would be read as the page: never decoded here without a bound.
    status = checked(app, client, source.serve("/post", post_page(), **{"Content-Encoding": coding}))
    assert (status["status"], status["reason"]) == ("refused", reason)


def test_a_chain_of_slow_redirects_shares_one_deadline(make_app, site, source):
    # Each hop answers well within the deadline; all five together do not. The Webmention's own budget counts.
    app = make_app(ALLOW_PRIVATE_TARGETS=True, WEBMENTION_TIMEOUT_SECONDS=1)
    for hop in range(4):
        source.serve(f"/hop{hop}", b"", status=302, delay=0.4, Location=f"/hop{hop + 1}")
    source.serve("/hop4", post_page(), delay=0.4)
    status = checked(app, app.test_client(), source.url("/hop0"))
    assert (status["status"], status["reason"]) == (
        "queued", "the source will be fetched again: the source timed out after 1 s")


@pytest.fixture
def slow_dns(monkeypatch):
    """slow-dns.example resolves to loopback after 30 s (or when the test ends); other names as usual."""
    real, released = socket.getaddrinfo, threading.Event()

    def getaddrinfo(host, *args, **kwargs):
        if host == "slow-dns.example":
            released.wait(30)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    released.set()


def test_a_slow_name_server_is_cut_at_the_deadline(app, client, site, source, slow_dns):
    app.config["WEBMENTION_TIMEOUT_SECONDS"] = 1
    source.serve("/post", post_page())
    started = time.monotonic()
    status = checked(app, client, f"http://slow-dns.example:{source.server.server_address[1]}/post")
    assert time.monotonic() - started < 10  # the name server's 30 s are not waited for
    assert (status["status"], status["reason"]) == (
        "queued", "the source will be fetched again: the source timed out after 1 s")


def test_a_redirect_to_an_address_with_a_trailing_dot_is_refused_at_once(app, client, site, source):
    # "127.0.0.1." is no address to the checks and no name to the resolver: refused, not tried 12 times.
    port = source.server.server_address[1]
    for spelling in ("127.0.0.1.", "127.1.", "0x7f000001.", "2130706433.", "0177.0.0.1."):
        redirect = source.serve("/moved", b"", status=301, Location=f"http://{spelling}:{port}/post")
        status = checked(app, client, redirect)
        assert (status["status"], status["reason"]) == (
            "refused", f"{spelling} is an IP address written with a trailing dot"), spelling


def test_worker_once_does_what_is_due_in_every_lane_at_once(app, admin, runner, source, receiver):
    from test_webhooks import HOOKS, add_hook, hook_id, jobs

    app.config["OUTBOUND_TIMEOUT_SECONDS"] = 1
    assert add_hook(admin, receiver.url).status_code == 302
    assert admin.post("/webmention/blog", data={"source": source.url("/trickle"), "target": PAGE}).status_code == 202
    assert submit(admin, f"{HOOKS}/test", {"webhook": str(hook_id(app, receiver.url))}).status_code == 302
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and result.output == "Did 2 jobs.\n"
    assert [job["result"] for job in jobs(app)] == ["HTTP 200"]
    _wait_for(lambda: source.cut_at, seconds=5)  # the source notices within half a second
    assert receiver.arrived[0] < source.cut_at[0]  # delivered while the source still trickled


def test_a_webhook_receiver_trickling_its_headers_is_cut_at_the_deadline(app, admin, source):
    from test_webhooks import HOOKS, add_hook, hook_id, jobs

    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    source.trickle_every = 0.2  # well within any timeout per read
    assert add_hook(admin, source.url("/trickle")).status_code == 302
    assert submit(admin, f"{HOOKS}/test", {"webhook": str(hook_id(app, source.url("/trickle")))}).status_code == 302
    started = time.monotonic()
    worker.run_pending(app)
    assert time.monotonic() - started < 10  # not the 24 s the receiver would take
    [job] = jobs(app)
    assert (job["status"], job["result"]) == ("queued", "timed out after 1 s")
