"""The latency and cost engine: price and latency books, cache models, request paths, case models.

Pure Python and numpy: nothing here imports streamlit. Entry points: :func:`run` for one
configuration, :func:`describe_params` for a case's toggles and workload inputs.
"""
from app.engine.run import BreakEven, Context, Plan, build, describe_params, params_of, resolve_values, run

__all__ = ["run", "build", "describe_params", "params_of", "resolve_values", "Plan", "Context", "BreakEven"]
