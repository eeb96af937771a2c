"""Believe X-Forwarded-For/-Proto/-Host only from the reverse proxies the owner declared."""
import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
             "HTTP_X_FORWARDED_PREFIX")


def parse_networks(value):
    """"127.0.0.1, 10.0.0.0/8 ::1" as networks; a ValueError names a bad entry."""
    entries = value if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"PARLEY_TRUSTED_PROXIES: {entry!r} is not an address or network") from None
    return networks


class TrustedProxies:
    """WSGI layer: a request from a declared proxy has its forwarded headers applied (the client's
    address feeds IP bans and rate limits); from anyone else they are dropped unread."""

    def __init__(self, wsgi_app, networks, hops):
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        self.networks = networks

    def _trusted(self, address):
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self._trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        for key in FORWARDED:
            environ.pop(key, None)
        return self.plain(environ, start_response)


def init_app(app):
    """PROXY_COUNT proxies in front; with TRUSTED_PROXIES, believed only from those addresses."""
    networks = parse_networks(app.config["TRUSTED_PROXIES"])
    hops = int(app.config["PROXY_COUNT"]) or (1 if networks else 0)
    if networks:
        app.wsgi_app = TrustedProxies(app.wsgi_app, networks, hops)
    elif hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
