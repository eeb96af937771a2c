"""gunicorn's threaded worker, but a thread takes a request only once its head (and a small body) has arrived.

gthread hands a connection to a thread as soon as its first bytes come, and the thread then waits, blocking,
for the rest. Twenty clients that send half a header and then nothing held twenty threads for as long as they
liked; with the live streams holding theirs, nothing was left for anyone else, /healthz included. Here the
worker's event loop (one thread, which waits on every socket at once) reads what has come, without waiting,
until the request's head is complete, and its body too when it is small and of known length; only then does a
thread take it. A head not complete within HEAD_SECONDS is dropped. A buffering proxy in front (nginx, see the
README's Production) does all this and more: it also stands in for clients that read their answers slowly.
"""
import os
import re
import selectors
import time
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker

try:  # a gunicorn that speaks HTTP/2, whose cleartext connections may begin with a preface, not a head
    from gunicorn.http2 import negotiation
except ImportError:  # an older one
    negotiation = None

# Time a client has to send the head of a request (and a small body): plenty for a person's browser.
HEAD_SECONDS = 10.0
# Bodies up to this size (every API request; Parley refuses larger ones unless they are imports) are read
# before a thread takes the request; a larger one, an upload, is read by the thread as it comes.
BODY_BYTES = 1024 * 1024
# A head longer than this goes to a thread at once, whose parser refuses it as gunicorn's limits say.
MAX_HEAD = 1024 * 1024
_END = re.compile(rb"\r?\n\r?\n")
_LENGTH = re.compile(rb"\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r?\n", re.IGNORECASE)
_WAITS = re.compile(rb"\n(expect:[ \t]*100-continue|transfer-encoding:)", re.IGNORECASE)


def complete(data):
    """Whether a thread may take a request that has sent these bytes: its head has come, and its body too
    unless that is large, chunked, or waits for "100 Continue"."""
    end = _END.search(data)
    if end is None:
        return len(data) > MAX_HEAD
    head = data[:end.start()] + b"\n"
    length = _LENGTH.search(head)
    if length is None or _WAITS.search(head) or int(length.group(1)) > BODY_BYTES:
        return True
    return len(data) >= end.end() + int(length.group(1))


class HeadFirstWorker(ThreadWorker):
    """gthread whose event loop reads each request's head before a thread takes it (see the module's doc)."""

    def init_process(self):
        self.reading = {}  # connection -> (bytes read so far, when it is dropped)
        super().init_process()

    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        # Each live-update stream holds a thread for minutes: more threads than streams, whatever the options said.
        streams = int(os.environ.get("PARLEY_LIVE_MAX_CONNECTIONS") or 50)
        if cfg.threads <= streams:
            raise SystemExit(f"PARLEY_THREADS (or --threads: {cfg.threads}) must be above PARLEY_LIVE_MAX_CONNECTIONS "
                             f"({streams}): each live-update stream holds a thread")

    def _plain(self, conn):
        """HTTP/1 in the clear, whose head can be read here (TLS, HTTP/2 and uWSGI are read by the thread)."""
        if self.cfg.is_ssl or getattr(self.cfg, "protocol", "http") != "http":
            return False
        return negotiation is None or not negotiation.prior_knowledge_allowed(self.cfg, conn.client)

    def enqueue_req(self, conn):
        held = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        if not self._plain(conn) or complete(held):
            return super().enqueue_req(conn)
        conn.sock.setblocking(False)
        self.reading[conn] = (held, time.monotonic() + HEAD_SECONDS)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read, conn))

    def _read(self, conn, _sock):
        """What the client sent since; the request goes to a thread once complete."""
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        read, deadline = self.reading[conn]
        read += data
        if not complete(read):
            self.reading[conn] = (read, deadline)
            return
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        if conn.parser is None:
            get_parser = getattr(http, "get_parser", None) or http.RequestParser  # newer gunicorn / older
            conn.parser = get_parser(self.cfg, conn.sock, conn.client)
        # What the parser held (the start of a pipelined request) came first: it is part of `read`.
        conn.parser.unreader.buf.seek(0)
        conn.parser.unreader.buf.truncate()
        conn.parser.unreader.buf.write(read)
        conn.data_ready = True  # a newer gunicorn would wait in the thread for a first byte: it has come
        super().enqueue_req(conn)

    def _drop(self, conn):
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        del self.reading[conn]
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self, *args, **kwargs):
        """Each turn of the loop: kept-alive connections that idled too long, and heads that took too long."""
        super().murder_keepalived(*args, **kwargs)
        now = time.monotonic()
        for conn, (_, deadline) in list(self.reading.items()):
            if deadline <= now or not self.alive:
                self._drop(conn)
