"""The container image (Dockerfile) and compose.yaml.

Where a container engine runs, .ci/run builds the image and runs it. These tests hold without one: they
read the Dockerfile and compose.yaml as an engine would, and run the image's own steps outside a container:
stage 1's `pip wheel`, stage 2's install from those wheels alone into a fresh virtual environment, then its
CMD with its ENV, as its unprivileged user, checked by its HEALTHCHECK command.
"""
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from conftest import REDIS_URL, SECRET, require_redis

ROOT = Path(__file__).resolve().parent.parent


def _instructions(path):
    """The Dockerfile as (INSTRUCTION, arguments) pairs: continuations joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
        current = ""
    return lines


DOCKERFILE = _instructions(ROOT / "Dockerfile")


def _stages():
    stages = []
    for keyword, rest in DOCKERFILE:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _final(keyword):
    return [rest for key, rest in _stages()[-1] if key == keyword]


def _env():
    """The final stage's ENV, as KEY=VALUE pairs (the form it uses)."""
    env = {}
    for rest in _final("ENV"):
        for pair in shlex.split(rest):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def _exec_form(rest):
    """A CMD or HEALTHCHECK CMD in exec form (a JSON list), as the engine runs it: no shell."""
    command = json.loads(rest)
    assert isinstance(command, list) and all(isinstance(part, str) for part in command)
    return command


def _healthcheck():
    (rest,) = _final("HEALTHCHECK")
    options, _, command = rest.partition("CMD ")
    return dict(re.findall(r"--([a-z-]+)=(\S+)", options)), _exec_form(command)


def test_image_is_multi_stage_and_small_and_runs_as_an_unprivileged_user():
    stages = _stages()
    assert len(stages) == 2
    arg = dict(rest.split("=", 1) for key, rest in DOCKERFILE if key == "ARG")
    assert arg["PYTHON_IMAGE"] == "python:3.11-slim"
    assert [stage[0][1] for stage in stages] == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    # The final stage takes only the wheels from the build, through a mount: no source, no wheel files kept.
    final = stages[-1]
    assert not [rest for key, rest in final if key in ("COPY", "ADD")]
    assert any("--mount=type=bind,from=build,source=/wheels" in rest for key, rest in final if key == "RUN")
    assert any("--no-cache-dir" in rest and "--no-index" in rest for key, rest in final if key == "RUN")
    assert any("rm -rf /var/lib/apt/lists/*" in rest for key, rest in final if key == "RUN")
    (user,) = _final("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000  # numeric, so an orchestrator can tell it is not root
    assert any(f"--uid {uid}" in rest for key, rest in final if key == "RUN")
    assert _final("VOLUME") == ['["/data"]']
    # The build context leaves out what must never be in an image.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "instance", ".env", "*.sqlite3"} <= set(ignored)


def test_healthcheck_uses_python_on_the_port_the_server_binds():
    options, command = _healthcheck()
    assert command[0] == "python"  # the slim image has no curl
    port = _env()["PARLEY_BIND"].rsplit(":", 1)[1]
    assert f"http://127.0.0.1:{port}/healthz" in command[-1]
    assert _final("EXPOSE") == [port]
    assert {"interval", "timeout", "start-period", "retries"} <= options.keys()


def test_compose_runs_parley_with_postgresql_and_redis_on_named_volumes():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"parley", "postgres", "redis"}
    parley = services["parley"]
    assert parley["build"] == "."
    assert parley["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                    "redis": {"condition": "service_healthy"}}
    env = parley["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://parley:${POSTGRES_PASSWORD:?")
    assert env["DATABASE_URL"].endswith("@postgres:5432/parley")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    # Secrets come from the environment (.env), and compose refuses to start without them.
    assert env["PARLEY_SECRET_KEY"].startswith("${PARLEY_SECRET_KEY:?")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert not re.search(r"(?i)(password|secret)[^:\n]*:\s*['\"]?[A-Za-z0-9]{8,}", (ROOT / "compose.yaml").read_text())
    # Published on loopback only, for the TLS proxy in front.
    assert parley["ports"] == [f"127.0.0.1:{_env()['PARLEY_BIND'].rsplit(':', 1)[1]}:8000"]
    # Every service's data on a named volume, each one declared.
    mounts = {name: service.get("volumes", []) for name, service in services.items()}
    assert mounts == {"parley": ["parley-data:/data"], "postgres": ["postgres-data:/var/lib/postgresql/data"],
                      "redis": ["redis-data:/data"]}
    assert set(compose["volumes"]) == {"parley-data", "postgres-data", "redis-data"}
    # pg_dump in the image is Debian 12's, major version 15: the server must not be newer.
    assert services["postgres"]["image"] == "postgres:15"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert example["PARLEY_SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(healthcheck, env, server, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        check = subprocess.run(healthcheck, env=env, capture_output=True, text=True, timeout=30)
        if check.returncode == 0:
            return
        assert server.poll() is None, server.stdout.read()
        assert time.monotonic() < deadline, f"not healthy within {timeout} s: {check.stderr[-2000:]}"
        time.sleep(0.5)


def _image_python():
    """A Python 3.11 its unprivileged user may run, like the image's own (a checkout's may sit in root's home)."""
    for candidate in ("/usr/local/bin/python3.11", "/usr/bin/python3.11"):
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def _cached(step):
    return step.replace(" --no-cache-dir", "")


def _build_context(target):
    """The build context as the engine sends it: the checkout less what .dockerignore names."""
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    names = {pattern.removeprefix("**/") for pattern in patterns}
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*names))


