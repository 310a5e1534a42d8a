# One image for the bot (`dihya serve`) and the workers (`dihya worker`).
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 dihya
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY commands ./commands
COPY dihya ./dihya
COPY locales ./locales
COPY content ./content
RUN pip install --no-cache-dir -e . && mkdir -p /data && chown dihya /data
USER dihya
ENV DIHYA_DATA_DIR=/data DIHYA_HTTP_HOST=0.0.0.0
EXPOSE 8080
CMD ["dihya", "serve"]
