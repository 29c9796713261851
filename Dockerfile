# Jańa Jol in a container (see README, "Running in production"). No build step needs the
# network beyond PyPI's pinned, hash-checked files.
#
#   docker build -t jana-jol .
#   docker run -d --name jana-jol --restart on-failure --env-file jana-jol.env \
#       -v jana-jol-data:/data jana-jol                      # long polling
#   docker run ... -e WEBHOOK_LISTEN_HOST=0.0.0.0 -p 127.0.0.1:8443:8443 \
#       jana-jol python -m bot webhook                        # webhook, behind a TLS proxy
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A dedicated user without a login; the data folder is its own, 0700.
RUN groupadd --system jana-jol \
    && useradd --system --gid jana-jol --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin jana-jol \
    && install -d -o jana-jol -g jana-jol -m 0700 /data

# The runtime dependencies exactly as pinned, every file's hash checked; then the project
# alone (setuptools comes from the lock, so nothing unpinned is fetched to build it).
WORKDIR /opt/jana-jol
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
COPY handlers ./handlers
COPY services ./services
COPY scheduler ./scheduler
COPY db ./db
COPY locales ./locales
RUN pip install --no-deps --no-build-isolation . \
    && cd / && rm -rf /opt/jana-jol

USER jana-jol
WORKDIR /data
VOLUME ["/data"]
ENV DATABASE_PATH=/data/bot.sqlite3 \
    HEALTH_LISTEN=127.0.0.1:8081
# Webhook mode listens here (WEBHOOK_LISTEN_HOST=0.0.0.0 inside the container).
EXPOSE 8443

# GET /health: 200 when the database, the scheduler and Telegram are fine; 503 otherwise.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/health', timeout=8)"]

# SIGTERM (docker stop): handlers finish, exit 0. Give it the grace: docker stop -t 30.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
