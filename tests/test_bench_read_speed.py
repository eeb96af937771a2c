"""bench/read_speed.py --smoke: Parley and Isso, each under gunicorn, answer the corpus the benchmark seeds.

No timings: this holds the benchmark's seeding and servers to the data it claims to compare.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

BENCH = Path(__file__).resolve().parent.parent / "bench" / "read_speed.py"


@pytest.mark.database_independent  # the benchmark's default database
def test_both_servers_answer_the_seeded_threads_with_every_comment():
    require(importlib.util.find_spec("isso") is not None, "Isso is not installed (requirements-dev.txt)")
    result = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert "smoke: /posts/big-thread: Parley 200, Isso 200 comments" in lines
    assert "smoke: /posts/ten-comments: Parley 10, Isso 10 comments" in lines
    assert "smoke: /posts/one-comment: Parley 1, Isso 1 comments" in lines
    assert "smoke: 1,211 comments seeded; the counts of 20 pages agree" in lines
