"""Many visitors at once: a real ``streamlit run`` server on the loopback.

:func:`drive` starts the app on a free port of 127.0.0.1 and opens ``sessions`` visitors, each
a websocket client of the server speaking the protocol of Streamlit's page: it opens the Run
page of a case (alternating the ``CASES``) with the BackMsg a browser sends for that link and
presses Run once with the BackMsg of a click, all at the same moment, and reads the ForwardMsg
stream the server sends back. The server does for such a visitor all it does for a browser
(the script runs, the run, the deltas, the websocket traffic); what is left out is drawing 30
pages, which on the hosted demo happens on the visitors' own machines and here would take the
server's two cores. Meanwhile one more visitor, in headless Chromium, flips a toggle on
Explore over and over and times each toggle until the new diagram is shown: what a person
feels. Everything stops by itself: each visitor has a deadline, and the server and browser
are stopped at the end.

Each visitor then reads what it was sent: every check passed, no error shown, and the
resources its artifacts name (the ``sx<run id>`` prefix of its buckets and functions, the
account in its ARNs) are its own: one prefix and at most one account, shared with no other
visitor.

The server's RSS is sampled from ``/proc`` throughout: at rest after one page load, with every
visitor's page open, and its peak.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 30
CASES = ("todo-api", "global-blog")
EXPLORE_CASE, EXPLORE_TOGGLE = "todo-api", "DAX in front of DynamoDB"
TOGGLE_TARGET_S = 1.5
RUN_DEADLINE_S = 900.0
PAGE_DEADLINE_S = 300.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
DIAGRAM = "img[alt^='Architecture diagram']"
PREFIX = re.compile(r"\bsx[0-9a-f]{8}\b")
ACCOUNT = re.compile(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
PREFIX_BYTES, ACCOUNT_BYTES = re.compile(PREFIX.pattern.encode()), re.compile(ACCOUNT.pattern.encode())
QUEUE = re.compile(r"your run is (\d+)\w\w in the queue")


def chromium_path() -> str | None:
    """The system's Chromium (`make test-browser` and `make test-all` install Debian's package), or None
    when there is none."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the sessions load cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if chromium_path() is None:
        return "Chromium is not installed"
    return None


def rss_of(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """The peak RSS of a process, sampled every ``every_s`` on a thread until :meth:`stop`."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_of(self.pid))
            self._stop.wait(self.every_s)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return self.peak_mb


@contextmanager
def serve(env: dict | None = None, log=None) -> Iterator[tuple[str, int]]:
    """``streamlit run`` of the app on a free loopback port: (base URL, server pid); stopped afterwards.
    The server's output goes to ``log`` (an open file), or nowhere, with errors only, when None."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    quiet = {"STREAMLIT_LOGGER_LEVEL": "error"} if log is None else {}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/ui/streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],     # a served app's files do not change under it
        cwd=ROOT, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        env={**os.environ, **quiet, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app server did not start") from None
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def pct(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))], 2)


