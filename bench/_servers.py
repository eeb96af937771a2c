"""Servers for the benchmarks: gunicorn processes, the same-bytes ceiling app, and host pages for a browser."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port, path, headers=None, method="GET", body=None):
    """One request to 127.0.0.1:port: (status, headers as a dict with lower-cased names, body bytes)."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class Gunicorn:
    """One WSGI app under gunicorn on 127.0.0.1, in its own process group so that it stops with all its workers."""

    def __init__(self, name, app, *, workers, worker_class, threads, env, logdir, port=None, pythonpath=None):
        self.name = name
        self.port = port or free_port()
        self.log = Path(logdir) / f"{name}.log"
        # No settings file: the checkout's gunicorn.conf.py is a production set-up (threads, access log), and
        # every server here runs under the same few options given below, and nothing else.
        (Path(logdir) / "gunicorn.conf.py").touch()
        args = [sys.executable, "-m", "gunicorn", "--config", str(Path(logdir) / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                "--worker-class", worker_class, "--chdir", str(ROOT), "--error-logfile", str(self.log),
                "--log-level", "warning"]
        if worker_class == "gthread":
            args += ["--threads", str(threads)]
        if pythonpath:
            args += ["--pythonpath", str(pythonpath)]
        args.append(app)
        self.process = subprocess.Popen(args, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path, timeout=90):
        """Until the app answers `path` (a worker has booted), or fail with the end of its log."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                status, _, _ = get(self.port, path)
                if status < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {path} within {timeout} s:\n{self.tail()}")
            time.sleep(0.2)

    def at_once(self, requests, timeout=120):
        """Send (method, path, headers, body) requests concurrently; their statuses, once all are answered."""
        statuses, errors = [], []

        def send(method, path, headers, body):
            try:
                statuses.append(get(self.port, path, headers, method, body)[0])
            except OSError as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=request) for request in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        if errors or any(thread.is_alive() for thread in threads):
            raise RuntimeError(f"{self.name} did not answer: {errors[:1]}\n{self.tail()}")
        return statuses

    def settle(self, path, probes):
        """Until every worker is free: requests cut off when wrk stops are still served, and would be
        measured with whatever runs next. `probes` concurrent requests are answered only once the queue
        before them is."""
        self.at_once([("GET", path, {}, None)] * probes)

    def tail(self, lines=30):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the master and its workers: the group we started
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def ceiling_app():
    """Plain Flask serving what Parley served, read from BENCH_CEILING_DIR: the most any Flask view could do."""
    import json

    from flask import Flask, Response, request

    folder = Path(os.environ["BENCH_CEILING_DIR"])
    meta = json.loads((folder / "meta.json").read_text())
    plain = (folder / "thread.json").read_bytes()
    compressed = (folder / "thread.json.gz").read_bytes()
    pages = {path.stem: path.read_bytes() for path in folder.glob("floor-*.html")}
    etag = meta["etag"]
    app = Flask(__name__)

    def thread_bytes(body, **headers):
        if request.if_none_match.contains(etag):
            return Response(status=304, headers={"ETag": f'"{etag}"', "Cache-Control": "no-cache"})
        return Response(body, content_type=meta["content_type"],
                        headers={"ETag": f'"{etag}"', "Cache-Control": "no-cache", **headers})

    @app.get("/hello")
    def hello():
        return "Hello, World!"

    @app.get("/bytes")
    def as_served():
        return thread_bytes(plain)

    @app.get("/bytes-gz")
    def as_served_compressed():
        return thread_bytes(compressed, **{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})

    @app.get("/frame-floor.js")
    def frame_floor_loader():
        # The least an embed in an iframe can do: a script from this (other) site that makes one frame
        # holding the floor page, and nothing else.
        script = ("const s=document.currentScript,f=document.createElement('iframe');"
                  "f.style.cssText='display:block;width:100%;height:600px;border:0';"
                  "f.src=new URL(s.src).origin+'/floor/'+s.dataset.thread;"
                  "document.getElementById('parley-thread').appendChild(f);")
        return Response(script, content_type="text/javascript", headers={"Cache-Control": "no-store"})

    @app.get("/floor/<name>")
    def floor(name):
        page = pages.get(f"floor-{name}")
        if page is None:
            return "not found", 404
        return Response(page, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    return app


class HostPages:
    """A tiny static site on 127.0.0.1 (its own origin): the blog pages that embed the comments."""

    def __init__(self):
        self.pages = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):  # noqa: N802 (the names http.server calls); Isso checks at start that its site answers
                page = pages.get(self.path.split("?")[0])
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(page or b"not found")))
                self.end_headers()
                return page or b"not found"

            def do_GET(self):  # noqa: N802
                page = self.do_HEAD()
                with contextlib.suppress(ConnectionError):  # a browser context closed while the page was on its way
                    self.wfile.write(page)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
