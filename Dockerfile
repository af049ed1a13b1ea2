# syntax=docker/dockerfile:1
# ordercmd's image: the `ordercmd` command (worker, serve, intake, status, dlq...), `worker` by
# default, as a non-root user. The pins are constraints.txt's, as for `make install` and CI.
#   docker build -t ordercmd .
#   docker run --rm --env-file ordercmd.env ordercmd status --providers
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/ordercmd
WORKDIR /src
# The dependencies first, in a layer of their own: rebuilt only when the list or the pins change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['flower']))" > requirements.txt \
    && /opt/ordercmd/bin/pip install --constraint constraints.txt --requirement requirements.txt
# Then ordercmd itself (a wheel, not editable), touching none of them.
COPY README.md ./
COPY schemas ./schemas
COPY providers ./providers
COPY config ./config
COPY redisconn ./redisconn
COPY store ./store
COPY runs ./runs
COPY worker ./worker
COPY tasks ./tasks
COPY producer ./producer
COPY cli ./cli
COPY web ./web
COPY sandbox ./sandbox
RUN /opt/ordercmd/bin/pip install --no-deps --constraint constraints.txt . \
    && /opt/ordercmd/bin/ordercmd --help > /dev/null

FROM ${PYTHON_IMAGE}
RUN useradd --system --create-home --user-group --uid 10001 ordercmd
COPY --from=build /opt/ordercmd /opt/ordercmd
ENV PATH=/opt/ordercmd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER ordercmd
WORKDIR /home/ordercmd
EXPOSE 8000
# The store answers (ORDERCMD_REDIS_URL); compose adds the worker's and the web's own checks.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["ordercmd", "health"]
ENTRYPOINT ["ordercmd"]
CMD ["worker"]
