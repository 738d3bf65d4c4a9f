"""The run pool: at most its slots at once, first come first served, places and expected waits."""
from __future__ import annotations

import os
import threading
import time

import pytest

from app.runtime.admission import SLOTS_ENV_VAR, AdmissionTimeout, RunPool, Wait, configured_slots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def until(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_never_more_runs_at_once_than_slots():
    pool = RunPool(2)
    inside, peak, lock = [0], [0], threading.Lock()

    def run():
        with pool.admit():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.03)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 2 and pool.peak_running == 2
    assert pool.admitted_total == 8 and pool.running == 0 and pool.waiting == 0
    assert len(pool.recent_durations()) == 8


def test_runs_are_admitted_in_order_of_arrival_and_see_their_place():
    pool = RunPool(1)
    order: list[int] = []
    places: dict[int, list[int]] = {}
    hold = pool.admit()
    hold.__enter__()
    threads = []
    for i in range(4):
        def run(i=i):
            with pool.admit(on_wait=lambda w: places.setdefault(i, []).append(w.place), poll_s=0.01):
                order.append(i)
        t = threading.Thread(target=run)
        t.start()
        threads.append(t)
        # each has joined the queue before the next arrives (until() calls the lambda before i moves on)
        until(lambda: pool.waiting == i + 1)  # noqa: B023
    until(lambda: all(len(places.get(i, [])) >= 1 for i in range(4)))
    assert [places[i][0] for i in range(4)] == [1, 2, 3, 4]
    hold.__exit__(None, None, None)
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3]
    # a place only ever goes down while waiting
    assert all(p == sorted(p, reverse=True) for p in places.values())


def test_a_run_that_raises_gives_its_slot_back():
    pool = RunPool(1)
    with pytest.raises(RuntimeError):
        with pool.admit():
            raise RuntimeError("the pipeline broke")
    assert pool.running == 0
    with pool.admit(timeout=1):           # the slot is free again
        assert pool.running == 1


def test_a_waiter_that_leaves_is_withdrawn_and_the_others_move_up():
    pool = RunPool(1)
    hold = pool.admit()
    hold.__enter__()
    seen: list[Wait] = []
    left = threading.Event()

    def leaver_wait(w: Wait) -> None:
        if left.is_set():
            raise KeyboardInterrupt("visitor left")

    def leaver():
        try:
            with pool.admit(on_wait=leaver_wait, poll_s=0.01):
                raise AssertionError("a withdrawn run must not be admitted")
        except KeyboardInterrupt:
            pass

    t1 = threading.Thread(target=leaver)
    t1.start()
    until(lambda: pool.waiting == 1)
    held = [pool.admit(on_wait=seen.append, poll_s=0.01)]      # kept: a dropped admission gives its slot back
    t2 = threading.Thread(target=held[0].__enter__)
    t2.start()
    until(lambda: seen and seen[-1].place == 2)
    left.set()
    t1.join(10)
    until(lambda: seen[-1].place == 1)
    assert pool.waiting == 1
    hold.__exit__(None, None, None)
    t2.join(10)
    assert pool.running == 1 and pool.waiting == 0


def test_waiting_too_long_raises_and_leaves_the_queue():
    pool = RunPool(1)
    with pool.admit():
        with pytest.raises(AdmissionTimeout):
            with pool.admit(timeout=0.05, poll_s=0.01):
                pass
        assert pool.waiting == 0


def test_expected_wait_from_recent_durations_running_time_and_runs_ahead():
    clock = Clock()
    pool = RunPool(2, clock=clock)
    assert pool.expected_wait_s(1) is None            # no run has finished yet
    for seconds in (8.0, 10.0, 12.0):                 # mean 10 s
        with pool.admit():
            clock.now += seconds
    assert pool.typical_run_s() == 10.0
    assert pool.expected_wait_s(1) == 0.0             # both slots free
    a = pool.admit()
    a.__enter__()
    clock.now += 4.0                                  # one run 4 s in
    b = pool.admit()
    b.__enter__()                                     # one just started
    assert pool.expected_wait_s(1) == pytest.approx(6.0)    # the first run's remaining 6 s
    assert pool.expected_wait_s(2) == pytest.approx(10.0)   # the second run's remaining 10 s
    assert pool.expected_wait_s(3) == pytest.approx(16.0)   # after the first frees, another typical run
    clock.now += 20.0                                 # overdue runs: a slot may free any moment
    assert pool.expected_wait_s(1) == 0.0


def test_the_expected_wait_runs_on_the_mean_and_counts_a_long_run_still_going():
    clock = Clock()
    pool = RunPool(1, clock=clock)
    for seconds in (1.0, 1.0, 4.0):                   # median 1 s, mean 2 s: the queue drains at the mean
        with pool.admit():
            clock.now += seconds
    assert pool.typical_run_s() == pytest.approx(2.0)
    hold = pool.admit()
    hold.__enter__()
    clock.now += 0.5
    assert pool.expected_wait_s(1) == pytest.approx(1.5)    # what the runs longer than 0.5 s had left, on average
    assert pool.expected_wait_s(3) == pytest.approx(5.5)    # then two runs of 2 s ahead
    clock.now += 4.5                                  # 5 s in: it takes at least that long, and counts so
    assert pool.typical_run_s() == pytest.approx((1 + 1 + 4 + 5) / 4)
    assert pool.expected_wait_s(2) == pytest.approx(2.75)
    hold.__exit__(None, None, None)