class _Page:
    """What a websocket visitor has been sent: the Run button's widget id, the metrics and notices
    of the page, and every frame's bytes (the artifacts' names are read from them)."""

    def __init__(self) -> None:
        self.button: str | None = None
        self.metrics: dict[str, str] = {}
        self.alerts: list[str] = []
        self.exceptions: list[str] = []
        self.frames: list[bytes] = []

    def take(self, raw: bytes) -> str | None:
        """Read one ForwardMsg; return its kind, or ``"finished"`` when a script run ended as it should."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        self.frames.append(raw)
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "button" and element.button.label == "Run":
                self.button = element.button.id
            elif which == "metric":
                self.metrics[element.metric.label] = element.metric.body
            elif which == "alert":
                self.alerts.append(element.alert.body.replace("**", ""))    # its markdown, as read
            elif which == "exception":
                self.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
        if kind == "script_finished" and msg.script_finished in (ForwardMsg.FINISHED_SUCCESSFULLY,
                                                                  ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            return "finished"
        return kind


async def _visitor(base: str, case_id: str, n: int, start: asyncio.Event, out: dict) -> None:
    """One visitor as a websocket client: it speaks the protocol of Streamlit's page (the same
    BackMsg a browser sends to open the Run page and to press Run, the same ForwardMsg stream
    back), so the server does for it all it does for a browser; only the drawing is left out."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from websockets.typing import Origin, Subprotocol

    record: dict = {"visitor": n, "case": case_id, "errors": []}
    out["visitors"].append(record)
    page = _Page()

    def rerun(press: bool = False) -> bytes:
        msg = BackMsg()
        msg.rerun_script.query_string, msg.rerun_script.page_name = f"case={case_id}", "run"
        if press:
            widget = msg.rerun_script.widget_states.widgets.add()
            widget.id, widget.trigger_value = page.button, True
        return msg.SerializeToString()

    async def until_finished(ws, deadline_s: float) -> None:
        async with asyncio.timeout(deadline_s):
            while page.take(await ws.recv()) != "finished":
                pass

    try:
        t0 = time.monotonic()
        async with websockets.connect(base.replace("http", "ws", 1) + "/_stcore/stream",
                                      subprotocols=[Subprotocol("streamlit")],
                                      origin=Origin(base), max_size=None, open_timeout=PAGE_DEADLINE_S,
                                      ping_interval=None) as ws:
            await ws.send(rerun())
            await until_finished(ws, PAGE_DEADLINE_S)
            if page.button is None:
                raise RuntimeError("the Run page shows no Run button")
            record["page_load_s"] = round(time.monotonic() - t0, 2)
            out["loaded"] += 1
            await start.wait()                      # every visitor presses at the same moment
            pressed = time.monotonic()
            page.frames.clear()
            await ws.send(rerun(press=True))
            try:
                await until_finished(ws, RUN_DEADLINE_S)
            except TimeoutError:
                record["errors"].append(f"no result within {RUN_DEADLINE_S:.0f} s")
            record["queue_plus_run_s"] = round(time.monotonic() - pressed, 2)
        record["errors"] += [f"exception shown: {e}" for e in page.exceptions]
        places = [int(m.group(1)) for m in (QUEUE.search(a) for a in page.alerts) if m]
        record["queue_places"] = sorted(set(places), reverse=True)
        record["queue_text"] = next((a[:300] for a in page.alerts if QUEUE.search(a)), None)
        value = page.metrics.get("Checks passed")
        if value is None:
            record["errors"].append("the page shows no checks after the run")
            return
        passed, total = (int(x) for x in re.findall(r"\d+", value)[:2])
        record["checks"] = f"{passed}/{total}"
        if passed != total or total == 0:
            record["errors"].append(f"{passed}/{total} checks passed")
        sent = b"".join(page.frames)
        if b"nothing left behind" not in sent:
            record["errors"].append("the page does not say that the teardown left nothing behind")
        record["prefixes"] = sorted({m.decode() for m in PREFIX_BYTES.findall(sent)})
        record["accounts"] = sorted({m.decode() for m in ACCOUNT_BYTES.findall(sent)})
    except Exception as exc:  # noqa: BLE001 - a visitor's failure is a figure of the load, reported
        record["errors"].append(f"{type(exc).__name__}: {str(exc)[:300]}")


