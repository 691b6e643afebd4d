# The CivicDesk image for compose.yaml (untested here: no Docker daemon on the build machine).
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir ".[s3]" \
    && useradd --create-home civicdesk \
    && mkdir -p /app/var && chown -R civicdesk /app/var
ENV CIVICDESK_DATA_DIR=/app/data
USER civicdesk
CMD ["civicdesk", "serve", "--host", "0.0.0.0"]
