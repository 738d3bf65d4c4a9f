"""Run admission: every run of the app takes a slot of one bounded pool, first come first served.

A run costs seconds of CPU; a page (Explore, What if) costs milliseconds. Without a bound,
twenty runs pressed at once all slow down together and take the pages with them. The pool
lets ``slots`` runs go at a time and queues the others in order of arrival::

    pool = run_pool()                               # the process's pool, EXPLORER_RUN_SLOTS slots
    with pool.admit(on_wait=lambda w: print(w.place, w.expected_s)):
        run_the_pipeline()                          # the slot is given back however this ends

While a run waits, ``on_wait`` is called about every ``poll_s`` with its :class:`Wait`: its place
in the queue (1 = next) and the expected wait. An exception raised by ``on_wait`` (the visitor
left) withdraws the run from the queue.

The expected wait is the queue's measured service time played forward over the slots: the run at
place ``p`` starts when the ``p``-th slot frees, about ``ceil(p / slots)`` mean run times from now
when every slot is busy. In detail (:meth:`RunPool.expected_wait_s`):

* the mean run time is the mean of the last ``HISTORY`` runs' durations (not their median: a
  queue drains at the mean, and a mix of short and long runs has a median well below it), where a
  run still going that has already taken longer than that mean counts with the time it has had so
  far (it will take at least that long);
* a running run frees its slot after its expected remaining time: the mean of what the recent
  durations longer than its time so far have left (0 once it has outlasted them all: any moment);
* every run ahead then takes the first slot to free, for one mean run time.

Cold start: there is no estimate (``expected_s`` None) until the first ``slots`` runs of the pool
have finished (at most ``HISTORY``). The first run to finish is the quickest of those that started
together, so an estimate from it alone would be too low for everyone behind.

Only runs go through the pool: the pages that draw diagrams and models never wait here. They
also go first while they draw (:class:`PagesFirst`): a page's script marks itself with
``pages_first().page()``, a run's thread marks itself with ``pages_first().run()``, and every
SDK call a run makes passes :func:`pause_point`, where a run pauses while any page is drawing
(at most ``max_pause_s`` at a time, then it goes on for ``quantum_s`` before it pauses again, so
a stream of page views slows runs down but never stops them). Runs and pages share one Python
process and so one interpreter lock; without this a page redrawn beside two runs gets a third
of it.

The size is read in one place, :func:`configured_slots`: the environment variable
``EXPLORER_RUN_SLOTS`` (a whole number from 1 to 256), by default the number of CPUs
(``os.cpu_count()``): a run is CPU-bound Python, so more runs at once than cores only makes
every run slower.
"""
from __future__ import annotations

import heapq
import os
import statistics
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

SLOTS_ENV_VAR = "EXPLORER_RUN_SLOTS"
MAX_SLOTS = 256
HISTORY = 20          # durations of the last runs the expected wait is estimated from


class AdmissionTimeout(TimeoutError):
    """The run waited longer than it was allowed to."""


