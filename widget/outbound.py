"""Requests this server makes to addresses others chose (webhook targets, Webmention sources).

Such an address could point at the server's own network: a database, a cloud metadata service, an
admin page on loopback. Every host is resolved here, each of its addresses checked, and the request
then goes to the address that was checked, so that a second DNS answer cannot swap in another one
(DNS rebinding). TLS still verifies the certificate against the host name.
"""
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

USER_AGENT = "Parley (comment server; +https://github.com/parley-comments)"


class Refused(Exception):
    """The address is not one this server may reach (a private range, a bad URL, too many redirects)."""


class Unreachable(Exception):
    """The address could not be reached now: DNS, a refused connection, a timeout, a body too large."""


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
    return parts, host, port


def _ipv4_shorthand(host):
    """The address a resolver reads in 127.1, 0x7f000001 or 2130706433 (inet_aton's forms), else None."""
    if not host or not all(c in "0123456789abcdefx." for c in host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def resolve(url, allow_private=False):
    """The address to connect to for the URL's host, once every address the host has is checked."""
    _, host, port = _target(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
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
    try:
        literal = str(ipaddress.ip_address(host))
    except ValueError:
        literal = _ipv4_shorthand(host)
    if literal is not None and not is_public(literal):
        raise Refused(f"{host} is a private, loopback or reserved address")
    name = host.rstrip(".")  # "localhost." is localhost too
    if name == "localhost" or name.endswith(".localhost"):
        raise Refused(f"{host} is this machine")


def request(method, url, *, allow_private=False, headers=None, content=None, timeout=10.0,
            max_bytes=1_000_000, max_redirects=0, cut=False):
    """One HTTP request to a checked address; redirects followed (each hop checked) up to max_redirects.

    An answer longer than max_bytes is Unreachable, or with `cut` kept to its first max_bytes.
    `timeout` bounds each hop as a whole, not only each read, so a slow trickle cannot hold the sender.
    """
    for _ in range(max_redirects + 1):
        answer = _one(method, url, allow_private, headers or {}, content, timeout, max_bytes, cut)
        location = answer.headers.get("location")
        if answer.status in (301, 302, 303, 307, 308) and location and max_redirects:
            url = urljoin(url, location)
            if answer.status == 303:
                method, content = "GET", None
            continue
        return answer
    raise Refused(f"more than {max_redirects} redirects")


def _bracketed(address):
    return f"[{address}]" if ":" in address else address


def _one(method, url, allow_private, headers, content, timeout, max_bytes, cut):
    deadline = time.monotonic() + timeout
    parts, host, port = _target(url)
    address = resolve(url, allow_private)
    # A link-local address's zone (fe80::1%eth0) is written %25 in a URL.
    pinned = parts._replace(netloc=f"{_bracketed(address.replace('%', '%25'))}:{port}").geturl()
    default_port = port == (443 if parts.scheme == "https" else 80)
    authority = _bracketed(host) if default_port else f"{_bracketed(host)}:{port}"
    sent_headers = {"User-Agent": USER_AGENT, **headers, "Host": authority}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, \
                client.stream(method, pinned, headers=sent_headers, content=content,
                              extensions={"sni_hostname": host}) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    if cut:
                        del body[max_bytes:]
                        break
                    raise Unreachable(f"the answer is larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise Unreachable(f"timed out after {timeout:g} s")
            return Answer(response.status_code, response.headers, bytes(body), url)
    except httpx.TimeoutException:
        raise Unreachable(f"timed out after {timeout:g} s") from None
    except httpx.ConnectError as error:
        raise Unreachable(f"cannot connect to {host}: {error}") from None
    except httpx.HTTPError as error:
        raise Unreachable(f"{type(error).__name__}: {error}") from None
