"""`pip install .`: the wheel carries the server, its templates, static files and migrations, and runs
from a fresh virtual environment far from this checkout."""
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from processes import free_port, start, stop, wait_for_health

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SECRET = "packaging-test-secret-not-for-production"
SOURCES = ("pyproject.toml", "README.md", "widget", "templates", "static", "migrations")


def _requirements(lines):
    """{name: specifier} of requirement lines; a name's extras are the other list's business."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[requirement.name.lower()] = str(requirement.specifier)
    return found


def test_every_package_of_the_server_is_in_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "widget").rglob("__init__.py")}
    assert on_disk <= listed


def test_requirements_txt_installs_what_the_package_and_its_extras_need():
    project = PYPROJECT["project"]
    declared = _requirements(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _requirements(extra)
    assert _requirements((ROOT / "requirements.txt").read_text().splitlines()) == declared


def _run(args, **options):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **options)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.database_independent
def test_the_wheel_runs_a_server_from_a_fresh_virtual_environment(tmp_path):
    source, wheels, venv, home = tmp_path / "source", tmp_path / "wheels", tmp_path / "venv", tmp_path / "server"
    home.mkdir()
    source.mkdir()
    # Built from a copy of what the package is made of, so that no earlier build's leftovers get in.
    for part in SOURCES:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / part, source / part)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)])
    [wheel] = wheels.glob("parley-*.whl")
    # Not --system-site-packages: nothing of this checkout or of the test environment is visible from it.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
          "--disable-pip-version-check", f"parley[production] @ {wheel.as_uri()}"])

    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "DATABASE_URL": f"sqlite:///{home / 'parley.sqlite3'}", "PARLEY_INSTANCE_PATH": str(home / "instance"),
           "PARLEY_SECRET_KEY": SECRET, "PARLEY_DEMO": "true", "PARLEY_WORKERS": "1",
           "PARLEY_BACKGROUND_SENDER": "false"}
    found = _run([str(venv / "bin" / "python"), "-c", "import widget; print(widget.__file__)"], cwd=home, env=env)
    assert found.stdout.startswith(str(venv))
    commands = _run([str(venv / "bin" / "parley"), "--help"], cwd=home, env=env).stdout
    for command in ("run", "db", "site", "user", "worker", "import", "export", "check"):
        assert f"\n  {command} " in commands, commands

    port = free_port()
    server = start([str(venv / "bin" / "gunicorn"), "-c", "python:widget.gunicorn_conf"], home / "server.log",
                   cwd=home, env=env | {"PARLEY_BIND": f"127.0.0.1:{port}"})
    try:
        wait_for_health(server, f"http://127.0.0.1:{port}/healthz")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo", timeout=10) as response:
            page = response.read().decode()
        assert "data-parley-site=\"demo\"" in page and f"http://127.0.0.1:{port}/embed.js" in page
        # The loader, and the widget it loads, come from the files inside the installed package.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/embed.js", timeout=10) as response:
            assert b"parley" in response.read()
    finally:
        log = stop(server)
    # gunicorn's settings made it a production server, which logged its settings without the secret.
    assert "ENV='production'" in log and "SECRET_KEY='********'" in log and SECRET not in log
    # The schema was made from the migrations inside the package; the command line sees the same database.
    sites = _run([str(venv / "bin" / "parley"), "site", "list"], cwd=home, env=env).stdout
    assert sites.startswith("demo\n")
