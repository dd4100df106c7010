# One image for every role; the command picks it:
#   docker run IMAGE serve | worker | migrate | reencrypt | users create ...
# Dependencies come from requirements.lock (pinned, with hashes); the config is
# deploy/config.yaml (mount your own over /etc/hookgate/config.yaml).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/hookgate && /opt/hookgate/bin/pip install pip==26.3
WORKDIR /src
# The lock first: this layer is rebuilt only when a dependency changes.
COPY requirements.lock ./
RUN /opt/hookgate/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock
# Every package .dockerignore lets through (no list to forget a new package in).
COPY . .
RUN /opt/hookgate/bin/pip install --no-deps . && rm -rf /src

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/hookgate/bin:$PATH HOOKGATE_CONFIG=/etc/hookgate/config.yaml
RUN useradd --system --uid 10001 --home-dir /var/lib/hookgate --create-home hookgate
COPY --from=build /opt/hookgate /opt/hookgate
COPY deploy/config.yaml /etc/hookgate/config.yaml
USER hookgate
WORKDIR /var/lib/hookgate
EXPOSE 8080
# The gateway's check; the worker overrides it (see docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "hookgate.health", "gateway"]
ENTRYPOINT ["hookgate"]
CMD ["serve"]
