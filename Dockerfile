# Images of the CodeCrafter server and worker (docker-compose.yml builds both):
#   docker build --target server -t codecrafter-server .
#   docker build --target worker -t codecrafter-worker .
# The sandbox image that runs user code is worker/Dockerfile (or, offline,
# scripts/build-sandbox-image.sh).

# Build: the wheel, with the JupyterLab extension compiled in (needs Node.js).
FROM node:20-bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-pip git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir build \
    && /opt/build/bin/python -m build --wheel --outdir /dist .

# What both images share: Python 3.11 and the package with the scaled backends.
FROM python:3.11-slim-bookworm AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /dist
RUN pip install "$(ls /dist/*.whl)[scaled]" && rm -rf /dist \
    && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin codecrafter

# A server instance: Jupyter Server with the extension, on port 8888, as a non-root user.
FROM base AS server
COPY deploy/server/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py
USER codecrafter
WORKDIR /home/codecrafter
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8888/api/codecrafter/health', timeout=4)"
CMD ["jupyter", "lab", "--config=/etc/jupyter/jupyter_server_config.py"]

# A worker: runs jobs in Docker sandboxes (the host's Docker socket is mounted in).
FROM base AS worker
USER codecrafter
WORKDIR /home/codecrafter
ENV CODECRAFTER_WORKER_METRICS_IP=0.0.0.0 \
    CODECRAFTER_WORKER_METRICS_PORT=9180
EXPOSE 9180
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:9180/health', timeout=4)"
CMD ["codecrafter-worker", "--log-level=INFO"]
