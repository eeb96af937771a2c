"""A little avatar service on loopback that answers as Gravatar does, and remembers who asked for what."""
import hashlib
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import serve_in_background

# The smallest PNG there is: one transparent pixel.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def md5(email):
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


class AvatarService:
    """Serves PNG for the emails it knows at /avatar/<md5>; 404 for others, as Gravatar does with d=404."""

    def __init__(self, emails=(), delay=0.0):
        self.pictures = {md5(email): PNG for email in emails}
        self.requests = []  # (path, User-Agent)
        self.delay = delay  # seconds before each answer, as a slow service takes
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (the name http.server calls)
                service.requests.append((self.path, self.headers.get("User-Agent", "")))
                time.sleep(service.delay)
                found = service.pictures.get(self.path.split("?")[0].rpartition("/")[2])
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "image/png" if found else "text/plain")
                body = found or b"not found"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/avatar/"

    def __enter__(self):
        self._thread = serve_in_background(self._server)
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
