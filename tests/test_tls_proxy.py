"""deploy/nginx.conf as the README advises it: nginx terminating TLS in front of gunicorn.conf.py, both on
loopback. Readers' requests arrive over HTTPS, Parley sees the scheme, host and address they used, and
a forwarded header from anyone but the declared proxy is ignored."""
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require
from processes import free_port, start, stop, wait_for_health

from widget import create_app

ROOT = Path(__file__).resolve().parent.parent
SECRET = "tls-proxy-test-secret-not-for-production"
SITE_ORIGIN = "https://blog.example.com"

pytestmark = pytest.mark.database_independent  # the proxied server has its own SQLite file


def _nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def _certificate(folder):
    """A self-signed certificate for 127.0.0.1 and localhost, as certbot would leave a real one."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _site_config(tmp_path, cert, key, http_port, https_port, upstream_port):
    """deploy/nginx.conf with only its names, paths and ports changed."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in [("/etc/letsencrypt/live/comments.example.com/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/comments.example.com/privkey.pem", str(key)),
                     ("comments.example.com", "localhost"),
                     ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")]:
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    site = tmp_path / "parley.conf"
    site.write_text(text)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    main = tmp_path / "nginx.conf"
    # What /etc/nginx/nginx.conf gives a site file, with every path in the test's folder.
    main.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp_path}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
""")
    return main


@pytest.fixture
def proxied(tmp_path):
    """gunicorn (gunicorn.conf.py) on loopback behind nginx (deploy/nginx.conf) with TLS."""
    nginx = _nginx()
    require(nginx is not None, "nginx is not installed (apt-get install nginx)")
    database = f"sqlite:///{tmp_path / 'parley.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": SECRET, "BACKGROUND_SENDER": False})
    assert app.test_cli_runner().invoke(
        args=["site", "add", "blog", "--name", "Blog", "--origin", SITE_ORIGIN]).exit_code == 0
    upstream, http_port, https_port = free_port(), free_port(), free_port()
    env = dict(os.environ, DATABASE_URL=database, PARLEY_SECRET_KEY=SECRET, PARLEY_BIND=f"127.0.0.1:{upstream}",
               PARLEY_WORKERS="1", PARLEY_TRUSTED_PROXIES="127.0.0.1",
               PARLEY_RATELIMIT_COMMENTS="1 per minute", PARLEY_SPAM_MIN_FORM_SECONDS="0",
               PARLEY_BACKGROUND_SENDER="false", PARLEY_INSTANCE_PATH=str(tmp_path / "instance"))
    env.pop("PARLEY_ENV", None)
    gunicorn = start([sys.executable, "-m", "gunicorn"], tmp_path / "gunicorn.log", cwd=ROOT, env=env)
    cert, key = _certificate(tmp_path)
    proxy = start([nginx, "-c", str(_site_config(tmp_path, cert, key, http_port, https_port, upstream))],
                  tmp_path / "nginx.log")
    try:
        wait_for_health(gunicorn, f"http://127.0.0.1:{upstream}/healthz")
        context = ssl.create_default_context(cafile=str(cert))
        yield {"https": https_port, "http": http_port, "upstream": upstream, "context": context, "gunicorn": gunicorn,
               "error_log": tmp_path / "nginx-error.log"}
    finally:
        stop(proxy)
        stop(gunicorn)


def _request(port, method, path, *, source="127.0.0.1", context=None, headers=None, body=None):
    """One request from a chosen loopback address (a different reader per address), over TLS if given a context."""
    if context is not None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30,
                                                 source_address=(source, 0))
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={**({"Content-Type": "application/json"} if body is not None else {}),
                                    **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def _comment(port, source, text, context=None, forwarded_for=None):
    headers = {"Origin": SITE_ORIGIN, **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    status, _, _ = _request(port, "POST", "/api/v1/comments", source=source, context=context, headers=headers,
                            body={"site": "blog", "url": f"{SITE_ORIGIN}/post", "body": text,
                                  "author": {"name": "Reader", "email": "reader@example.org"}})
    return status


def test_https_through_nginx_reaches_parley_which_sees_the_readers_scheme_and_host(proxied):
    status, headers, body = _request(proxied["https"], "GET", "/healthz", context=proxied["context"])
    assert status == 200 and json.loads(body)["status"] == "ok"
    # nginx's request id travels to Parley and comes back on the answer.
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert headers["strict-transport-security"] == "max-age=31536000"
    # The front page names the loader's absolute URL, built from the request: https, and the host the reader used.
    status, _, page = _request(proxied["https"], "GET", "/", context=proxied["context"])
    assert status == 200
    assert f"<code>https://127.0.0.1:{proxied['https']}/embed.js</code>" in page


def test_plain_http_is_sent_to_https(proxied):
    status, headers, _ = _request(proxied["http"], "GET", "/dashboard/", headers={"Host": "localhost"})
    assert status == 301 and headers["location"] == "https://localhost/dashboard/"


def test_each_reader_is_counted_by_their_own_address_not_the_proxys(proxied):
    port, context = proxied["https"], proxied["context"]
    assert _comment(port, "127.0.0.2", "first from .2", context) == 201
    assert _comment(port, "127.0.0.2", "second from .2", context) == 429  # 1 per minute, per reader
    assert _comment(port, "127.0.0.3", "first from .3", context) == 201  # another reader behind the same proxy


def test_forwarded_headers_from_anyone_but_the_proxy_are_ignored(proxied):
    port, context = proxied["https"], proxied["context"]
    assert _comment(port, "127.0.0.2", "first from .2", context) == 201
    # Straight to gunicorn from an address that is not the proxy, claiming to be a fresh reader: it is
    # counted as itself, and claiming to be .2 does not use up .2's allowance either.
    upstream = proxied["upstream"]
    assert _comment(upstream, "127.0.0.5", "from .5", forwarded_for="127.0.0.9") == 201
    assert _comment(upstream, "127.0.0.5", "again from .5", forwarded_for="127.0.0.10") == 429
    assert _comment(upstream, "127.0.0.6", "from .6 posing as .2", forwarded_for="127.0.0.2") == 201
