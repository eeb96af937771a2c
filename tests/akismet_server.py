"""A stand-in for rest.akismet.com on loopback: speaks Akismet's REST protocol, answers as a test
tells it to, and remembers every request it was sent."""
import time

from helpers import serve_in_background
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

THANKS = "Thanks for making the web a better place."


class FakeAkismet:
    def __init__(self):
        self.verdict = "false"  # comment-check's answer: "true" (spam), "false" (ham), "error", "nonsense"
        self.delay = 0.0
        self.received = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        self._thread = serve_in_background(self._server)
        return self

    def __exit__(self, *exc):
        self._server.shutdown()

    def calls(self, endpoint):
        return [form for path, form in self.received if path == f"/1.1/{endpoint}"]

    def _app(self, environ, start_response):
        request = Request(environ)
        self.received.append((request.path, request.form.to_dict()))
        if request.path == "/1.1/comment-check":
            time.sleep(self.delay)
            if self.verdict == "error":
                response = Response("Internal Server Error", status=500)
            elif self.verdict == "nonsense":
                response = Response("invalid", headers={"X-akismet-debug-help": "Empty \"blog\" value"})
            else:
                response = Response(self.verdict)
        elif request.path in ("/1.1/submit-spam", "/1.1/submit-ham"):
            response = Response(THANKS)
        elif request.path == "/1.1/verify-key":
            response = Response("valid")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)
