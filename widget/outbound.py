"""Requests this server makes to addresses others chose (webhook targets, Webmention sources).

Such an address could point at the server's own network: a database, a cloud metadata service, an
admin page on loopback. Every host is resolved here, each of its addresses checked, and the request
then goes to the address that was checked, so that a second DNS answer cannot swap in another one
(DNS rebinding). TLS still verifies the certificate against the host name.

Whoever answers may also be hostile. One deadline bounds the whole exchange (the DNS lookup, the
connection, TLS, the headers, the body, every redirect): each wait on the network is given only the
time left, so a server sending a byte a second is cut like a silent one. The body is read as it
came over the wire and decoded here, step by step, so that a few kilobytes of gzip or brotli can
never become more than the cap of decoded bytes, nor hold the interpreter for long at a time.
"""
import functools
import ipaddress
import itertools
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import brotli
import httpcore
import httpx

USER_AGENT = "Parley (comment server; +https://github.com/parley-comments)"
# What the body may be encoded with: each is decoded here with a bound on its output. zstd is not (its
# Python decoders cannot stop at a given size), so it is not asked for, and an answer using it is refused.
ACCEPT_ENCODING = "gzip, deflate, br"
# More content codings on one answer than any server applies; each costs a decoder.
MAX_CODINGS = 4
# The most one decoding step produces: small, so that a step takes well under a millisecond, and other
# threads (the web requests of this process) get the interpreter between steps.
STEP = 64 * 1024


class Refused(Exception):
    """The address is not one this server may reach (a private range, a bad URL, too many redirects)."""


class Unreachable(Exception):
    """The address could not be reached now: DNS, a refused connection, a timeout, a body too large."""


class TimedOut(Unreachable):
    """The exchange did not end by its deadline: the other side was slow, or made itself slow."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # where the answer came from, after redirects


# IPv6 ranges that Python's is_global calls global but that stand for something else: IPv4-compatible
# (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d) addresses, local-use NAT64, and the old site-local range.
_NOT_PUBLIC_V6 = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "fec0::/10")]
# NAT64 (64:ff9b::a.b.c.d) reaches the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(address):
    """Whether an IP address is on the public internet: not private, loopback, link-local, shared or reserved."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one is as public as that address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
        elif any(ip in network for network in _NOT_PUBLIC_V6):
            return False
    return ip.is_global and not ip.is_multicast


def _target(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http and https URLs with a host can be reached")
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are not reached")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not a number from 0 to 65535") from None
    try:
        # The ASCII form is what DNS, the Host header and TLS all take (bücher.example -> xn--bcher-kva.example).
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused(f"{parts.hostname!r} is not a valid host name") from None
    if host.endswith(".") and _literal(host.rstrip(".")) is not None:
        # "127.0.0.1." is no address to the checks, but a resolver may read it as one (or ask DNS for it,
        # and fail again and again): an address written so is refused, whatever it is.
        raise Refused(f"{host} is an IP address written with a trailing dot")
    return parts, host, port