def test_the_images_steps_build_install_and_serve_outside_a_container(database_url, request):
    """Stage 1's `pip wheel`, stage 2's install from the wheels alone, its CMD with its ENV as its user, and
    its HEALTHCHECK. Three things differ from a container: /opt/parley and /data are folders here, the port
    is a free one (so the server does not meet another on 8000), and pip may use its download cache."""
    build, final = _stages()
    (wheel_step,) = [rest for key, rest in build if key == "RUN"]
    (install_step,) = [rest for key, rest in final if key == "RUN" and "--mount=" in rest]
    (command,) = [_exec_form(rest) for rest in _final("CMD")]
    _, healthcheck = _healthcheck()
    require_redis()

    # Readable by an unprivileged user: pytest's own temporary folders are root's alone.
    scratch = Path(tempfile.mkdtemp(prefix="parley-image-"))
    try:
        scratch.chmod(0o755)
        context, wheels, prefix, data = scratch / "src", scratch / "wheels", scratch / "opt-parley", scratch / "data"
        _build_context(context)
        # Stage 1, run as written, in the build context, by the pip of the Python that stage 2 runs (the
        # image's two stages share one base): the wheels chosen depend on the exact Python version.
        base = scratch / "base-python"
        subprocess.run([_image_python(), "-m", "venv", base], check=True)
        for part in _cached(wheel_step).replace("/wheels", str(wheels)).split("&&"):
            argv = shlex.split(part)
            assert argv[0] == "pip"
            built = subprocess.run([base / "bin" / "pip", *argv[1:]], cwd=context, capture_output=True, text=True)
            assert built.returncode == 0, built.stderr[-3000:]
        assert any(path.name.startswith("parley-") for path in wheels.iterdir())
        # Stage 2: a fresh environment with nothing but the wheels (--no-index: no network, no checkout).
        install = _cached(install_step).split(" ", 1)[1]  # less the --mount, which the wheels folder stands in for
        install = install.replace("/opt/parley", str(prefix)).replace("/wheels", str(wheels))
        for part in install.split("&&"):
            argv = shlex.split(part)
            argv[0] = _image_python() if argv[0] == "python" else argv[0]
            installed = subprocess.run(argv, cwd=scratch, capture_output=True, text=True)
            assert installed.returncode == 0, installed.stderr[-3000:]
        data.mkdir()

        port = _free_port()
        env = {key: value.replace("/opt/parley", str(prefix)).replace("/data", str(data))
               for key, value in _env().items()}
        env = {"HOME": str(data), "LANG": "C.UTF-8"} | env | {
            "PATH": env["PATH"].replace("$PATH", os.environ["PATH"]),
            "PARLEY_BIND": env["PARLEY_BIND"].replace(":8000", f":{port}"),
            "REDIS_URL": REDIS_URL, "PARLEY_SECRET_KEY": SECRET,
            "PARLEY_PUBLIC_URL": f"http://127.0.0.1:{port}", "PARLEY_WORKERS": "2"}
        if database_url.startswith("postgresql"):  # as compose.yaml runs it; on SQLite, the image's default
            env["DATABASE_URL"] = request.getfixturevalue("fresh_postgres_url")
        healthcheck = [part.replace(":8000/", f":{port}/") for part in healthcheck]
        user = {}
        if os.geteuid() == 0:  # as the image's user, who owns /data and nothing else
            uid, gid = (int(part) for part in _final("USER")[0].split(":"))
            os.chown(data, uid, gid)
            user = {"user": uid, "group": gid, "extra_groups": []}

        server = subprocess.Popen(command, cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, **user)
        try:
            _wait_healthy(healthcheck, env, server)
            # The installed command, as `docker compose exec parley parley ...` runs it.
            site = subprocess.run(["parley", "site", "add", "blog", "--name", "Blog", "--origin",
                                   "https://blog.example.com"], cwd=data, env=env, capture_output=True, text=True,
                                  **user)
            assert site.returncode == 0, site.stderr[-3000:]
            backup = subprocess.run(["parley", "backup"], cwd=data, env=env, capture_output=True, text=True, **user)
            assert backup.returncode == 0, backup.stderr[-3000:]
            assert f"Backed up to {data / 'backups'}/parley-" in backup.stdout
            if not database_url.startswith("postgresql"):
                assert (data / "parley.sqlite3").is_file()  # the image's default database, in its volume
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
        assert "Booting worker" in output
        # And the health check says so when the server is gone.
        assert subprocess.run(healthcheck, env=env, capture_output=True).returncode != 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("step", ["wheel", "install"])
def test_the_images_pip_steps_name_the_extras_the_package_offers(step):
    build, final = _stages()
    text = " ".join(rest for key, rest in (build if step == "wheel" else final) if key == "RUN")
    extras = re.search(r'\[(production,redis)\]"', text)
    assert extras, text
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra in extras.group(1).split(","):
        assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE), f"pyproject.toml offers no extra {extra}"
