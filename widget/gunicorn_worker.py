"""gunicorn's threaded worker, but a thread takes a request only once all of it has arrived.

gthread hands a connection to a thread as soon as its first bytes come, and the thread then waits, blocking, for
the rest. Clients that sent half a header, the first chunk of a chunked body, or a head announcing a body that never
came held a thread each for as long as they liked, and three of them could take every thread (/healthz's too).
Here the worker's event loop (one thread, which waits on every socket at once) reads what has come, without waiting,
until the request is whole: its head, and its body, of known length or chunked, when that is small. It answers
"Expect: 100-continue" itself, and refuses itself what cannot be read whole: a head over MAX_HEAD (431), or a body
over BODY_BYTES (413). Only a form that takes a file (an import upload: the app names those) may send more, and then
a thread reads it; but a thread reading a body never waits more than STALL_SECONDS for the next piece. What is not
whole within HEAD_SECONDS is dropped, and a closing connection waits for its client's end in the loop, not in a
thread nor holding up the loop. A buffering proxy in front (nginx, see the README's Production) does all this and
more: it also stands in for clients that read their answers slowly, and it ends TLS, which this loop cannot read.
"""
import json
import os
import re
import selectors
import socket
import threading
import time
from contextlib import nullcontext
from functools import partial
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import HTTPException

try:  # a gunicorn that speaks HTTP/2, whose cleartext connections may begin with a preface, not a head
    from gunicorn.http2 import negotiation
except ImportError:  # an older one
    negotiation = None

# Time a client has to send a request's head and a small body: plenty for a person's browser.
HEAD_SECONDS = 10.0
# The longest head read: gunicorn's own limits (a 4 KB request line, 100 fields of 8 KB) would let a head grow
# to 800 KB, held in memory for each of a thousand connections; browsers send a few KB.
MAX_HEAD = 64 * 1024
# Bodies up to this size (every body Parley takes but an upload's: MAX_CONTENT_LENGTH is 64 KiB) are read before a
# thread takes the request, chunked ones with their framing up to BODY_BYTES + FRAMING_BYTES.
BODY_BYTES = 64 * 1024
FRAMING_BYTES = 16 * 1024
# A thread reading a body (an upload, or anything over TLS) gives up on a client that sent nothing for this long.
STALL_SECONDS = 10.0
# A connection closed after its answer first reads (and drops) what its client still sends, for this long or this
# much, so that the client gets the whole answer rather than a reset: beside the loop's other work, where gunicorn 26
# and later would hold the loop meanwhile.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024

WAIT, READY, STREAM, REFUSE = "wait", "ready", "stream", "refuse"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)


