"""Load: what many visitors cost the server, and whether it gives the memory back.

* ``soak``: ``SOAK_RUNS`` runs of a fast case in sequence, each the way the Run page makes
  one: a session opened from the app's session registry, a slot of the run pool, the run,
  the session closed. The process's RSS after the first run and after the last (garbage
  collected first) may differ by at most ``SOAK_GROWTH_MB``: a finished run's memory is
  given back.
* ``sessions``: ``SESSIONS`` simultaneous visitors of a real ``streamlit run`` server on the
  loopback, each a websocket client speaking the page's protocol, each pressing Run once while
  another visitor, in headless Chromium, flips toggles on Explore (:mod:`app.bench.sessions`): queue-plus-run times, the
  Explore toggle-to-diagram times during the load, the server's peak RSS and its RSS per
  session. Skipped, with the reason, where Chromium or Playwright is missing.
"""
from __future__ import annotations

import gc
import time
import uuid

from app.bench import target
from app.bench.runtime import rss_mb

SOAK_CASE = "global-blog"
SOAK_RUNS = 100
SOAK_GROWTH_MB = 50


def soak(runs: int = SOAK_RUNS, case_id: str = SOAK_CASE) -> dict:
    """``runs`` runs in sequence through the registry and the run pool; RSS after the first and the last."""
    from app.core.cases import get_case
    from app.runtime.admission import run_pool
    from app.runtime.pipeline import load_pipeline, run_pipeline
    from app.runtime.session import SessionRegistry

    case = get_case(case_id)
    values = case.resolve()
    registry, pool = SessionRegistry(), run_pool()
    rss: list[float] = []
    failed: list[str] = []
    started = time.perf_counter()
    for i in range(runs):
        pipeline = load_pipeline(case, values)
        if pipeline is None:
            raise RuntimeError(f"{case_id} has no pipeline to run")
        key = uuid.uuid4().hex
        if not registry.claim_run(key):
            raise RuntimeError("a fresh session key was already running")
        try:
            with pool.admit():
                result = run_pipeline(pipeline, values, session=registry.get(key),
                                      own_session=True, check_leftovers=True)
        finally:
            registry.release_run(key)
        registry.end(key)
        if not result.ok:
            failed.append(f"run {i + 1}: " + "; ".join(c.name for c in result.checks if not c.ok))
        if i == 0 or i == runs - 1:
            del result
            gc.collect()
            rss.append(rss_mb())
    growth = rss[-1] - rss[0]
    return {"case": case_id, "runs": runs, "all_ok": not failed, "failed": failed[:5],
            "rss_after_first_mb": round(rss[0], 1), "rss_after_last_mb": round(rss[-1], 1),
            "growth_mb": round(growth, 1), "sessions_left": len(registry),
            "total_s": round(time.perf_counter() - started, 1),
            "target": target(growth, SOAK_GROWTH_MB, "MB") | {"met": growth <= SOAK_GROWTH_MB and not failed}}


def run() -> dict:
    out: dict = {"soak": soak()}
    targets = {"soak_rss_growth_mb": out["soak"].pop("target")}
    from app.bench import sessions

    reason = sessions.unavailable()
    if reason:
        out["sessions"] = {"skipped": reason}
    else:
        out["sessions"] = sessions.run()
        targets.update(out["sessions"].pop("targets"))
    out["targets"] = targets
    return out
