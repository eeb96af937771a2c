"""What notifications cost a reader's post, and how fast the outbox's sender empties: one command, one table.

    pip install -r requirements-dev.txt && python bench/outbox.py

Posts through the app (in process, a SQLite file) alternate between a comment that asks for
notifications on a thread with 20 confirmed subscribers and one that asks for nothing; the table
gives medians and their ratio. Then the sender delivers what those posts queued to a real SMTP
server on loopback (aiosmtpd): emails per second, in one process. Bounded: a few hundred posts.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from smtp_server import MailServer  # noqa: E402

from widget import create_app, worker  # noqa: E402
from widget.extensions import db  # noqa: E402
from widget.models import Job, Recipient, Subscription, utcnow  # noqa: E402

ORIGIN = "https://blog.example.com"
PAGE = f"{ORIGIN}/posts/bench"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100, help="posts of each kind")
    parser.add_argument("--subscribers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, MailServer() as mail:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3", "SECRET_KEY": "bench",
                          "BACKGROUND_SENDER": False, "RATELIMIT_ENABLED": False, "SPAM_MIN_FORM_SECONDS": 0,
                          "SPAM_FORM_TOKENS": False,
                          **mail.config()})
        app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Bench", "--origin", ORIGIN])
        client = app.test_client()
        post(client, "The post everyone follows", "host@example.org", None)
        subscribe_many(app, args.subscribers)
        timings = {"notify": [], "plain": []}
        for i in range(args.posts):
            for kind in ("notify", "plain") if i % 2 else ("plain", "notify"):
                started = time.perf_counter()
                post(client, f"Comment {i} {kind}", f"reader{i}-{kind}@example.org",
                     "all" if kind == "notify" else None)
                timings[kind].append(time.perf_counter() - started)
        with app.app_context():
            queued = db.session.scalar(db.select(db.func.count(Job.id)).where(Job.status == "queued"))
        started = time.perf_counter()
        while worker.run_pending(app, limit=10_000):
            pass
        sending = time.perf_counter() - started
        sent = len(mail.messages)
    notify, plain = statistics.median(timings["notify"]), statistics.median(timings["plain"])
    print(f"{'measure':<44} {'value':>12}")
    print(f"{'POST, asking for nothing (median ms)':<44} {plain * 1000:>12.2f}")
    print(f"{'POST, notify=all (median ms)':<44} {notify * 1000:>12.2f}")
    print(f"{'ratio notify / nothing':<44} {notify / plain:>12.2f}")
    print(f"{'jobs queued by the posts':<44} {queued:>12}")
    print(f"{'emails sent':<44} {sent:>12}")
    print(f"{'sender: emails per second':<44} {sent / sending:>12.1f}")


def post(client, body, email, notify):
    response = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": body, "notify": notify,
                                                     "author": {"name": "Reader", "email": email}},
                           headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["comment"]


def subscribe_many(app, count):
    """Confirmed followers of the page, as if each had ticked the box and followed the link."""
    from widget.models import Thread

    with app.app_context():
        thread = db.session.scalars(db.select(Thread)).one()
        for i in range(count):
            recipient = Recipient(email=f"follower{i}@example.org", language="en", confirmed_at=utcnow())
            db.session.add(recipient)
            db.session.flush()
            db.session.add(Subscription(recipient_id=recipient.id, thread_id=thread.id, kind="thread",
                                        target=f"t:{thread.id}"))
        db.session.commit()


if __name__ == "__main__":
    main()