def configured_slots(environ: Mapping[str, str] | None = None) -> int:
    """The pool size: ``EXPLORER_RUN_SLOTS`` when set, else the number of CPUs."""
    environ = os.environ if environ is None else environ
    raw = environ.get(SLOTS_ENV_VAR, "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    try:
        slots = int(raw)
    except ValueError:
        slots = 0
    if not 1 <= slots <= MAX_SLOTS:
        raise ValueError(f"{SLOTS_ENV_VAR}={raw!r} is not valid: use a whole number from 1 to {MAX_SLOTS} "
                         "(or leave it unset for one run per CPU)")
    return slots


@dataclass(frozen=True)
class Wait:
    """Where a waiting run stands: ``place`` 1 is next; ``expected_s`` is None until the pool's first
    runs have finished (as many as it has slots)."""
    place: int
    running: int
    slots: int
    expected_s: float | None
    waited_s: float


class _Ticket:
    __slots__ = ("key", "arrived")

    def __init__(self, key: object, arrived: float) -> None:
        self.key = key
        self.arrived = arrived


class RunPool:
    """A bounded pool of run slots with a first-in, first-out queue (see the module docstring)."""

    def __init__(self, slots: int, *, clock: Callable[[], float] = time.monotonic, history: int = HISTORY) -> None:
        if slots < 1:
            raise ValueError(f"a run pool needs at least one slot, not {slots}")
        self.slots = slots
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[_Ticket] = deque()
        self._running: dict[_Ticket, float] = {}       # ticket -> when it was admitted
        self._durations: deque[float] = deque(maxlen=history)
        self.admitted_total = 0
        self.peak_running = 0

    # -- what a page shows ------------------------------------------------------------------------
    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def recent_durations(self) -> list[float]:
        """Seconds the last finished runs held their slot, oldest first."""
        with self._cond:
            return list(self._durations)

    def typical_run_s(self) -> float | None:
        """The mean run time the expected waits use (see the module docstring), or None before any
        run finished."""
        with self._cond:
            return self._mean_run_s(self._clock()) if self._durations else None

    def expected_wait_s(self, place: int) -> float | None:
        """Seconds until the run at ``place`` in the queue (1 = next) gets a slot, or None while the
        first runs have not all finished (see the module docstring)."""
        with self._cond:
            return self._expected(place, self._clock())

    def _mean_run_s(self, now: float) -> float:
        done, had = list(self._durations), [now - started for started in self._running.values()]
        mean, counted = statistics.fmean(done), 0
        while True:              # the mean only rises and the runs counted only fall: this ends
            longer = [h for h in had if h > mean]
            if len(longer) == counted:
                return mean
            counted = len(longer)
            mean = (sum(done) + sum(longer)) / (len(done) + counted)

    def _remaining_s(self, had: float) -> float:
        """What a running run that has had ``had`` seconds is expected to need still."""
        left = [d - had for d in self._durations if d > had]
        return statistics.fmean(left) if left else 0.0

    def _expected(self, place: int, now: float) -> float | None:
        if len(self._durations) < min(self.slots, self._durations.maxlen or self.slots):
            return None
        mean = self._mean_run_s(now)
        # when each slot frees: a free slot now, a busy one after its run's expected remaining time
        free_at = [self._remaining_s(now - started) for started in self._running.values()]
        free_at += [0.0] * (self.slots - len(free_at))
        heapq.heapify(free_at)
        for _ in range(place - 1):          # every run ahead takes the first slot that frees
            heapq.heappush(free_at, heapq.heappop(free_at) + mean)
        return free_at[0]

    def _place(self, ticket: _Ticket) -> int:
        return self._queue.index(ticket) + 1

    # -- taking and giving back a slot ------------------------------------------------------------
    @contextmanager
    def admit(self, key: object = None, *, on_wait: Callable[[Wait], None] | None = None, poll_s: float = 0.5,
              timeout: float | None = None) -> Iterator[None]:
        """Hold a slot for the ``with`` block, after waiting in line for one (see the module docstring)."""
        ticket = self._enter(key, on_wait, poll_s, timeout)
        try:
            yield
        finally:
            with self._cond:
                started = self._running.pop(ticket)
                self._durations.append(self._clock() - started)
                self._cond.notify_all()

    def _enter(self, key: object, on_wait, poll_s: float, timeout: float | None) -> _Ticket:
        with self._cond:
            ticket = _Ticket(key, self._clock())
            self._queue.append(ticket)
        try:
            while True:
                with self._cond:
                    if self._queue[0] is ticket and len(self._running) < self.slots:
                        self._queue.popleft()
                        self._running[ticket] = self._clock()
                        self.admitted_total += 1
                        self.peak_running = max(self.peak_running, len(self._running))
                        self._cond.notify_all()       # the next in line may fit in another free slot
                        return ticket
                    now = self._clock()
                    waited = now - ticket.arrived
                    if timeout is not None and waited >= timeout:
                        raise AdmissionTimeout(f"no run slot became free within {timeout:g} s")
                    place = self._place(ticket)
                    wait = Wait(place=place, running=len(self._running), slots=self.slots,
                                expected_s=self._expected(place, now), waited_s=waited)
                if on_wait is not None:
                    on_wait(wait)
                with self._cond:
                    if not (self._queue[0] is ticket and len(self._running) < self.slots):
                        self._cond.wait(poll_s)
        except BaseException:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()
            raise


_pool: RunPool | None = None
_pool_lock = threading.Lock()


def run_pool() -> RunPool:
    """The process's pool, sized by :func:`configured_slots` when first asked for."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RunPool(configured_slots())
        return _pool


class PagesFirst:
    """Pages before runs (see the module docstring)."""

    def __init__(self, max_pause_s: float = 1.0, quantum_s: float = 0.2) -> None:
        self.max_pause_s, self.quantum_s = max_pause_s, quantum_s
        self._cond = threading.Condition()
        self._drawing = 0
        self._local = threading.local()
        self.paused_s = 0.0            # time runs spent paused for pages, for the figures

    @property
    def drawing(self) -> int:
        return self._drawing

    @contextmanager
    def page(self) -> Iterator[None]:
        """Mark the ``with`` block as a page drawing (nested marks count once)."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        self._local.depth = 1
        self._add(1)
        try:
            yield
        finally:
            if self._local.depth:           # not handed over to a run meanwhile
                self._add(-1)
            self._local.depth = 0

    @contextmanager
    def run(self) -> Iterator[None]:
        """Mark the ``with`` block as a run (or a wait for one): it is no page drawing, even inside one,
        and its SDK calls pause while pages draw."""
        depth = getattr(self._local, "depth", 0)
        was_run = getattr(self._local, "run", False)
        if depth:
            self._add(-1)
        self._local.depth, self._local.run = 0, True
        try:
            yield
        finally:
            self._local.run = was_run
            self._local.depth = depth
            if depth:
                self._add(1)

    def _add(self, n: int) -> None:
        with self._cond:
            self._drawing += n
            if not self._drawing:
                self._cond.notify_all()

    def pause_point(self) -> None:
        """Where a run's thread gives way to pages being drawn; nothing to do elsewhere."""
        if not self._drawing or not getattr(self._local, "run", False):
            return
        now = time.monotonic()
        if now < getattr(self._local, "free_until", 0.0):
            return
        with self._cond:
            drawn = self._cond.wait_for(lambda: not self._drawing, timeout=self.max_pause_s)
        after = time.monotonic()
        self.paused_s += after - now
        if not drawn:
            self._local.free_until = after + self.quantum_s


_pages_first = PagesFirst()


def pages_first() -> PagesFirst:
    """The process's page-before-run gate."""
    return _pages_first


def pause_point() -> None:
    """Called before each SDK call of the process: a run's call waits here while a page draws."""
    _pages_first.pause_point()
