"""Importing a WordPress export of 200,000 comments: how fast, and in how much memory, against 20,000.

Run: python bench/import_memory.py   (fresh SQLite files; set DATABASE_URL to an empty PostgreSQL database
to measure there, or pass sizes: python bench/import_memory.py 20000 200000 1000000)

For each size it writes a WXR 1.2 file as WordPress would (posts of 100 comments, a third of them
replies, some listed before their parents, HTML with entities, pingbacks, spam and pending ones),
streamed to a temporary file, then runs `flask --app app import wordpress` on it in a child process
and reads that child's peak resident memory from the kernel (wait4's ru_maxrss). Memory that stays
the same while the file grows ten times is what the streaming reader is for.
"""
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (20_000, 200_000)
PER_POST = 100
ORIGIN = "https://blog.example.com"
NAMES = ("Zoë Łukasz", "山田 太郎", "O&#039;Brien", "Ana María", "Jonas Müller", "Priya", "Ola Nordmann")
WORDS = ("bread", "flour", "starter", "rye", "crust", "crumb", "proof", "oven", "&amp;", "it&#8217;s", "knead")


def write_wxr(path, comments, seed=12):
    """A WXR file with this many comments, written as it is generated: the generator keeps one post in memory."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
                  'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">\n'
                  "<channel>\n<title>Bench blog</title>\n<link>http://old.example.com</link>\n"
                  "<wp:wxr_version>1.2</wp:wxr_version>\n")
        number = 0
        post = 0
        while number < comments:
            post += 1
            out.write(f"<item><title><![CDATA[Post {post}: don&#8217;t rush it]]></title>"
                      f"<link>http://old.example.com/{2010 + post % 14}/post-{post}/</link>"
                      f"<wp:post_id>{post}</wp:post_id><wp:post_date_gmt>2015-01-01 00:00:00</wp:post_date_gmt>"
                      "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>\n")
            ids = list(range(number + 1, min(number + PER_POST, comments) + 1))
            number = ids[-1]
            # A few replies come before the comment they answer, as some plugins write them.
            order = ids[:]
            for i in range(0, len(order) - 1, 17):
                order[i], order[i + 1] = order[i + 1], order[i]
            for cid in order:
                parent = rng.choice([i for i in ids if i < cid][-10:]) if cid > ids[0] and rng.random() < 0.33 else 0
                kind = "pingback" if rng.random() < 0.01 else ""
                status = rng.choices(["1", "0", "spam", "trash"], [90, 4, 5, 1])[0]
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
                out.write(
                    f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
                    f"<wp:comment_author><![CDATA[{rng.choice(NAMES)}]]></wp:comment_author>"
                    f"<wp:comment_author_email>reader{cid % 5000}@example.org</wp:comment_author_email>"
                    f"<wp:comment_author_url>https://reader{cid % 300}.example.org/</wp:comment_author_url>"
                    f"<wp:comment_author_IP>203.0.{cid % 250}.{cid % 200}</wp:comment_author_IP>"
                    f"<wp:comment_date_gmt>2016-{1 + cid % 12:02d}-{1 + cid % 28:02d} 10:{cid % 60:02d}:00"
                    "</wp:comment_date_gmt>"
                    f"<wp:comment_content><![CDATA[<strong>{words}</strong>\n\nSee "
                    f'<a href="https://example.org/{cid}">this</a>.]]></wp:comment_content>'
                    f"<wp:comment_approved>{status}</wp:comment_approved><wp:comment_type>{kind}</wp:comment_type>"
                    f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>\n")
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")


def flask(args, env):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def measure(comments, workdir):
    path = Path(workdir) / f"wordpress-{comments}.xml"
    write_wxr(path, comments)
    env = dict(os.environ, PARLEY_BACKGROUND_SENDER="false", PARLEY_SECRET_KEY="bench", PARLEY_DEMO="false")
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir}/bench-{comments}.sqlite3"
    site = f"bench{comments}"
    added = flask(["site", "add", site, "--name", "Bench", "--origin", ORIGIN], env)
    assert added.wait() == 0, "could not add the site (is DATABASE_URL an empty database?)"
    started = time.perf_counter()
    child = flask(["import", "wordpress", str(path), "--site", site,
                   "--map-url", f"http://old.example.com/→{ORIGIN}/"], env)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, output
    megabytes = path.stat().st_size / 2**20
    path.unlink()
    imported = int(output.split("Imported ")[1].split(" ")[0])
    return megabytes, seconds, imported, usage.ru_maxrss / 1024, output


def main():
    sizes = [int(arg) for arg in sys.argv[1:]] or list(SIZES)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for size in sizes:
            megabytes, seconds, imported, peak_mb, output = measure(size, workdir)
            rows.append((size, megabytes, imported, seconds, peak_mb))
            print(f"{size:,} comments:\n  " + output.strip().replace("\n", "\n  "), file=sys.stderr)
    print(f"{'comments in file':>17} {'file MB':>8} {'imported':>9} {'seconds':>8} {'comments/s':>11} "
          f"{'peak RSS MB':>12}")
    for size, megabytes, imported, seconds, peak_mb in rows:
        print(f"{size:>17,} {megabytes:>8.0f} {imported:>9,} {seconds:>8.1f} {size / seconds:>11,.0f} "
              f"{peak_mb:>12.1f}")
    if len(rows) > 1:
        small, small_mb, large, large_mb = rows[0][0], rows[0][-1], rows[-1][0], rows[-1][-1]
        print(f"\nThe file grew {large / small:.0f} times; peak memory {large_mb / small_mb:.2f} times.")


if __name__ == "__main__":
    main()
