"""Requests this server makes to addresses others chose (webhook targets, Webmention sources).

Such an address could point at the server's own network: a database, a cloud metadata service, an
admin page on loopback. Every host is resolved here, each of its addresses checked, and the request
then goes to the address that was checked, so that a second DNS answer cannot swap in another one
(DNS rebinding). TLS still verifies the certificate against the host name.
"""
import ipaddress
import socket
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


def is_public(address):
    """Whether an IP address is on the public internet: not private, loopback, link-local, shared or reserved."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    return parts, parts.hostname, port


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
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not allow_private and not is_public(str(literal)):
        raise Refused(f"{host} is a private, loopback or reserved address")
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise Refused(f"{host} is this machine")


def request(method, url, *, allow_private=False, headers=None, content=None, timeout=10.0,
            max_bytes=1_000_000, max_redirects=0, truncate=False):
    """One HTTP request to a checked address; redirects followed (each hop checked) up to max_redirects.

    A body longer than max_bytes is Unreachable, or with `truncate` cut to its first max_bytes.
    """
    for _ in range(max_redirects + 1):
        answer = _one(method, url, allow_private, headers or {}, content, timeout, max_bytes, truncate)
        location = answer.headers.get("location")
        if answer.status in (301, 302, 303, 307, 308) and location and max_redirects:
            url = urljoin(url, location)
            if answer.status == 303:
                method, content = "GET", None
            continue
        return answer
    raise Refused(f"more than {max_redirects} redirects")


def _one(method, url, allow_private, headers, content, timeout, max_bytes, truncate=False):
    parts, host, port = _target(url)
    address = resolve(url, allow_private)
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    default_port = port == (443 if parts.scheme == "https" else 80)
    sent_headers = {"User-Agent": USER_AGENT, **headers, "Host": host if default_port else f"{host}:{port}"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, \
                client.stream(method, pinned, headers=sent_headers, content=content,
                              extensions={"sni_hostname": host}) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    if truncate:
                        del body[max_bytes:]
                        break
                    raise Unreachable(f"the answer is larger than {max_bytes} bytes")
            return Answer(response.status_code, response.headers, bytes(body), url)
    except httpx.HTTPError as error:
        raise Unreachable(f"{type(error).__name__}: {error}") from None
