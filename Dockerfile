FROM python:3.11-slim
ARG GITHASH=unknown
ARG BUILDSTAMP=unknown
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    S3API_GITHASH=$GITHASH S3API_BUILDSTAMP=$BUILDSTAMP \
    S3API_LISTEN=0.0.0.0:8080 PROMETHEUS_MULTIPROC_DIR=/tmp/s3api-metrics
WORKDIR /app
COPY setup.cfg pyproject.toml README.md wsgi.py ./
COPY s3api ./s3api
RUN pip install --no-cache-dir . && useradd --system --uid 10001 s3api
USER s3api
EXPOSE 8080
# Mount a config file and set S3API_CONFIG=/etc/s3api/config.yaml; without one, the embedded emulator runs.
ENTRYPOINT ["gunicorn", "-c", "python:s3api.gunicorn_conf", "wsgi:app"]
