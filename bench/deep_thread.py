"""What a reply chain 5,000 deep costs a reader, against a 10-comment thread read in the same run.

Run: python bench/deep_thread.py   (a fresh SQLite file; set DATABASE_URL to an empty database for PostgreSQL)

Each row is the median of 7 reads through the app (no network): the thread API's first page, the
iframe's first paint, and every "Show N more replies" piece the widget would fetch after them.
"""
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import seed_chain  # noqa: E402

from widget import create_app  # noqa: E402

ORIGIN = "https://blog.example.com"
DEEP = f"{ORIGIN}/deep"
SMALL = f"{ORIGIN}/small"


def _median_ms(client, path, **kwargs):
    client.get(path, **kwargs)  # warm
    times, response = [], None
    for _ in range(7):
        started = time.perf_counter()
        response = client.get(path, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return statistics.median(times), len(response.data), response


def main():
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "SECRET_KEY": "bench", "SERVER_NAME": "comments.test"})
    app.test_cli_runner().invoke(args=["site", "add", "bench", "--name", "Bench", "--origin", ORIGIN])
    root = seed_chain(app, "bench", 5000, url=DEEP)[0]
    seed_chain(app, "bench", 10, url=SMALL)
    client = app.test_client()
    rows = []
    for name, page in (("10-comment thread", SMALL), ("5,000-deep chain", DEEP)):
        ms, size, response = _median_ms(client, "/api/v1/threads", query_string={"site": "bench", "url": page})
        rows.append((f"API first page, {name}", ms, size, len(list(_flat(response.get_json()["comments"])))))
        ms, size, response = _median_ms(client, "/embed/thread",
                                        query_string={"site": "bench", "url": page, "origin": ORIGIN})
        rows.append((f"iframe first paint, {name}", ms, size, response.get_data(as_text=True).count('<li id="c') - 1))
    cursor, pieces = client.get("/api/v1/threads", query_string={"site": "bench", "url": DEEP}).get_json()[
        "comments"][0]["replies_cursor"], []
    while cursor:
        ms, size, response = _median_ms(client, f"/api/v1/comments/{root}/replies", query_string={"cursor": cursor})
        pieces.append((ms, size, len(response.get_json()["comments"])))
        cursor = response.get_json()["next_cursor"]
    rows.append((f"{len(pieces)} more-replies pieces, each (median)", statistics.median(p[0] for p in pieces),
                 int(statistics.median(p[1] for p in pieces)), int(statistics.median(p[2] for p in pieces))))
    baseline = rows[0][1]
    width = max(len(row[0]) for row in rows)
    print(f"{'read':<{width}}  {'ms':>8}  {'× 10-comment API read':>22}  {'bytes':>9}  {'comments':>8}")
    for name, ms, size, count in rows:
        print(f"{name:<{width}}  {ms:>8.1f}  {ms / baseline:>22.1f}  {size:>9}  {count:>8}")


def _flat(comments):
    for comment in comments:
        yield comment
        yield from _flat(comment["replies"])


if __name__ == "__main__":
    main()
