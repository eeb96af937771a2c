"""Live updates: which threads changed, told to the open event streams of every worker (through Redis
pub/sub when REDIS_URL is set, else within the process), and the stream each open widget reads.

An announcement names a thread (site id, thread id) and nothing else: what changed is read again
through the API, with the reader's own rights, so nothing private travels through here.
"""
import json
import logging
import os
import random
import select
import socket
import ssl
import threading
import time
import uuid
from collections import Counter

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import comments
from .addresses import wider_blocks
from .extensions import db

log = logging.getLogger(__name__)
RECONNECT_FIRST, RECONNECT_MOST = 0.5, 30.0
# After Redis failed to take an announcement, writes skip it this long rather than each wait for a timeout.
PUBLISH_PAUSE = 5.0
# How often a stream looks whether its reader is still there: one who left gives their slot back this soon,
# not at the next heartbeat (20 s), whose write is the only other way to find out.
DISCONNECT_CHECK_SECONDS = 1.0


class Subscription:
    """One open stream's interest in a thread; `changed` is set when it may have changed."""

    def __init__(self, broker, site_id, thread_id):
        self.broker, self.site_id, self.thread_id = broker, site_id, thread_id
        self.changed = threading.Event()

    def follow(self, thread_id):
        """The thread now exists (its first comment came): wait on its id from here on."""
        if thread_id != self.thread_id:
            self.broker._remove(self)
            self.thread_id = thread_id
            self.broker._add(self)

    def close(self):
        self.broker._remove(self)


class Broker:
    """This process's side of the live updates for one app: its subscriptions, its Redis channel, its stream slots."""

    def __init__(self, config):
        self.redis_url = config["REDIS_URL"]
        self.channel = config.get("LIVE_CHANNEL") or f"{config['RATELIMIT_KEY_PREFIX']}:live"
        self.slots = threading.BoundedSemaphore(int(config["LIVE_MAX_CONNECTIONS"]))
        self.per_address = int(config["LIVE_MAX_PER_ADDRESS"])
        self.by_address: Counter[str] = Counter()  # slots held by each client address
        self.addresses_lock = threading.Lock()
        self.closing = threading.Event()
        self._me = uuid.uuid4().hex  # this broker's own announcements come back from Redis: skip them
        self._lock = threading.Lock()
        self._waiting: dict[tuple[int, int | None], set[Subscription]] = {}
        self._listener: tuple[int, threading.Thread] | None = None
        self._client = None
        self._paused_until = 0.0

    # Subscriptions ---------------------------------------------------------------------------

    def subscribe(self, site_id, thread_id):
        """Wait on a thread; on (site, None) before the thread exists, which wakes on any change in its site."""
        self._start_listener()
        subscription = Subscription(self, site_id, thread_id)
        self._add(subscription)
        return subscription

    def _add(self, subscription):
        with self._lock:
            self._waiting.setdefault((subscription.site_id, subscription.thread_id), set()).add(subscription)

    def _remove(self, subscription):
        with self._lock:
            key = (subscription.site_id, subscription.thread_id)
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.discard(subscription)
                if not waiting:
                    del self._waiting[key]

    def deliver(self, changes):
        """Wake this process's streams on these (site id, thread id) pairs, and those waiting for a new thread."""
        with self._lock:
            woken = [s for site_id, thread_id in changes for key in ((site_id, thread_id), (site_id, None))
                     for s in self._waiting.get(key, ())]
        for subscription in woken:
            subscription.changed.set()

    def wake_all(self):
        """Every stream looks again (announcements may have been missed while Redis was away)."""
        with self._lock:
            woken = [s for waiting in self._waiting.values() for s in waiting]
        for subscription in woken:
            subscription.changed.set()

    # Announcing ------------------------------------------------------------------------------

    def publish(self, changes):
        """Tell every worker; never raises, since the write it follows is committed already."""
        self.deliver(changes)
        if not self.redis_url or time.monotonic() < self._paused_until:
            return
        message = json.dumps({"from": self._me, "changes": sorted(changes)})
        try:
            self._redis().publish(self.channel, message)
        except Exception as error:  # Redis away: the streams' own polling still finds the change
            self._paused_until = time.monotonic() + PUBLISH_PAUSE
            log.warning("live updates: could not publish to Redis: %s", error)

    def _redis(self):
        if self._client is None:
            import redis  # only with REDIS_URL: the redis extra (pip install 'parley[redis]')

            self._client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return self._client

    # Listening -------------------------------------------------------------------------------

    def _start_listener(self):
        """One thread per process (started after any fork, by the first stream) passes Redis's news on."""
        if not self.redis_url:
            return
        with self._lock:
            if self._listener is not None and self._listener[0] == os.getpid() and self._listener[1].is_alive():
                return
            thread = threading.Thread(target=self._listen, name="parley-live", daemon=True)
            self._listener = (os.getpid(), thread)
        thread.start()

    def _listen(self):
        delay = RECONNECT_FIRST
        import redis  # only with REDIS_URL, as above

        while not self.closing.is_set():
            client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, health_check_interval=30)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                # Streams that began before this, or while Redis was away, may have missed news: they look again.
                self.wake_all()
                delay = RECONNECT_FIRST
                while not self.closing.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._receive(message["data"])
            except Exception as error:  # Redis restarted or unreachable: try again, less and less often
                log.warning("live updates: Redis listener lost its connection (%s); retrying in %.1f s", error, delay)
                self.closing.wait(delay)
                delay = min(delay * 2, RECONNECT_MOST)
            finally:
                pubsub.close()
                client.close()

    def _receive(self, data):
        try:
            message = json.loads(data)
            if message.get("from") != self._me:
                self.deliver({(int(site_id), int(thread_id)) for site_id, thread_id in message["changes"]})
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("live updates: ignored a malformed message on %s", self.channel)

    def stop(self):
        """End every open stream and the listener (tests, a clean shutdown)."""
        self.closing.set()
        self.wake_all()
        listener = self._listener
        if listener is not None and listener[1].is_alive():
            listener[1].join(5)