async def _explorer(browser, base: str, start: asyncio.Event, done: asyncio.Event, out: dict) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    label = page.locator("label").filter(has_text=EXPLORE_TOGGLE).first

    async def flip() -> float:
        before = await page.locator(DIAGRAM).get_attribute("src")
        t0 = time.monotonic()
        await label.click()
        await page.wait_for_function(
            "(old) => { const i = document.querySelector(\"" + DIAGRAM.replace('"', '\\"') + "\");"
            " return i && i.getAttribute('src') !== old && i.complete; }", arg=before, timeout=120_000)
        return time.monotonic() - t0

    try:
        await page.goto(f"{base}/?case={EXPLORE_CASE}", timeout=PAGE_DEADLINE_S * 1000)
        await page.locator(DIAGRAM).wait_for(state="visible", timeout=PAGE_DEADLINE_S * 1000)
        for _ in range(6):                       # before the load: the same toggles on a quiet server
            out["explore_idle_s"].append(await flip())
        out["explorer_ready"] = True
        await start.wait()
        while not done.is_set():
            out["explore_load_s"].append(await flip())
            await asyncio.sleep(0.3)
    except Exception as exc:  # noqa: BLE001
        out["errors"].append(f"explore: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        await context.close()


async def _drive(base: str, sessions: int, out: dict) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            start, done = asyncio.Event(), asyncio.Event()
            explorer = asyncio.create_task(_explorer(browser, base, start, done, out))
            while not out.get("explorer_ready") and not explorer.done():
                await asyncio.sleep(0.2)
            visitors = [asyncio.create_task(_visitor(base, CASES[i % len(CASES)], i, start, out))
                        for i in range(sessions)]
            t0 = time.monotonic()
            while out["loaded"] < sessions and not all(v.done() for v in visitors) \
                    and time.monotonic() - t0 < PAGE_DEADLINE_S:
                await asyncio.sleep(0.2)
            out["all_pages_open"] = time.monotonic()
            start.set()
            await asyncio.gather(*visitors)
            done.set()
            await explorer
        finally:
            await browser.close()


def _run_in_own_loop(make_coroutine) -> None:
    """Run a coroutine to its end on a fresh event loop in a thread of its own.

    The caller's thread may already run a loop (Playwright's sync API keeps one in the test process while its
    browser is open), and ``asyncio.run`` refuses to start a second loop in such a thread.
    """
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(make_coroutine())
        except BaseException as exc:  # handed back to the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=target, name="load-visitors")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def drive(sessions: int = SESSIONS, env: dict | None = None) -> dict:
    """Run the load (see the module docstring) and return what every visitor saw, with the figures."""
    out: dict = {"visitors": [], "loaded": 0, "errors": [], "explore_idle_s": [], "explore_load_s": []}
    started = time.monotonic()
    with serve(env) as (base, pid):
        with urllib.request.urlopen(base + "/", timeout=30) as r:
            r.read()
        rest = rss_of(pid)
        sampler = RssSampler(pid)
        out["rss_connected_mb"] = 0.0

        def note_connected() -> None:             # RSS once every page is open, before the runs
            while "all_pages_open" not in out and not sampler._stop.is_set():
                time.sleep(0.1)
            out["rss_connected_mb"] = rss_of(pid)
        watcher = threading.Thread(target=note_connected, daemon=True)
        watcher.start()
        try:
            _run_in_own_loop(lambda: _drive(base, sessions, out))
        finally:
            peak = sampler.stop()
            watcher.join(5)
        after = rss_of(pid)
    return summarize(out, sessions, rest_mb=rest, peak_mb=peak, after_mb=after,
                     total_s=time.monotonic() - started)


def summarize(out: dict, sessions: int, *, rest_mb: float, peak_mb: float, after_mb: float, total_s: float) -> dict:
    visitors = sorted(out["visitors"], key=lambda v: v["visitor"])
    errors = out["errors"] + [f"visitor {v['visitor']} ({v['case']}): {e}" for v in visitors for e in v["errors"]]
    # leaks: each visitor shows one prefix and at most one account, none seen by another visitor
    owners: dict[str, set[int]] = {}
    for v in visitors:
        for name in v.get("prefixes", []) + v.get("accounts", []):
            owners.setdefault(name, set()).add(v["visitor"])
    leaks = [f"{name} shown to visitors {sorted(who)}" for name, who in owners.items() if len(who) > 1]
    leaks += [f"visitor {v['visitor']} shows prefixes {v['prefixes']} and accounts {v['accounts']}"
              for v in visitors if "prefixes" in v and (len(v["prefixes"]) != 1 or len(v["accounts"]) > 1)]
    runs = [v["queue_plus_run_s"] for v in visitors if "checks" in v]
    loads = [v["page_load_s"] for v in visitors if "page_load_s" in v]
    toggles = out["explore_load_s"]
    p95 = pct(toggles, 0.95)
    connected = out.get("rss_connected_mb") or rest_mb
    green = sum(1 for v in visitors if v.get("checks") and not v["errors"])
    return {
        "sessions": sessions, "cases": list(CASES), "completed": len(runs),
        "all_green": len(runs) == sessions and not errors, "errors": errors[:20], "leaks": leaks[:20],
        "queued_visitors": sum(bool(v.get("queue_places")) for v in visitors),
        "queue_text_example": next((v["queue_text"] for v in visitors if v.get("queue_text")), None),
        "queue_plus_run_s": {"p50": pct(runs, 0.5), "p95": pct(runs, 0.95), "max": max(runs, default=None)},
        "page_load_s": {"p50": pct(loads, 0.5), "max": max(loads, default=None)},
        "explore_toggle_s": {"idle_p50": pct(out["explore_idle_s"], 0.5), "during_load_p50": pct(toggles, 0.5),
                             "during_load_p95": p95, "during_load_max": max(toggles, default=None),
                             "n": len(toggles)},
        "server_rss_mb": {"at_rest": round(rest_mb, 1), "all_pages_open": round(connected, 1),
                          "peak": round(peak_mb, 1), "after": round(after_mb, 1),
                          "per_session": round((connected - rest_mb) / sessions, 2),
                          "peak_per_session": round((peak_mb - rest_mb) / sessions, 2)},
        "total_s": round(total_s, 1),
        "runs_by_case_p50_s": {c: pct([v["queue_plus_run_s"] for v in visitors if v["case"] == c and "checks" in v],
                                      0.5) for c in CASES},
        "targets": {
            "explore_toggle_p95_during_load_s": {"value": p95, "target": f"<= {TOGGLE_TARGET_S} s",
                                                 "met": p95 is not None and p95 <= TOGGLE_TARGET_S},
            "sessions_green_without_leaks": {"value": f"{green}/{sessions}",
                                             "target": f"{sessions}/{sessions}, no leak",
                                             "met": len(runs) == sessions and not errors and not leaks},
        },
    }


def run() -> dict:
    return drive()


if __name__ == "__main__":            # python -m app.bench.sessions [N]
    import json

    print(json.dumps(drive(int(sys.argv[1]) if len(sys.argv) > 1 else SESSIONS), indent=1))
