"""Production settings for gunicorn. In a checkout `gunicorn` reads them through ./gunicorn.conf.py; an
installed package runs `gunicorn -c python:widget.gunicorn_conf`. Each can be changed by the environment
variable beside it, or by gunicorn's own command-line options, which win."""
import os

# A server started this way is a production server: it refuses to start without a real PARLEY_SECRET_KEY.
os.environ.setdefault("PARLEY_ENV", "production")

wsgi_app = "widget:create_app()"
bind = os.environ.get("PARLEY_BIND", "127.0.0.1:8000").split()

# Processes: gunicorn's rule of thumb, 2 per CPU plus one, at most 12 (each keeps its own read cache).
workers = int(os.environ.get("PARLEY_WORKERS") or min(2 * (os.cpu_count() or 1) + 1, 12))
# Threads in each: a live-update stream holds one for minutes (widget/live.py), so there must be more
# threads than PARLEY_LIVE_MAX_CONNECTIONS streams, with room left for ordinary requests (the worker
# refuses to start otherwise). The worker is gthread whose event loop, not a thread, waits for each
# request to come whole, head and body (widget/gunicorn_worker.py): clients that send slowly hold no thread.
worker_class = "widget.gunicorn_worker.HeadFirstWorker"
threads = int(os.environ.get("PARLEY_THREADS") or int(os.environ.get("PARLEY_LIVE_MAX_CONNECTIONS") or 50) + 16)

# A worker that stops answering gunicorn's heartbeat for this long is replaced; a restart gives open
# requests and streams this long to end (streams then reconnect to the new workers).
timeout = int(os.environ.get("PARLEY_TIMEOUT") or 60)
graceful_timeout = int(os.environ.get("PARLEY_GRACEFUL_TIMEOUT") or 30)
# Connections from the proxy in front are reused for a while.
keepalive = 5

# X-Forwarded-Proto is believed only from the proxies declared in PARLEY_TRUSTED_PROXIES (the app
# reads the same variable for X-Forwarded-For and -Host), from nobody when it is unset.
forwarded_allow_ips = ",".join(os.environ.get("PARLEY_TRUSTED_PROXIES", "").replace(",", " ").split())

# Logs to standard error; each access line ends with the request id the app gives every answer.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'
# Heartbeat files in memory where there is /dev/shm (containers' disks may be slow to write).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
