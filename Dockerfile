# Build a wheel-free virtualenv in one stage, run it as a non-root user in a slim second stage.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY fairdb ./fairdb
RUN /venv/bin/pip install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 fairdb
WORKDIR /app
COPY --from=build /venv /venv
COPY --chown=fairdb:fairdb wsgi.py gunicorn.conf.py ./
COPY --chown=fairdb:fairdb migrations ./migrations
COPY --chown=fairdb:fairdb templates ./templates
COPY --chown=fairdb:fairdb static ./static
# The package is also importable from /app (first on sys.path), so ROOT finds templates/ beside it.
COPY --chown=fairdb:fairdb fairdb ./fairdb
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 FAIRDB_ENV=production \
    FAIRDB_BIND=0.0.0.0:5000 FAIRDB_INSTANCE_PATH=/app/instance
RUN mkdir -p /app/instance && chown fairdb:fairdb /app/instance
USER fairdb
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "flask --app wsgi db upgrade && flask --app wsgi fairdb search-orders && exec gunicorn wsgi:app -c gunicorn.conf.py"]
