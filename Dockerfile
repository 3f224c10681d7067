# promoter as a container: `docker run --rm -e PROMOTER_TOKEN ghcr.io/promoter-dev/promoter:0.1.0 --env ...`
# (`docker run --rm ghcr.io/promoter-dev/promoter:0.1.0 demo` needs nothing else; tests/test_wheel.py
# builds and runs what this file builds, since Docker cannot run in the test environment.)
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY promoter ./promoter
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels /wheels/*.whl

FROM python:3.12-slim
# git is promoter's transport; nothing else is needed at run time.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
 && rm -rf /wheels \
 && useradd --create-home --uid 10001 promoter
USER 10001
WORKDIR /home/promoter
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["promote"]
CMD ["--help"]
