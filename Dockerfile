# Cairn's app image: one `cairn serve` process (waits for its database, migrates, then serves).
# docker-compose.yml runs two of them behind nginx; docs/deploy.md explains it all.

# -- build: a virtual environment with every dependency and Cairn installed -------------------
FROM python:3.11-slim-bookworm AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /app

# Every dependency, setuptools included, pinned by version and hash (regenerate the lock as
# docs/deploy.md says); wheels only, so no compiler runs and nothing unpinned is fetched.
# http-ece alone is published only as source: pure Python, built afterwards by the pinned
# setuptools just installed (no build isolation: nothing else is fetched).
COPY requirements.lock ./
RUN awk 'BEGIN { out = "wheels.lock" } \
         /^[a-z0-9]/ { out = ($0 ~ /^http-ece==/) ? "sources.lock" : "wheels.lock" } \
         { print > out }' requirements.lock \
    && pip install --require-hashes --only-binary=:all: --no-deps -r wheels.lock \
    && pip install --require-hashes --no-binary=:all: --no-build-isolation --use-pep517 \
        --no-deps -r sources.lock

# Cairn reads its templates, static files and migrations beside the package, so it is
# installed in place (editable) from /app, where the image below has the same files. Then
# what only installing needs (pip, setuptools) and the packages' own tests stay behind.
COPY pyproject.toml README.md ./
COPY server ./server
RUN pip install --no-deps --no-build-isolation --no-index -e . \
    && pip uninstall --yes --quiet setuptools pip \
    && find /opt/venv/lib/python3.11/site-packages -mindepth 2 -maxdepth 2 -type d \
        \( -name tests -o -name test \) -exec rm -rf {} +

# Babel's locale data for the languages Cairn knows (a folder in server/locale; English is
# the source) and the root they inherit from: every other locale would add 30 MiB.
RUN cd /opt/venv/lib/python3.11/site-packages/babel/locale-data \
    && for f in *.dat; do l=${f%.dat}; l=${l%%_*}; \
         [ "$l" = root ] || [ "$l" = en ] || [ -d "/app/server/locale/$l" ] || rm "$f"; done

# -- the image ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 cairn \
    && useradd --system --uid 10001 --gid cairn --home-dir /app --shell /usr/sbin/nologin cairn \
    && mkdir -p /app/var \
    && chown cairn:cairn /app/var

# Owned by root: the app's user can change none of its code or packages, only /app/var.
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY server ./server
COPY web ./web
# Each language's messages, compiled from its .po file once, here, never at request time.
RUN pybabel compile --directory server/locale --domain messages --statistics

USER cairn

ENV CAIRN_ENV=production \
    CAIRN_HOST=0.0.0.0 \
    CAIRN_PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CAIRN_PORT', '8000'), timeout=4)"]

# Waits for the database (CAIRN_DATABASE_WAIT_SECONDS), then migrates under a PostgreSQL
# advisory lock, so replicas starting together migrate once, then serves.
CMD ["cairn", "serve"]