class Incoming:
    """One request as its bytes come: whether a thread may take it yet (`verdict`), fed by the event loop.

    WAIT: more is to come; READY: all of it is here (bytes after it are the next request's); STREAM: its head is
    here and its body is an upload a thread reads; REFUSE: answered by `refusal` (status, why). A head the loop
    cannot make sense of is READY: gunicorn's parser refuses it in words, from the bytes it has.
    """

    def __init__(self, limit_of):
        self.limit_of = limit_of  # (method, target) -> the largest body the app takes there, or None
        self.data = bytearray()
        self.start = 0  # where the request starts, after any empty lines
        self.scanned = 0  # where the search for the head's end resumes
        self.body_start = 0  # where the body starts, once the head has come (a head is never empty)
        self.length = 0  # of a body of known length
        self.limit: int | None = None
        self.chunk_at = 0  # a chunked body: where its next size line (or trailer) starts ...
        self.chunk_left = 0  # ... or how much of the current chunk (and its CRLF) is still to come
        self.chunk_bytes = 0  # the sum of its chunks' announced sizes
        self.line_scanned = 0  # where the search for the end of a size line or trailer resumes
        self.trailers = False
        self.continue_due = False  # the client waits for "100 Continue" before it sends the body
        self.continued = False  # ... which the loop sent
        self.refusal = None
        self.verdict = WAIT

    def feed(self, data):
        self.data += data
        if self.verdict == WAIT:
            self.verdict = self._judge()
        return self.verdict

    def payload(self):
        """The bytes a thread parses: what came, less the expectation the loop has answered already."""
        if not self.continued:
            return bytes(self.data)
        head = _EXPECT_CONTINUE.sub(b"", self.data[:self.body_start])
        return bytes(head + self.data[self.body_start:])

    def _refuse(self, status, why):
        self.refusal = (status, why)
        return REFUSE

    def _judge(self):
        if not self.body_start:
            while self.data.startswith(b"\r\n", self.start):  # empty lines before a request are ignored
                self.start += 2
            # Each search goes on where the last one stopped: a head sent a byte at a time costs no more to read.
            resume = max(self.start, self.scanned - 3)
            end = self.data.find(b"\r\n\r\n", resume)
            if _BARE_LF.search(self.data, resume, len(self.data) if end < 0 else end + 4):
                return self._refuse(400, "A line of the request's head ends without CR.")
            if end < 0:
                self.scanned = len(self.data)
                if len(self.data) > MAX_HEAD:
                    return self._refuse(431, "The request's head is longer than this server takes.")
                return WAIT
            if end + 4 > MAX_HEAD:
                return self._refuse(431, "The request's head is longer than this server takes.")
            self.body_start = end + 4
            verdict = self._read_head(bytes(self.data[self.start:end]))
            if verdict != WAIT:
                return verdict
        return self._read_body()

    def _read_head(self, head):
        """How the body comes, from the head; READY for a head that gunicorn refuses without reading on."""
        request_line, *lines = head.split(b"\r\n")
        parts = request_line.split(b" ")
        if len(parts) != 3:
            return READY
        method, target, version = parts
        fields: dict[bytes, list[bytes]] = {}
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or line[:1] in (b" ", b"\t"):
                return READY
            fields.setdefault(name.lower(), []).append(value.strip(b" \t"))
        codings = [coding.strip(b" \t").lower() for value in fields.get(b"transfer-encoding", [])
                   for coding in value.split(b",")]
        lengths = fields.get(b"content-length", [])
        if codings:
            if codings[-1] != b"chunked" or codings.count(b"chunked") > 1 or lengths or version != b"HTTP/1.1":
                return READY  # a framing gunicorn refuses
            self.chunk_at = self.body_start
        elif lengths:
            if len(lengths) > 1 or not lengths[0].isdigit():
                return READY
            self.length = int(lengths[0])
        self.limit = self.limit_of(method.decode("latin-1"), target.decode("latin-1"))
        if not self.chunk_at and self.limit is not None and self.length > self.limit:
            return self._refuse(413, "The request body is larger than the server accepts.")
        if not self.chunk_at and self.length > BODY_BYTES:
            return STREAM  # an upload the app takes: a thread reads it
        expectations = [value.lower() for value in fields.get(b"expect", [])]
        has_body = bool(self.chunk_at or self.length)
        self.continue_due = has_body and expectations == [b"100-continue"] and version == b"HTTP/1.1"
        return WAIT

    def _read_body(self):
        if not self.chunk_at:
            return READY if len(self.data) - self.body_start >= self.length else WAIT
        ended = self._follow_chunks()
        if ended is None:
            return READY  # a framing gunicorn refuses, from the bytes it has
        if self.limit is not None and self.chunk_bytes > self.limit:
            return self._refuse(413, "The request body is larger than the server accepts.")
        # Held whole or not at all: a thread would wait for the rest of it.
        framed = len(self.data) - self.body_start
        if self.chunk_bytes > BODY_BYTES or not ended and framed > BODY_BYTES + FRAMING_BYTES:
            return self._refuse(413, f"A chunked body over {BODY_BYTES // 1024} KiB is refused: send its length.")
        return READY if ended else WAIT

    def _follow_chunks(self):
        """Follows the chunked body as far as it came: True once it has ended (its last chunk and trailers),
        None where it breaks the framing. Sizes count as announced, so a huge chunk is refused before it comes."""
        data, at = self.data, self.chunk_at
        while True:
            if self.chunk_left:
                if len(data) < at + self.chunk_left:
                    break
                at += self.chunk_left
                self.chunk_left = 0
                if data[at - 2:at] != b"\r\n":
                    return None
                continue
            end = data.find(b"\r\n", max(at, self.line_scanned - 1))
            if end < 0:
                self.line_scanned = len(data)
                break
            line, at = bytes(data[at:end]), end + 2
            if self.trailers:
                if not line:
                    self.chunk_at = at
                    return True
                continue
            size = line.split(b";", 1)[0]
            size = size.rstrip(b" \t") if b";" in line else size
            if not _HEX.fullmatch(size):
                return None
            self.chunk_bytes += int(size, 16)
            self.trailers = int(size, 16) == 0
            self.chunk_left = 0 if self.trailers else int(size, 16) + 2
        self.chunk_at = at
        return False