def _drive_queue(durations: list[float], slots: int) -> tuple[dict[int, list[tuple[float, Wait]]], dict[int, float]]:
    """Runs of the given durations (sleeps) through a real pool, arriving in order at once: what each
    was told while it waited (when, and the Wait), and when it was admitted."""
    pool = RunPool(slots)
    told: dict[int, list[tuple[float, Wait]]] = {i: [] for i in range(len(durations))}
    admitted: dict[int, float] = {}

    def run(i: int) -> None:
        with pool.admit(on_wait=lambda w: told[i].append((time.monotonic(), w)), poll_s=0.02):
            admitted[i] = time.monotonic()
            time.sleep(durations[i])

    threads = []
    for i in range(len(durations)):
        threads.append(threading.Thread(target=run, args=(i,)))
        threads[-1].start()
        until(lambda: pool.running + pool.waiting == i + 1)
    for t in threads:
        t.join(30)
    assert len(admitted) == len(durations) and pool.waiting == pool.running == 0
    return told, admitted


def test_the_expected_wait_of_a_queue_of_twenty_holds_to_the_real_wait():
    # two slots, two runs going and twenty waiting, of durations from 0.3 s to twice that
    slots, durations = 2, [(0.55, 0.3, 0.4, 0.3, 0.6, 0.35)[i % 6] for i in range(22)]
    mean = sum(durations) / len(durations)
    told, admitted = _drive_queue(durations, slots)
    finished_at = sorted(admitted[i] + durations[i] for i in admitted)
    checked = 0
    for i, waits in told.items():
        first_at_place: dict[int, tuple[float, Wait]] = {}
        for at, wait in waits:
            if at < finished_at[slots - 1] - 0.01:        # cold start: the first runs are still going
                assert wait.expected_s is None, (i, wait)
            elif wait.expected_s is not None:
                first_at_place.setdefault(wait.place, (at, wait))
        for place, (at, wait) in first_at_place.items():
            real = admitted[i] - at
            if real >= 2 * mean:          # a run or more ahead of it in each slot
                assert abs(wait.expected_s - real) <= 0.3 * real, (i, place, wait.expected_s, real)
            else:                         # next in line: the end of a run in flight, known to within a run
                assert abs(wait.expected_s - real) <= mean, (i, place, wait.expected_s, real)
            checked += 1
    assert checked >= 100             # each of the twenty was told at most of its places


def test_a_waiting_run_is_told_its_expected_wait():
    clock = Clock()
    pool = RunPool(1, clock=clock)
    with pool.admit():
        clock.now += 5.0
    hold = pool.admit()
    hold.__enter__()
    clock.now += 2.0
    seen: list[Wait] = []
    t = threading.Thread(target=lambda: pool.admit(on_wait=seen.append, poll_s=0.01).__enter__())
    t.start()
    until(lambda: seen)
    assert seen[0].place == 1 and seen[0].running == 1 and seen[0].slots == 1
    assert seen[0].expected_s == pytest.approx(3.0)
    hold.__exit__(None, None, None)
    t.join(10)


def test_pool_size_from_the_environment_or_the_cpus():
    assert configured_slots({}) == (os.cpu_count() or 1)
    assert configured_slots({SLOTS_ENV_VAR: "3"}) == 3
    for bad in ("0", "-1", "two", "1.5", "100000"):
        with pytest.raises(ValueError, match=SLOTS_ENV_VAR):
            configured_slots({SLOTS_ENV_VAR: bad})
    with pytest.raises(ValueError):
        RunPool(0)


def test_a_run_gives_way_while_a_page_draws_and_goes_on_after():
    from app.runtime.admission import PagesFirst

    gate = PagesFirst(max_pause_s=5.0)
    resumed: list[float] = []

    def run():
        with gate.run():
            gate.pause_point()
            resumed.append(time.monotonic())

    with gate.page():
        assert gate.drawing == 1
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.2)
        assert not resumed                       # paused while the page draws
        ended = time.monotonic()
    t.join(5)
    assert resumed and resumed[0] >= ended and gate.drawing == 0


def test_pages_never_stop_runs_for_good_and_a_run_inside_a_page_is_no_page():
    from app.runtime.admission import PagesFirst

    gate = PagesFirst(max_pause_s=0.1, quantum_s=60)
    with gate.page():
        with gate.run():                         # the Run page's own run: no page is drawing now
            assert gate.drawing == 0
            gate.pause_point()
        assert gate.drawing == 1
        done = threading.Event()

        def run():
            with gate.run():
                t0 = time.monotonic()
                gate.pause_point()               # a page that never ends: paused at most max_pause_s
                gate.pause_point()               # then free for the quantum
                done.paused = time.monotonic() - t0
                done.set()
        threading.Thread(target=run).start()
        assert done.wait(5) and 0.09 <= done.paused < 1.0
    gate.pause_point()                           # a thread that is no run never pauses


def test_the_queue_as_a_waiting_visitor_reads_it():
    from app.ui.runs import queue_text

    first = queue_text(Wait(place=1, running=2, slots=2, expected_s=None, waited_s=3))
    assert "**1st** in the queue" in first and "2 runs in progress, 2 at a time" in first and "not known yet" in first
    later = queue_text(Wait(place=12, running=2, slots=2, expected_s=63.2, waited_s=40))
    assert "**12th**" in later and "expected wait about 65 s" in later
    assert "about 4 s" in queue_text(Wait(place=3, running=1, slots=2, expected_s=3.6, waited_s=0))
    assert "**22nd**" in queue_text(Wait(place=22, running=2, slots=2, expected_s=0.2, waited_s=0))
