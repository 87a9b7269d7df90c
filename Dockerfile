# The testrun image: `testrun api` by default; `worker`, `scheduler`, `migrate` as commands.
# Carries Debian's Chromium for the local sandbox (TESTRUN_SANDBOX=local), and bubblewrap
# for its scripts (which also need user namespaces: see README, "Scripts").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# fonts-liberation: metric-compatible Arial/Times/Courier, so pages lay out (and screenshots
# look) as on a desktop browser instead of falling back to whatever font is left.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies from pyproject.toml alone first, so a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

RUN useradd --create-home --uid 10001 --user-group testrun \
    && mkdir -p /data/artifacts \
    && chown -R testrun:testrun /data
USER testrun

ENV TESTRUN_HOST=0.0.0.0 \
    TESTRUN_CHROMIUM=/usr/bin/chromium \
    TESTRUN_ARTIFACTS_DIR=/data/artifacts
EXPOSE 8000

# Liveness of the api, in Python as slim has no curl; no proxy (HTTP_PROXY may be set for the
# browsers, and urllib would send 127.0.0.1 through it). Services without HTTP turn it off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('TESTRUN_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["testrun"]
CMD ["api"]
