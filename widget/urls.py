"""URL and origin handling: pure functions, no Flask, no database."""
import ipaddress
import re
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "yclid", "_ga", "igshid"}
_HOST = re.compile(r"^([0-9a-f:.]*:[0-9a-f:.]*|[a-z0-9_.-]+)$")  # IPv6 (unbracketed here) or a name
# Controls, spaces and characters RFC 3986 never allows raw (browsers send them %-encoded).
_FORBIDDEN = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')


def _split_web_url(url):
    """Split an absolute http(s) URL, or return None."""
    if not isinstance(url, str) or _FORBIDDEN.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host.strip(".") or not _HOST.match(host):
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts, scheme, host, port


def _netloc(scheme, host, port):
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return host
    return f"{host}:{port}"


def is_web_url(url):
    """True for an absolute http or https URL with a host and no credentials."""
    return _split_web_url(url) is not None


def normalise_url(url):
    """The thread key of a page URL, or None when it is not an http(s) URL.

    Scheme and host are lower-cased, the default port, the fragment and tracking
    parameters (utm_*, fbclid, gclid, ...) are dropped; the rest is kept as sent.
    """
    split = _split_web_url(url)
    if split is None:
        return None
    parts, scheme, host, port = split
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((scheme, _netloc(scheme, host, port), parts.path or "/", urlencode(query), ""))


def _ascii_host(url):
    """The URL with an international host name in its ASCII form (bücher.example: xn--bcher-kva.example), as
    browsers send it in Origin; None when the host is no valid name."""
    parts = urlsplit(url)
    credentials, at, host_port = parts.netloc.rpartition("@")
    host, colon, port = host_port.rpartition(":") if ":" in host_port else (host_port, "", "")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return urlunsplit(parts._replace(netloc=f"{credentials}{at}{host}{colon}{port}"))


def normalise_origin(origin):
    """`scheme://host[:port]` for an origin or URL given without a path, else None."""
    if isinstance(origin, str) and not origin.isascii():
        origin = _ascii_host(origin)
    split = _split_web_url(origin)
    if split is None:
        return None
    parts, scheme, host, port = split
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return f"{scheme}://{_netloc(scheme, host, port)}"


def origin_of(url):
    """The origin of an absolute http(s) URL, or None."""
    split = _split_web_url(url)
    if split is None:
        return None
    _, scheme, host, port = split
    return f"{scheme}://{_netloc(scheme, host, port)}"


def host_key(origin):
    """The host of an origin, spelled one way: lower case, ASCII, without a trailing dot, an IP address in its
    usual form (127.1, 0x7f000001 and ::ffff:127.0.0.1 are 127.0.0.1). Origins that differ only by scheme or
    port share it; None for what is no origin."""
    split = _split_web_url(normalise_origin(origin))
    if split is None:
        return None
    host = split[2].removesuffix(".")
    if ":" in host:
        if not _is_ip(host):
            return None
        address = ipaddress.IPv6Address(host)
        return str(address.ipv4_mapped or address.compressed)  # ::ffff:127.0.0.1 is 127.0.0.1
    if host and set(host) <= set("0123456789abcdefx."):
        try:  # the shorthand forms of an IPv4 address that resolvers and browsers read (inet_aton's)
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            pass
    return host or None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
