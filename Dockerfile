# restyle: one image for every role (workers, beat, Flower, the emulator, the CLI).
# Dependencies come from requirements.lock (every runtime package pinned) and are installed
# before the source is copied, so a code change rebuilds one thin layer. The code runs from
# /app (PYTHONPATH) as an unprivileged user; .dockerignore keeps .env, tests and caches out.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 restyle \
    && useradd --system --uid 10001 --gid restyle --no-create-home \
       --home-dir /app --shell /usr/sbin/nologin restyle

WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock && pip check

COPY . .

# `restyle ...` inside the container, without installing the project as a package.
RUN printf '#!/bin/sh\nexec python -c "import sys; sys.argv[0] = \\"restyle\\"; from cli.main import main; main()" "$@"\n' \
        > /usr/local/bin/restyle \
    && chmod 0755 /usr/local/bin/restyle \
    && python -c "import workers.flower, workers.logging, config.schedules"

USER restyle:restyle
EXPOSE 5555 8900
CMD ["restyle", "--help"]