# Commits ---------------------------------------------------------------------------------------

def _after_commit(session):
    # A savepoint's release fires this too: announce only when the whole transaction is in.
    if session.in_nested_transaction():
        return
    changes = session.info.pop(comments.CHANGED_THREADS, None)
    if changes and has_app_context():
        broker = current_app.extensions.get("parley_live")
        if broker is not None:
            broker.publish(changes)


def _after_soft_rollback(session, previous_transaction):
    # A savepoint rolled back (a racing insert retried) leaves the rest of the transaction to commit.
    if not previous_transaction.nested:
        session.info.pop(comments.CHANGED_THREADS, None)


_listening = False


def init_app(app):
    """Give the app its broker, and announce the threads that each committed transaction changed."""
    global _listening
    app.extensions["parley_live"] = Broker(app.config)
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        _listening = True


def broker(app):
    return app.extensions["parley_live"]


class AddressFull(Exception):
    """This client address holds LIVE_MAX_PER_ADDRESS of the process's streams already."""


def take_slot(app, address):
    """One of the process's LIVE_MAX_CONNECTIONS stream slots: a function that gives it back (once), or None when
    the process has none left. Raises AddressFull when `address` (a client_key) holds its LIVE_MAX_PER_ADDRESS
    already, or the IPv6 blocks around it their larger shares (addresses.WIDER_BLOCKS)."""
    live = broker(app)
    shares = [(address, live.per_address)] + [(block, live.per_address * factor)
                                              for _, block, factor in wider_blocks(address)]
    with live.addresses_lock:
        if any(live.by_address[key] >= share for key, share in shares):
            raise AddressFull()
        if not live.slots.acquire(blocking=False):
            return None
        for key, _ in shares:
            live.by_address[key] += 1
    given_back = threading.Lock()

    def give_back():
        if given_back.acquire(blocking=False):
            with live.addresses_lock:
                for key, _ in shares:
                    live.by_address[key] -= 1
                    if not live.by_address[key]:
                        del live.by_address[key]
            live.slots.release()
    return give_back


# The stream ------------------------------------------------------------------------------------

def _state(site_id, key):
    """(thread id, version, approved count) read in a short transaction, its connection handed back at once."""
    try:
        thread_id, version = comments.thread_state(site_id, key)
        count = comments.approved_count(thread_id) if thread_id is not None else 0
        return thread_id, version, count
    finally:
        db.session.remove()


def _event(version, count):
    return f"id: {version}\nevent: changed\ndata: {json.dumps({'version': version, 'comment_count': count})}\n\n"


def client_socket(environ):
    """The connection to the client, where the WSGI server says it (gunicorn, Werkzeug); else None."""
    return environ.get("gunicorn.socket") or environ.get("werkzeug.socket")


def gone(sock):
    """Whether the client closed the connection: it reads as ended. A stream's client sends nothing more,
    so a readable socket means just that. Over TLS the end cannot be peeked at: the heartbeat finds it."""
    if sock is None or isinstance(sock, ssl.SSLSocket) or not hasattr(select, "poll"):
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):  # reset, or closed under us
        return True


def events(site_id, key, last_event_id, give_back, sock=None):
    """The event stream of one thread: `changed` events as its version moves, heartbeats, and an end (also as
    soon as the client on `sock` goes away).

    Runs inside the request's context (stream_with_context), but holds no database session between looks.
    """
    config = current_app.config
    heartbeat, poll = float(config["LIVE_HEARTBEAT_SECONDS"]), float(config["LIVE_POLL_SECONDS"])
    the_broker = broker(current_app)
    subscription = None
    try:
        # Subscribed before the first look, so that a change committed in between is not missed; the first
        # line goes out after both, so a client that has it will hear of every later change.
        subscription = the_broker.subscribe(site_id, None)
        thread_id, version, count = _state(site_id, key)
        if thread_id is not None:
            subscription.follow(thread_id)
        # Jittered, so that readers dropped together (a restart) do not all come back at once.
        retry = int(float(config["LIVE_RETRY_SECONDS"]) * 1000 * random.uniform(0.75, 1.25))
        yield f"retry: {retry}\n\n"
        shown = version if last_event_id is None else last_event_id
        started = time.monotonic()
        end, next_ping, next_look = started + float(config["LIVE_MAX_SECONDS"]), started + heartbeat, started + poll
        looked = True
        while not the_broker.closing.is_set():
            if looked and version != shown:
                yield _event(version, count)
                shown, next_ping = version, time.monotonic() + heartbeat
            now = time.monotonic()
            if now >= end:
                return
            woken = subscription.changed.wait(max(0.0, min(end, next_ping, next_look,
                                                           now + DISCONNECT_CHECK_SECONDS) - now))
            if gone(sock):
                return
            now = time.monotonic()
            looked = woken or now >= next_look
            if looked:
                # Cleared before looking: a change committed meanwhile wakes the next wait.
                subscription.changed.clear()
                thread_id, version, count = _state(site_id, key)
                if thread_id is not None:
                    subscription.follow(thread_id)
                next_look = now + poll
            if now >= next_ping:
                yield ": ping\n\n"
                next_ping = now + heartbeat
    except SQLAlchemyError as error:
        # The database went away: end the stream; the browser comes back after its retry delay.
        log.warning("live updates: ended a stream: %s", error)
    finally:
        if subscription is not None:
            subscription.close()
        give_back()
