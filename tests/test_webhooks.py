"""Webhooks: signed deliveries to a real receiver, retries, refused targets, and who may set them up."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from widget import outbound

# The outbound checks themselves -----------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.8.8", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
])
def test_private_loopback_and_reserved_addresses_are_not_public(address):
    assert not outbound.is_public(address)


@pytest.mark.parametrize("address", ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101"])
def test_public_addresses_are_public(address):
    assert outbound.is_public(address)


def test_every_address_of_a_name_is_checked(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("1.1.1.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(outbound.Refused, match="10.0.0.7"):
        outbound.resolve("https://mixed.example.com/")
    assert outbound.resolve("https://mixed.example.com/", allow_private=True) == "1.1.1.1"


def test_localhost_is_refused_after_resolving():
    with pytest.raises(outbound.Refused, match="resolves to"):
        outbound.request("POST", "http://localhost:9/", content=b"{}")


def test_a_trickling_answer_is_cut_off_at_the_timeout():
    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)  # each byte well within the read timeout
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(outbound.Unreachable, match="timed out"):
            outbound.request("GET", f"http://127.0.0.1:{server.server_address[1]}/", allow_private=True, timeout=0.5)
        assert time.monotonic() - started < 2
    finally:
        server.shutdown()
        server.server_close()


def test_a_long_answer_may_be_cut_instead_of_refused():
    class Long(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", str(100_000))
            self.end_headers()
            self.wfile.write(b"y" * 100_000)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Long)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with pytest.raises(outbound.Unreachable, match="larger than"):
            outbound.request("POST", url, allow_private=True, max_bytes=1000)
        answer = outbound.request("POST", url, allow_private=True, max_bytes=1000, cut=True)
        assert (answer.status, answer.body) == (200, b"y" * 1000)
    finally:
        server.shutdown()
        server.server_close()


def test_an_ipv6_target_gets_a_bracketed_host_header():
    class V6Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    seen = []

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        server = V6Server(("::1", 0), Echo)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        answer = outbound.request("POST", f"http://[::1]:{port}/", allow_private=True, content=b"{}")
        assert answer.status == 204 and seen == [f"[::1]:{port}"]
    finally:
        server.shutdown()
        server.server_close()
