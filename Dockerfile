# Cairn's app image: one `cairn serve` process (migrations first, then uvicorn).
# docker-compose.yml runs two of them behind nginx; docs/deploy.md explains it all.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 cairn \
    && useradd --system --uid 10001 --gid cairn --home-dir /app --shell /usr/sbin/nologin cairn \
    && python -m venv /opt/venv

WORKDIR /app

# Every dependency, setuptools included, pinned by version and hash; only wheels, so no
# compiler runs and nothing unpinned is fetched. Regenerate the lock as docs/deploy.md says.
COPY requirements.lock ./
RUN pip install --require-hashes --only-binary=:all: --no-deps -r requirements.lock

# Cairn reads its templates, static files and migrations beside the package, so it is
# installed in place (editable) from /app, with the pinned setuptools and no download.
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY server ./server
COPY web ./web
RUN pip install --no-deps --no-build-isolation --no-index -e . \
    && mkdir -p /app/var \
    && chown cairn:cairn /app/var

USER cairn

ENV CAIRN_ENV=production \
    CAIRN_HOST=0.0.0.0 \
    CAIRN_PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CAIRN_PORT', '8000'), timeout=4)"]

# Migrations take a PostgreSQL advisory lock, so replicas starting together migrate once.
CMD ["cairn", "serve"]
