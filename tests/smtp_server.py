"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the notification tests."""
import asyncio
import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options):
        self.server.busy.set()
        # A slow server is slow before it has the message: a sender killed meanwhile has sent nothing.
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.SMTP)
        with self.server.arrived:
            self.server.messages.append(message)
            self.server.arrived.notify_all()
        return "250 Message accepted for delivery"


class MailServer:
    """`with MailServer() as mail:` ... `mail.wait_for(2)`; stop() and start() again on the same port."""

    def __init__(self, port=None, delay=0.0):
        self.port = port or free_port()
        self.delay = delay
        self.messages = []
        self.arrived = threading.Condition()
        self.busy = threading.Event()  # set once a sender is in the middle of handing over a message
        self._controller = None

    def start(self):
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_):
        self.stop()

    def config(self):
        """The app settings that send to this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "none",
                "SMTP_FROM": "Blog comments <comments@blog.example.com>"}

    def wait_for(self, count, timeout=10.0):
        """The messages once at least `count` have arrived (fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} emails arrived, not {count}")
                self.arrived.wait(left)
            return list(self.messages)

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def links(message):
    """Every URL in the plain-text part, in order."""
    return re.findall(r"https?://\S+", text_of(message))
