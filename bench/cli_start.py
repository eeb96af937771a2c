"""How long the `parley` command takes to start: `--help` and commands that only read, each in its own process,
in a fresh instance folder (nothing made yet) and in one whose database exists. Wall and CPU time, medians.

Run: python bench/cli_start.py [--runs N] [--checkout PATH]   (PATH: another checkout to time, e.g. an older one)
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (("--help",), ("site", "list"), ("user", "list"))


def _run(checkout, instance, args):
    """(wall seconds, CPU seconds) of one `parley ARGS` in its own process, as an installed `parley` runs."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PARLEY_ENV")}
    env |= {"PYTHONPATH": str(checkout), "PARLEY_INSTANCE_PATH": str(instance)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from widget.command import main; main()", *args], cwd=checkout, env=env,
                   stdin=subprocess.DEVNULL, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    options = parser.parse_args()
    checkout = options.checkout.resolve()
    made = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    # Also writes the bytecode that an installed package has (unless PYTHONDONTWRITEBYTECODE says not to).
    _run(checkout, made, ("site", "add", "blog", "--name", "Blog", "--origin", "https://blog.example.com"))
    print(f"{'command':<22} {'instance':<9} {'wall (median)':>14} {'CPU (median)':>13}")
    for args in COMMANDS:
        for label in ("fresh", "made"):
            times = [_run(checkout, Path(tempfile.mkdtemp(prefix="parley-bench-")) if label == "fresh" else made,
                          args) for _ in range(options.runs)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            print(f"parley {' '.join(args):<15} {label:<9} {wall:>12.2f} s {cpu:>11.2f} s")
    print(f"load average: {os.getloadavg()[0]:.1f} ({options.runs} runs each)")


if __name__ == "__main__":
    main()
