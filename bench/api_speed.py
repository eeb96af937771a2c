"""Parley's API against Isso's, side by side on this machine: one command, one table.

    pip install -r requirements-dev.txt isso && python bench/api_speed.py

Both servers run the same way (Werkzeug's threaded WSGI server, one process each, a SQLite
file each), hold the same thread of comments, and answer the same client on 127.0.0.1.
Rounds alternate between the two so that machine noise falls on both; the table gives
medians and the ratio Parley / Isso (below 1.0: Parley is faster). Bounded: a few thousand
requests in all, to loopback only.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from functools import partial
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/posts/benchmark"
ORIGIN = "http://127.0.0.1:8"  # the page's origin, allowed on both servers


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Servers -------------------------------------------------------------------------------

def serve(kind, port, workdir):
    """Child process: run one server until killed."""
    import logging

    from werkzeug.serving import make_server
    logging.disable(logging.CRITICAL)
    if kind == "parley":
        sys.path.insert(0, str(ROOT))
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/parley.sqlite3"
        from widget import create_app

        # Posting without form tokens, as Isso's guard is off below: the same path through both.
        app = create_app({"SECRET_KEY": "bench", "PUBLIC_URL": f"http://127.0.0.1:{port}", "SPAM_FORM_TOKENS": False})
        runner = app.test_cli_runner()
        runner.invoke(args=["site", "add", "bench", "--name", "Bench", "--origin", ORIGIN])
    else:
        from isso import config, make_app

        path = Path(workdir) / "isso.cfg"
        path.write_text(textwrap.dedent(f"""
            [general]
            dbpath = {workdir}/isso.db
            host = {ORIGIN}
            [moderation]
            enabled = false
            [guard]
            enabled = false
            [server]
            listen = http://127.0.0.1:{port}
        """))
        conf = config.load(config.default_file(), str(path))
        app = make_app(conf)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


class Server:
    def __init__(self, kind, workdir):
        self.kind = kind
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, str(self.port), workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{kind} did not start") from None
                time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


# The same operations on both APIs -------------------------------------------------------

def request(connection, method, path, body=None):
    headers = {"Origin": ORIGIN}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
    return payload


def post_comment(kind, connection, text, parent=None):
    if kind == "parley":
        body = {"site": "bench", "url": f"{ORIGIN}{PAGE}", "title": "Benchmark", "body": text,
                "author": {"name": "Ben Reader", "email": "bench@example.org"}}
        if parent:
            body["parent_id"] = parent
        return json.loads(request(connection, "POST", "/api/v1/comments", body))["comment"]["id"]
    body = {"text": text, "author": "Bench", "email": "bench@example.org", "parent": parent, "title": "Benchmark"}
    return json.loads(request(connection, "POST", f"/new?uri={PAGE}", body))["id"]


def read_thread(kind, connection):
    if kind == "parley":
        return request(connection, "GET", f"/api/v1/threads?site=bench&url={ORIGIN}{PAGE}&limit=200")
    return request(connection, "GET", f"/?uri={PAGE}")


def count_pages(kind, connection, pages):
    if kind == "parley":
        query = "&".join(f"url={ORIGIN}{p}" for p in pages)
        return request(connection, "GET", f"/api/v1/counts?site=bench&{query}")
    return request(connection, "POST", "/count", pages)


def seed(kind, port, top_level, replies_each):
    connection = HTTPConnection("127.0.0.1", port)
    for i in range(top_level):
        parent = post_comment(kind, connection, f"Comment {i} with *some* text and a https://example.com link.")
        for j in range(replies_each):
            post_comment(kind, connection, f"Reply {j}", parent=parent)
    connection.close()


# Measurements -------------------------------------------------------------------------------

def timed(calls, action):
    """Seconds per call for `calls` sequential calls on one keep-alive connection."""
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def throughput(port, kind, clients, calls_each):
    """Thread reads per second with `clients` concurrent keep-alive connections."""
    def worker():
        connection = HTTPConnection("127.0.0.1", port)
        for _ in range(calls_each):
            read_thread(kind, connection)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients * calls_each / (time.perf_counter() - start)


def measure(servers, rounds, calls):
    results = {kind: {"read": [], "read_p95": [], "count": [], "post": [], "rps": []} for kind in servers}
    pages = [f"/posts/p{i}" for i in range(19)] + [PAGE]
    for round_ in range(rounds):
        order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
        for kind in order:
            port = servers[kind].port
            connection = HTTPConnection("127.0.0.1", port)
            reads = timed(calls, partial(read_thread, kind, connection))
            results[kind]["read"].append(statistics.median(reads))
            results[kind]["read_p95"].append(statistics.quantiles(reads, n=20)[18])
            counts = timed(calls, partial(count_pages, kind, connection, pages))
            results[kind]["count"].append(statistics.median(counts))
            results[kind]["post"].append(statistics.median(
                timed(max(calls // 5, 5), partial(post_comment, kind, connection, "A new comment, *posted*."))))
            connection.close()
            results[kind]["rps"].append(throughput(port, kind, clients=4, calls_each=max(calls // 4, 5)))
    return {kind: {name: statistics.median(values) for name, values in found.items()}
            for kind, found in results.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "PORT", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--comments", type=int, default=100, help="top-level comments in the thread (default 100)")
    parser.add_argument("--replies", type=int, default=1, help="replies under each (default 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=100, help="requests per measurement and round")
    args = parser.parse_args()
    if args.serve:
        kind, port, workdir = args.serve
        serve(kind, int(port), workdir)
        return
    try:
        import isso  # noqa: F401
    except ImportError:
        raise SystemExit("Isso is the peer: pip install isso") from None

    with tempfile.TemporaryDirectory() as workdir:
        servers = {}
        try:
            for kind in ("parley", "isso"):
                os.makedirs(f"{workdir}/{kind}")
                servers[kind] = Server(kind, f"{workdir}/{kind}")
                seed(kind, servers[kind].port, args.comments, args.replies)
            results = measure(servers, args.rounds, args.calls)
        finally:
            for server in servers.values():
                server.stop()

    total = args.comments * (1 + args.replies)
    print(f"Thread of {total} comments; {args.rounds} alternating rounds of {args.calls} calls; medians.\n")
    rows = [
        ("read a thread, median", "read", "ms", 1000),
        ("read a thread, p95", "read_p95", "ms", 1000),
        ("counts for 20 pages", "count", "ms", 1000),
        ("post a comment", "post", "ms", 1000),
        ("thread reads/s, 4 clients", "rps", "req/s", 1),
    ]
    print(f"| {'operation':<27} | {'Parley':>13} | {'Isso':>13} | {'Parley/Isso':>11} |")
    print(f"|{'-' * 29}|{'-' * 14}:|{'-' * 14}:|{'-' * 12}:|")
    for label, key, unit, scale in rows:
        parley, peer = results["parley"][key] * scale, results["isso"][key] * scale
        print(f"| {label:<27} | {parley:>7.2f} {unit:<5} | {peer:>7.2f} {unit:<5} | {parley / peer:>11.2f} |")
    print("\nFor times, Parley/Isso below 1.0 means Parley is faster; for req/s, above 1.0 does.")


if __name__ == "__main__":
    main()
