"""The embedded AWS runtime: real pipeline code against moto (or live AWS), plus the
data planes moto lacks. Nothing here imports streamlit."""
