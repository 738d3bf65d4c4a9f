"""Small pipelines the runtime is built and measured on (their handlers are real code)."""