def _ipv4_shorthand(host):
    """The address a resolver reads in 127.1, 0x7f000001 or 2130706433 (inet_aton's forms), else None."""
    if not host or not all(c in "0123456789abcdefx." for c in host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _literal(host):
    """The IP address a host is written as (in any spelling a resolver reads), else None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return _ipv4_shorthand(host)


def _lookup(host, port, deadline):
    """getaddrinfo, given until the deadline: it has no timeout of its own, and a host's name servers may be
    as slow as its web server. The lookup runs in a thread of its own, left to finish by itself when late."""
    if deadline is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: dict[str, object] = {}

    def look():
        try:
            outcome["found"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as error:  # raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=look, name="parley-dns", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise TimedOut(f"no DNS answer for {host} in time")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["found"]


def resolve(url, allow_private=False, deadline=None):
    """The address to connect to for the URL's host, once every address the host has is checked."""
    _, host, port = _target(url)
    try:
        found = _lookup(host, port, deadline)
    except (socket.gaierror, UnicodeError) as error:
        raise Unreachable(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise Unreachable(f"{host} has no address")
    if not allow_private:
        # Every address, not just the first: a host with one public and one private address could
        # otherwise be reached on the private one by a retry.
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise Refused(f"{host} resolves to {private[0]}, a private, loopback or reserved address")
    return addresses[0]


def check_url(url, allow_private=False):
    """Raise Refused for a URL that could never be reached from here; a literal private IP counts.

    Host names are not resolved (that happens when sending): this is the quick check for a form.
    """
    _, host, _ = _target(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None and not is_public(literal):
        raise Refused(f"{host} is a private, loopback or reserved address")
    name = host.rstrip(".")  # "localhost." is localhost too
    if name == "localhost" or name.endswith(".localhost"):
        raise Refused(f"{host} is this machine")


def request(method, url, *, allow_private=False, headers=None, content=None, timeout=10.0,
            max_bytes=1_000_000, max_redirects=0, cut=False):
    """One HTTP request to a checked address; redirects followed (each hop checked) up to max_redirects.

    An answer longer than max_bytes once decoded is Unreachable, or with `cut` kept to its first max_bytes;
    one encoded in a way not asked for is Refused.
    `timeout` is the deadline of the whole exchange, every hop included: TimedOut once it passes.
    """
    deadline = time.monotonic() + timeout
    try:
        for _ in range(max_redirects + 1):
            answer = _one(method, url, allow_private, headers or {}, content, deadline, max_bytes, cut)
            location = answer.headers.get("location")
            if answer.status in (301, 302, 303, 307, 308) and location and max_redirects:
                url = urljoin(url, location)
                if answer.status == 303:
                    method, content = "GET", None
                continue
            return answer
    except TimedOut:
        raise TimedOut(f"timed out after {timeout:g} s") from None
    raise Refused(f"more than {max_redirects} redirects")


def _bracketed(address):
    return f"[{address}]" if ":" in address else address


@functools.cache
def _tls():
    return httpx.create_ssl_context()


def _path(parts):
    """The request target: the URL's path and query, with anything not allowed there percent-encoded."""
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    return path + ("?" + quote(parts.query, safe="/?%:@!$&'()*+,;=-._~") if parts.query else "")


def _one(method, url, allow_private, headers, content, deadline, max_bytes, cut):
    parts, host, port = _target(url)
    address = resolve(url, allow_private, deadline)
    default_port = port == (443 if parts.scheme == "https" else 80)
    authority = _bracketed(host) if default_port else f"{_bracketed(host)}:{port}"
    # Only the layer that decodes says what may be sent encoded; the caller's other headers as given.
    given = {name: value for name, value in headers.items() if name.lower() not in ("host", "accept-encoding")}
    sent = [("Host", authority), ("User-Agent", USER_AGENT), *given.items(), ("Accept-Encoding", ACCEPT_ENCODING)]
    if content is not None:
        sent.append(("Content-Length", str(len(content))))
    # The connection goes to the checked address (a link-local one with its zone), named for TLS by the host.
    pinned = httpcore.URL(scheme=parts.scheme, host=address, port=port, target=_path(parts))
    try:
        with httpcore.ConnectionPool(ssl_context=_tls() if parts.scheme == "https" else None,
                                     network_backend=_Bounded(deadline), max_connections=1) as pool, \
                pool.stream(method, pinned, headers=sent, content=content,
                            extensions={"sni_hostname": host}) as response:
            answer_headers = httpx.Headers(response.headers)
            body = _read(response.iter_stream(), answer_headers, max_bytes, cut, deadline)
            return Answer(response.status, answer_headers, body, url)
    except httpcore.TimeoutException:
        raise TimedOut("the deadline passed") from None
    except httpcore.ConnectError as error:
        raise Unreachable(f"cannot connect to {host}: {error or 'refused'}") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
        raise Unreachable(f"{type(error).__name__}: {error}") from None


# One deadline over every wait on the network ---------------------------------------------------

def _left(deadline, late):
    """The seconds left to the deadline, never zero (a zero timeout would make a socket non-blocking)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the deadline passed")
    return left


class _Bounded(httpcore.NetworkBackend):
    """httpcore's own sockets, with every wait (connect, TLS, each read and write) given only the time
    left to one deadline, instead of a fresh timeout per read that a trickle renews forever."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.sockets = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self.sockets.connect_tcp(host, port, _left(self.deadline, httpcore.ConnectTimeout),
                                          local_address, socket_options)
        return _BoundedStream(stream, self.deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.UnsupportedProtocol("no Unix sockets here")

    def sleep(self, seconds):
        time.sleep(min(seconds, _left(self.deadline, httpcore.PoolTimeout)))


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream, deadline):
        self.stream, self.deadline = stream, deadline

    def read(self, max_bytes, timeout=None):
        return self.stream.read(max_bytes, _left(self.deadline, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        self.stream.write(buffer, _left(self.deadline, httpcore.WriteTimeout))

    def close(self):
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        # The handshake as a whole is bounded by the socket's timeout (CPython's ssl counts it to a deadline).
        stream = self.stream.start_tls(ssl_context, server_hostname, _left(self.deadline, httpcore.ConnectTimeout))
        return _BoundedStream(stream, self.deadline)

    def get_extra_info(self, info):
        return self.stream.get_extra_info(info)


# Content codings, decoded with a bound on what they produce ----------------------------------------

class _TooLarge(Exception):
    pass


def _codings(headers):
    """The answer's content codings in the order they were applied ("gzip, br": gzip first); Refused for
    one this server does not decode."""
    names = [name.strip().lower() for value in headers.get_list("content-encoding") for name in value.split(",")]
    names = ["gzip" if name == "x-gzip" else name for name in names if name and name != "identity"]
    unknown = [name for name in names if name not in _DECODERS]
    if unknown:
        raise Refused(f"the answer is encoded as {unknown[0][:40]!r}, which this server does not read "
                      f"(it asks for {ACCEPT_ENCODING})")
    if len(names) > MAX_CODINGS:
        raise Refused(f"the answer is encoded {len(names)} times over; at most {MAX_CODINGS} are read")
    return names


def _inflate(chunks, wbits):
    """zlib's output in steps of at most STEP bytes, however much one input chunk holds."""
    decompressor = zlib.decompressobj(wbits)
    for chunk in chunks:
        while True:
            out = decompressor.decompress(chunk, STEP)
            chunk = decompressor.unconsumed_tail
            if out:
                yield out
            # A full step may leave output inside zlib even once the input is taken: ask again until less comes.
            if decompressor.eof or (not chunk and len(out) < STEP):
                break
        if decompressor.eof:
            return  # what follows the end of the stream is ignored, as browsers do


def _gzip(chunks):
    yield from _inflate(chunks, 16 + zlib.MAX_WBITS)


def _deflate(chunks):
    # "deflate" is the zlib format (RFC 9110), but some servers send raw deflate: told apart by the zlib header.
    chunks = iter(chunks)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 2:
            break
    wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    yield from _inflate(itertools.chain([head], chunks), zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _brotli(chunks):
    decompressor = brotli.Decompressor()
    for chunk in chunks:
        out = decompressor.process(chunk, output_buffer_limit=STEP)
        # Past the limit the decoder keeps the rest of its output: taken with empty input, a step at a time.
        while out:
            yield out
            out = decompressor.process(b"", output_buffer_limit=STEP)
        if decompressor.is_finished():
            return


_DECODERS = {"gzip": _gzip, "deflate": _deflate, "br": _brotli}


def _counted(chunks, limit, deadline):
    """The chunks, until more than `limit` bytes came (_TooLarge) or the deadline passed (TimedOut)."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _TooLarge
        if time.monotonic() > deadline:
            raise TimedOut("the deadline passed")
        yield chunk


def _read(raw, headers, max_bytes, cut, deadline):
    """The body, decoded, at most max_bytes of it: past that Unreachable, or with `cut` its first max_bytes
    (none of it read when that is 0).

    Every stage is bounded, not only the last: what each decoder takes in (the bytes on the wire, another
    decoder's output) may exceed the decoded body by a step (data that does not compress), never by more.
    """
    if cut and max_bytes == 0:
        return b""
    codings = _codings(headers)
    limit = max_bytes + STEP
    stream = raw
    for coding in reversed(codings):
        stream = _DECODERS[coding](_counted(stream, limit, deadline))
    body = bytearray()
    try:
        for chunk in stream:
            body += chunk
            if len(body) > max_bytes:
                raise _TooLarge
            if time.monotonic() > deadline:
                raise TimedOut("the deadline passed")
    except _TooLarge:
        if not cut:
            raise Unreachable(f"the answer is larger than {max_bytes} bytes") from None
        del body[max_bytes:]
    except (zlib.error, brotli.error) as error:
        raise Unreachable(f"the answer's {'/'.join(codings)} encoding is broken: {error}") from None
    return bytes(body)
