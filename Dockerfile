# govbot: web + (optional) Telegram bot; one image for a single machine or for compose.yaml's replicas.
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 GOVBOT_HOME=/data
COPY pyproject.toml README.md ./
COPY ingest ingest
COPY bot bot
COPY knowledge knowledge
RUN pip install .
# Production embedder, baked into the image so nothing downloads at run time:
#   docker build --build-arg ST_MODEL=BAAI/bge-small-zh-v1.5 .
ARG ST_MODEL=""
RUN if [ -n "$ST_MODEL" ]; then \
      pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && pip install ".[st]" && \
      python -c "from sentence_transformers import SentenceTransformer as S; S('$ST_MODEL').save('/models/st')"; \
    fi
ENV GOVBOT_EMBEDDING=${ST_MODEL:+st:/models/st}
VOLUME /data
# 8000: web page and API; 8443: the Telegram webhook when GOVBOT_TELEGRAM_WEBHOOK_URL is set.
EXPOSE 8000 8443
CMD ["govbot", "serve", "--host", "0.0.0.0", "--port", "8000"]