def body_limits(app):
    """What the app takes: (method, request target) -> the largest body it reads there, None for no limit.

    MAX_CONTENT_LENGTH, except on the forms that take a file, which the app names (endpoint -> the setting that
    bounds them) in app.extensions["parley.uploads"]. Another WSGI app is left to judge for itself."""
    config, url_map = getattr(app, "config", None), getattr(app, "url_map", None)
    if config is None or url_map is None:
        return lambda method, target: None
    uploads = getattr(app, "extensions", {}).get("parley.uploads", {})
    routes = url_map.bind("localhost")
    prefix = os.environ.get("SCRIPT_NAME", "").rstrip("/")  # gunicorn takes it off the path too

    def limit(method, target):
        if uploads and method == "POST":  # the app lets only a form's POST be large
            path = unquote(urlsplit(target).path)
            if prefix and path.startswith(prefix):
                path = path[len(prefix):]
            try:
                endpoint, _ = routes.match(path, method)
            except HTTPException:
                endpoint = None
            if endpoint in uploads:
                return config[uploads[endpoint]]
        return config.get("MAX_CONTENT_LENGTH")
    return limit


def answer(status, message):
    """A short answer in the API's error shape, after which the connection closes."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps({"error": {"code": phrase.lower().replace(" ", "_"), "message": message}}).encode()
    return (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


def _readable(sock, seconds):
    """Whether `sock` has something to read within `seconds` (a TLS socket may hold decrypted bytes already)."""
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():
        return True
    try:
        with getattr(selectors, "PollSelector", selectors.SelectSelector)() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(seconds))
    except (OSError, ValueError):  # closed under us: the read says so
        return True


def be_patient(parser):
    """Threads read from `parser`'s socket through this: a read waits at most STALL_SECONDS for the client (less
    when gunicorn gives the socket a deadline of its own, to drain a body), then ends the request's body as if the
    client had gone, and the connection closes after the answer."""
    unreader = parser.unreader
    if getattr(unreader, "patient", False) or not hasattr(unreader, "sock"):
        return
    chunk = unreader.chunk
    stalled: list[bool] = []

    def patient_chunk(*args, **kwargs):
        if stalled:  # readers ask again after an end: it stays the end
            return b""
        timeout = unreader.sock.gettimeout()
        if not _readable(unreader.sock, STALL_SECONDS if timeout is None else min(timeout, STALL_SECONDS)):
            if timeout is not None:
                raise TimeoutError("timed out")  # what the read itself would have raised
            stalled.append(True)
            if parser.mesg is not None:
                parser.mesg.must_close = True
            return b""
        return chunk(*args, **kwargs)

    unreader.chunk = patient_chunk
    unreader.patient = True


class HeadFirstWorker(ThreadWorker):
    """gthread whose event loop reads each request whole before a thread takes it (see the module's doc)."""

    def init_process(self):
        self.reading = {}  # connection -> (its Incoming request, when it is dropped)
        self.lingering = {}  # socket -> (when it is closed, bytes read since)
        self.loop_thread = None
        self.body_limit = lambda method, target: None  # until the app is loaded
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        self.body_limit = body_limits(self.wsgi)

    def run(self):
        self.loop_thread = threading.get_ident()
        super().run()

    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        # Each live-update stream holds a thread for minutes: more threads than streams, whatever the options said.
        streams = int(os.environ.get("PARLEY_LIVE_MAX_CONNECTIONS") or 50)
        if cfg.threads <= streams:
            raise SystemExit(f"PARLEY_THREADS (or --threads: {cfg.threads}) must be above PARLEY_LIVE_MAX_CONNECTIONS "
                             f"({streams}): each live-update stream holds a thread")

    def _plain(self, conn):
        """HTTP/1 in the clear, which the loop can read (TLS, HTTP/2, uWSGI and PROXY headers are read by threads)."""
        cfg = self.cfg
        if cfg.is_ssl or getattr(cfg, "protocol", "http") != "http" or getattr(cfg, "proxy_protocol", "off") not in (
                False, "off", None):
            return False
        return negotiation is None or not negotiation.prior_knowledge_allowed(cfg, conn.client)

    def _register(self, sock, callback):
        with getattr(self, "_lock", None) or nullcontext():  # older gunicorns share the poller with threads
            self.poller.register(sock, selectors.EVENT_READ, callback)

    def _unregister(self, sock):
        with getattr(self, "_lock", None) or nullcontext():
            try:
                self.poller.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass

    def enqueue_req(self, conn):
        if "close" not in vars(conn):
            conn.close = partial(self._close, conn)
        if not self._plain(conn):
            return super().enqueue_req(conn)
        held = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        incoming = Incoming(self.body_limit)
        self._settle(conn, self._feed(incoming, held))

    def _read(self, conn, _sock):
        """What the client sent since."""
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        incoming, _ = self.reading[conn]
        self._settle(conn, self._feed(incoming, data))

    def _feed(self, incoming, data):
        try:
            incoming.feed(data)
        except Exception:  # the loop must not die of a request it misread: gunicorn's parser will judge it
            self.log.exception("Could not read a request in the loop")
            incoming.verdict = READY
        return incoming

    def _settle(self, conn, incoming):
        """Waits for more, answers "100 Continue" or a refusal, or gives the request to a thread."""
        if incoming.verdict == WAIT:
            if conn not in self.reading:
                conn.sock.setblocking(False)
                self.reading[conn] = (incoming, time.monotonic() + HEAD_SECONDS)
                self._register(conn.sock, partial(self._read, conn))
            if incoming.continue_due:
                incoming.continue_due = False
                try:
                    incoming.continued = conn.sock.send(CONTINUE) == len(CONTINUE)
                except OSError:
                    pass
            return
        if self.reading.pop(conn, None):
            self._unregister(conn.sock)
        if incoming.verdict == REFUSE:
            status, why = incoming.refusal
            self.log.debug("Refused a request from %s: %s %s", conn.client, status, why)
            try:
                conn.sock.send(answer(status, why))
            except OSError:
                pass
            self.nr_conns -= 1
            self._linger(conn.sock)
            return
        if conn.parser is None:
            get_parser = getattr(http, "get_parser", None) or http.RequestParser  # newer gunicorn / older
            conn.parser = get_parser(self.cfg, conn.sock, conn.client)
        # What the parser held (the start of a pipelined request) came first: it is part of the payload.
        conn.parser.unreader.buf.seek(0)
        conn.parser.unreader.buf.truncate()
        conn.parser.unreader.buf.write(incoming.payload())
        be_patient(conn.parser)
        conn.body_unread = incoming.verdict == STREAM
        conn.data_ready = True  # a newer gunicorn would wait in the thread for a first byte: it has come
        super().enqueue_req(conn)

    def handle_request(self, req, conn):
        if getattr(conn, "body_unread", False):
            req.must_close = True  # where its body ends is known only to the thread that reads it
        be_patient(conn.parser)  # TLS: the thread reads everything
        return super().handle_request(req, conn)

    def _drop(self, conn):
        self._unregister(conn.sock)
        del self.reading[conn]
        self.nr_conns -= 1
        type(conn).close(conn)

    def _close(self, conn, graceful=False):
        """gunicorn 26 and later close a connection gracefully in the loop, which then waits for the client's end
        for up to 2 s: here the loop goes on meanwhile."""
        if graceful and threading.get_ident() == self.loop_thread:
            self._linger(conn.sock)
        elif graceful:
            type(conn).close(conn, graceful=True)
        else:
            type(conn).close(conn)

    def _linger(self, sock):
        """Closes `sock` once its client has closed, sent too much, or LINGER_SECONDS have passed."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self.lingering[sock] = (time.monotonic() + LINGER_SECONDS, 0)
        self._register(sock, self._discard)

    def _discard(self, sock):
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        deadline, read = self.lingering[sock]
        if not data or read + len(data) > LINGER_BYTES:
            self._end(sock)
        else:
            self.lingering[sock] = (deadline, read + len(data))

    def _end(self, sock):
        self._unregister(sock)
        del self.lingering[sock]
        sock.close()

    def murder_keepalived(self, *args, **kwargs):
        """Each turn of the loop: kept-alive connections that idled too long, requests that took too long to come,
        and closing connections whose client lingers."""
        super().murder_keepalived(*args, **kwargs)
        now = time.monotonic()
        for conn, (_, deadline) in list(self.reading.items()):
            if deadline <= now or not self.alive:
                self._drop(conn)
        for sock, (deadline, _) in list(self.lingering.items()):
            if deadline <= now:
                self._end(sock)
