# Prospect Coach: a slim image that runs as a non-root user, with SQLite data on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/prospect-coach.db \
    WEBHOOK_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY messages ./messages
RUN pip install . \
    && useradd --create-home --uid 10001 coach \
    && mkdir /data \
    && chown coach:coach /data

USER 10001
VOLUME ["/data"]
EXPOSE 8080

# In webhook mode /healthz checks the database; in polling mode the process itself is the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

ENTRYPOINT ["prospect-coach"]
CMD ["run"]
