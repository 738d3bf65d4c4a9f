# The explorer as a container: `docker build -t explorer .` then `docker run -p 8501:8501 explorer`.
FROM python:3.11-slim

# Graphviz draws the diagrams; curl answers the health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends graphviz curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 explorer
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=explorer:explorer . .

USER explorer
ENV PYTHONUNBUFFERED=1
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1

# Inside the container the app listens on every interface so that the published port reaches it.
CMD ["python", "-m", "streamlit", "run", "app/ui/streamlit_app.py", \
     "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--server.headless", "true", "--browser.gatherUsageStats", "false"]
