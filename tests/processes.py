"""Servers the tests start as their owners would: a free port, waiting for /healthz, stopping them."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args, log, **options):
    """A process in its own group (so its workers stop with it), its output written to the file `log`."""
    with open(log, "ab") as sink:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True, **options)
    process.log = log
    return process


def wait_for_health(process, url, seconds=90):
    """Until `url` (a /healthz) answers ok; fails with the process's output if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{output(process)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if json.load(response).get("status") == "ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            raise AssertionError(f"{url} did not answer within {seconds} s:\n{output(process)}")
        time.sleep(0.2)


def healthz_seconds(port, timeout=5):
    """How long /healthz takes to answer on a new connection (the timeout if it does not)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as response:
            response.read()
    except TimeoutError:
        return timeout
    except urllib.error.URLError as error:  # a connection that timed out before it was made
        if isinstance(error.reason, TimeoutError):
            return timeout
        raise
    return time.monotonic() - started


def stop(process):
    """Stop the process and its workers; returns what it printed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return output(process)


def output(process):
    return open(process.log, encoding="utf-8", errors="replace").read()
