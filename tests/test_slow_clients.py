"""Slow, stalled and oversized requests against the production server with nothing in front of it: gunicorn with
Parley's settings, one worker of three threads (a live stream may hold one), as an attacker would find it.

Three connections are enough to hold every thread of that worker if a thread waits for any of them; each attack
then asks /healthz on a new connection, which must still answer at once."""
import json
import os
import re
import select
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from conftest import ORIGIN
from dashboard_helpers import PASSWORD, create_admin
from helpers import write_wxr
from processes import free_port, healthz_seconds, start, stop, wait_for_health

from widget import create_app

ROOT = Path(__file__).resolve().parent.parent
SECRET = "slow-clients-test-secret-not-for-production"
THREADS = 3
IMPORT = "/dashboard/sites/blog/import"
JSON_HEAD = "Host: 127.0.0.1\r\nContent-Type: application/json\r\nOrigin: " + ORIGIN + "\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A production gunicorn (its port, its master's pid), started as the README starts it, with a site and an
    administrator."""
    folder = tmp_path_factory.mktemp("slow-clients")
    database = f"sqlite:///{folder / 'parley.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": SECRET})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN]).exit_code == 0
    create_admin(runner)
    with app.app_context():
        from widget.extensions import db

        db.engine.dispose()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    env |= {"DATABASE_URL": database, "PARLEY_SECRET_KEY": SECRET, "PARLEY_BIND": f"127.0.0.1:{port}",
            "PARLEY_WORKERS": "1", "PARLEY_THREADS": str(THREADS), "PARLEY_LIVE_MAX_CONNECTIONS": "1",
            "PARLEY_INSTANCE_PATH": str(folder / "instance"), "PARLEY_BACKGROUND_SENDER": "false",
            "PARLEY_SPAM_FORM_TOKENS": "false", "PARLEY_RATELIMIT_ENABLED": "false"}  # all from one address
    process = start([sys.executable, "-m", "gunicorn"], folder / "gunicorn.log", cwd=ROOT, env=env)
    try:
        wait_for_health(process, f"http://127.0.0.1:{port}/healthz")
        yield SimpleNamespace(port=port, master=process.pid)
    finally:
        stop(process)


def _send(port, payload, count=THREADS):
    """`count` connections that each send `payload` and then nothing more."""
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(payload)
        connections.append(connection)
    return connections


def _answer(connection, seconds=5):
    """What the server answered on `connection` within `seconds`, until it closed."""
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _status_lines(received):
    return re.findall(rb"HTTP/1\.[01] (\d{3})", received)


def _log_in(port):
    """A requests session logged in to the dashboard as the administrator, as a browser logs in."""
    session = requests.Session()
    base = f"http://127.0.0.1:{port}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/dashboard/login").text).group(1)
    response = session.post(f"{base}/dashboard/login", allow_redirects=False,
                            data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text[:500]
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}{IMPORT}").text).group(1)
    return session, token


# Requests that stop half-way --------------------------------------------------------------------------------

STALLED = {
    "a-chunked-body-that-stops": (f"POST /api/v1/auth/exchange HTTP/1.1\r\n{JSON_HEAD}Transfer-Encoding: chunked\r\n"
                                  "\r\n1\r\n{\r\n"),
    "a-chunked-get-whose-body-never-ends": ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\n"),
    "an-expect-100-continue-whose-body-stops": (f"POST /api/v1/auth/exchange HTTP/1.1\r\n{JSON_HEAD}Content-Length: 100"
                                                "\r\nExpect: 100-continue\r\n\r\n{"),
    "a-huge-content-length-that-never-comes": (f"POST /api/v1/comments HTTP/1.1\r\n{JSON_HEAD}"
                                               "Content-Length: 1000000000\r\n\r\n{"),
    "a-huge-upload-that-never-comes": (f"POST {IMPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       "Content-Type: multipart/form-data; boundary=b\r\n"
                                       "Content-Length: 200000000\r\n\r\n--b\r\n"),
}


@pytest.mark.parametrize("attack", STALLED.values(), ids=STALLED.keys())
def test_a_request_that_stops_half_way_never_takes_a_thread(server, attack):
    connections = _send(server.port, attack.encode())
    try:
        time.sleep(0.5)
        assert healthz_seconds(server.port) < 1
    finally:
        for connection in connections:
            connection.close()


def test_a_huge_body_is_refused_at_once_in_the_apis_words(server):
    expecting, = _send(server.port, f"POST /api/v1/comments HTTP/1.1\r\n{JSON_HEAD}Content-Length: 1000000000\r\n"
                               "Expect: 100-continue\r\n\r\n".encode(), count=1)
    chunked, = _send(server.port, f"POST /api/v1/comments HTTP/1.1\r\n{JSON_HEAD}Transfer-Encoding: chunked\r\n\r\n"
                             "ffffffff\r\n".encode(), count=1)
    for connection in (expecting, chunked):
        received = _answer(connection)
        assert _status_lines(received) == [b"413"]  # no "100 Continue": the body would be refused
        assert received.endswith(b'{"error": {"code": "request_entity_too_large", "message": '
                                 b'"The request body is larger than the server accepts."}}')
        connection.close()


def test_clients_that_never_close_after_connection_close_never_hold_up_the_server(server):
    # The answer is sent, and the server waits for the client's end before it lets the connection go: that wait
    # must not stop the worker's loop, which answers everyone else.
    connections = _send(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", count=10)
    try:
        waits = []
        for _ in range(3):
            time.sleep(0.3)
            waits.append(healthz_seconds(server.port, timeout=30))
        assert max(waits) < 1, waits
        assert [_status_lines(_answer(connection)) for connection in connections] == [[b"200"]] * 10
    finally:
        for connection in connections:
            connection.close()


# Heads too long to hold -----------------------------------------------------------------------------------

def _push(connections, payload, seconds=5):
    """Sends `payload` on every connection at once while reading what the server answers; returns each answer
    once the server has closed that connection, or what came within `seconds`."""
    sent = {connection: 0 for connection in connections}
    received = {connection: b"" for connection in connections}
    open_ = set(connections)
    for connection in connections:
        connection.setblocking(False)
    deadline = time.monotonic() + seconds
    while open_ and time.monotonic() < deadline:
        sending = [connection for connection in open_ if sent[connection] < len(payload)]
        readable, writable, _ = select.select(list(open_), sending, [], 0.2)
        for connection in set(readable) | set(writable):
            try:
                if connection in readable:
                    chunk = connection.recv(65536)
                    received[connection] += chunk
                    if not chunk:
                        open_.discard(connection)
                        continue
                if connection in writable:
                    sent[connection] += connection.send(payload[sent[connection]:sent[connection] + 65536])
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                open_.discard(connection)
    return [received[connection] for connection in connections]


def _rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) // 1024


def _worker_pid(master):
    """The server's one worker: the child of gunicorn's master process."""
    with open(f"/proc/{master}/task/{master}/children") as children:
        return int(children.read().split()[0])


def test_fifty_heads_of_a_megabyte_each_are_refused_at_64_kib_and_cost_the_worker_little(server):
    pid = _worker_pid(server.master)
    before = _rss_mb(pid)
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (b"X-Filler: " + b"a" * 8000 + b"\r\n") * 120
    connections = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(50)]
    try:
        answers = _push(connections, head)
        held = _rss_mb(pid)
        assert healthz_seconds(server.port) < 1
    finally:
        for connection in connections:
            connection.close()
    assert [_status_lines(answer) for answer in answers] == [[b"431"]] * 50
    assert held - before < 20, f"the worker grew from {before} MB to {held} MB"


# What must keep working ---------------------------------------------------------------------------------------

def _comment(body):
    return json.dumps({"site": "blog", "url": "https://blog.example.com/posts/1", "body": body,
                       "author": {"name": "Reader", "email": "reader@example.org"}}).encode()


def test_a_chunked_post_and_one_that_waits_for_100_continue_are_answered(server):
    response = requests.post(f"http://127.0.0.1:{server.port}/api/v1/comments", data=iter([_comment("Sent in chunks")]),
                             headers={"Content-Type": "application/json", "Origin": ORIGIN}, timeout=10)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 201 and response.json()["comment"]["html"] == "<p>Sent in chunks</p>"

    body = _comment("Sent after 100 Continue")
    connection, = _send(server.port, f"POST /api/v1/comments HTTP/1.1\r\n{JSON_HEAD}Content-Length: {len(body)}\r\n"
                                "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode(), count=1)
    assert connection.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"  # and nothing else before the body
    connection.sendall(body)
    received = _answer(connection)
    connection.close()
    assert _status_lines(received) == [b"201"] and b"<p>Sent after 100 Continue</p>" in received


def _read_until(connection, count):
    """What the server answered on `connection` once `count` answers have begun (and a moment more)."""
    received, deadline = b"", time.monotonic() + 10
    connection.settimeout(0.5)
    while len(_status_lines(received)) < count and time.monotonic() < deadline:
        try:
            received += connection.recv(65536)
        except TimeoutError:
            pass
    return received


def test_pipelined_keep_alive_and_http_1_0_requests_are_answered(server):
    # A request sent right behind another, its chunked body finished later, and a third on the same connection.
    body = _comment("Pipelined")
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    connection, = _send(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                                     + f"POST /api/v1/comments HTTP/1.1\r\n{JSON_HEAD}Transfer-Encoding: chunked\r\n"
                                       "\r\n".encode() + chunked[:20], count=1)
    time.sleep(0.5)
    connection.sendall(chunked[20:])
    received = _read_until(connection, 2)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    received += _answer(connection)
    connection.close()
    assert _status_lines(received) == [b"200", b"201", b"200"] and b"<p>Pipelined</p>" in received
    connection, = _send(server.port, b"GET /healthz HTTP/1.0\r\n\r\n", count=1)
    assert _status_lines(_answer(connection)) == [b"200"]
    connection.close()


def test_an_administrators_upload_larger_than_the_worker_reads_first_still_imports(server, tmp_path):
    session, token = _log_in(server.port)
    export = write_wxr(tmp_path / "big.xml", posts=2, per_post=300)
    assert export.stat().st_size > 256 * 1024
    with open(export, "rb") as file:
        response = session.post(f"http://127.0.0.1:{server.port}{IMPORT}", allow_redirects=False, timeout=30,
                                data={"csrf_token": token, "kind": "wordpress"}, files={"file": ("big.xml", file)})
    assert response.status_code == 303, response.text[:500]
    assert re.search(r"/dashboard/sites/blog/import#import-\d+$", response.headers["Location"])


def test_a_stalled_upload_is_given_up_within_seconds(server):
    # An administrator's upload is the one body a thread reads as it comes; one that stops is answered, and its
    # thread freed, once nothing has come for ten seconds.
    session, token = _log_in(server.port)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)
    connection, = _send(server.port, (f"POST {IMPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
                                      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000\r\n"
                                      f'\r\n--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}'
                                      '\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.xml"\r\n'
                                      "\r\n<rss>").encode(), count=1)
    started = time.monotonic()
    try:
        # Meanwhile a reader's comment is written at once: the upload holds no transaction (on SQLite, no write
        # lock) while its body comes.
        time.sleep(0.5)
        posted = requests.post(f"http://127.0.0.1:{server.port}/api/v1/comments", timeout=20,
                               headers={"Origin": ORIGIN},
                               json={"site": "blog", "url": f"{ORIGIN}/post", "body": "Written while a file uploads.",
                                     "author": {"name": "Ada", "email": "ada@example.org"}})
        assert posted.status_code == 201, (posted.status_code, posted.text[:300])
        assert posted.elapsed.total_seconds() < 2
        received = _answer(connection, seconds=30)
        assert _status_lines(received) == [b"400"] and time.monotonic() - started < 15
    finally:
        connection.close()
