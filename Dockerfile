# Parley, the comment server, as a small image run by an unprivileged user.
#
#   docker build -t parley .
#   docker run -d -p 127.0.0.1:8000:8000 -v parley-data:/data \
#       -e PARLEY_SECRET_KEY=... -e PARLEY_PUBLIC_URL=https://comments.example.com parley
#
# compose.yaml runs it with PostgreSQL and Redis. Data (the SQLite file when there is no DATABASE_URL,
# backups, uploaded imports) lives in /data. Any `parley` command runs in it too:
#   docker compose exec parley parley user create-admin you@example.com
ARG PYTHON_IMAGE=python:3.11-slim

# Stage 1: wheels of Parley and of everything it needs. Build tools and the source stay here.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY . .
# A current pip builds the few dependencies published only as source (pure Python) in isolation.
RUN pip install --no-cache-dir --upgrade pip \
    && pip wheel --no-cache-dir --wheel-dir /wheels ".[production,redis]"

# Stage 2: the wheels installed into a virtual environment, nothing else of the build.
FROM ${PYTHON_IMAGE}
# pg_dump, pg_restore and psql for `parley backup` and `parley restore` on PostgreSQL: Debian 12's
# client is version 15, the major version compose.yaml runs (pg_dump refuses a newer server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /data --no-create-home --shell /usr/sbin/nologin parley \
    && mkdir /data && chown parley:parley /data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/parley \
    && /opt/parley/bin/pip install --no-cache-dir --no-index --find-links /wheels "parley[production,redis]"

# PARLEY_ENV: gunicorn's settings make the server a production one; `docker exec … parley check` and the other
# commands hold the same settings to the same rules.
ENV PATH=/opt/parley/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_ENV=production \
    PARLEY_INSTANCE_PATH=/data \
    PARLEY_BACKUP_FOLDER=/data/backups \
    PARLEY_BIND=0.0.0.0:8000
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# With python, which the image has (it has no curl): healthy when /healthz answers 200 (the database is reachable).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# gunicorn with Parley's production settings (workers from the CPU count, PARLEY_* variables).
CMD ["gunicorn", "--config", "python:widget.gunicorn_conf"]
