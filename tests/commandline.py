"""`python -m app ARGS` from a test: in this process through ``app.cli.main``, or in a process of its own.

:func:`cli` runs a command in-process with the environment a fresh process of the test would see (no
``AWS_*`` variables, no endpoint override, ``HOME`` in ``tests/`` so no profile of the machine is read)
and returns what the process would have: its exit code, standard output and standard error.
:func:`cli_process` runs one command as a real process; :func:`cli_batch` runs many commands in one
real process (``python -m tests.commandline``), for tests about what a process writes anywhere.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _outside(name: str) -> bool:
    """Variables of the machine a command of the test must not see."""
    return name.startswith("AWS_") or name == "EXPLORER_AWS_ENDPOINT_URL"


def environment(env: dict | None = None) -> dict[str, str]:
    """The environment of a command: this process's, without the machine's AWS settings, plus ``env``."""
    full = {k: v for k, v in os.environ.items() if not _outside(k)}
    full.update(env or {}, PYTHONPATH=str(ROOT), HOME=str(ROOT / "tests"))
    return full


@contextmanager
def _environ(wanted: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(wanted)
    try:
        yield
    finally:
        # What the command set for the process stays, as it would in the process: the embedded backend,
        # started by the first command that needs it, sets the moto settings it runs with.
        kept = {k: v for k, v in os.environ.items() if k not in wanted}
        os.environ.clear()
        os.environ.update(saved)
        os.environ.update(kept)


def captured(args: list[str]) -> Ran:
    """Run ``main(args)`` here, catching what it prints; the exit code is what ``python -m app`` exits with."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:                    # the parser refused the command line
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Ran(code, out.getvalue(), err.getvalue())


def cli(*args: str, env: dict | None = None) -> Ran:
    """``python -m app ARGS`` in this process, in the environment :func:`environment` gives it."""
    with _environ(environment(env)):
        return captured(list(args))


def cli_process(*args: str, env: dict | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` as a process of its own."""
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, env=environment(env), timeout=180)


def cli_batch(commands: list[list[str]], env: dict | None = None,
              timeout: float = 900) -> tuple[list[Ran], subprocess.CompletedProcess]:
    """Every command of ``commands`` in turn, in one process: what each returned, and the process itself
    (its whole standard output, which holds every command's output, and its standard error)."""
    proc = subprocess.run([sys.executable, "-m", "tests.commandline"], cwd=ROOT, input=json.dumps(commands),
                          capture_output=True, text=True, env=environment(env), timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"the batch of commands failed: {proc.stderr[-2000:]}")
    return [Ran(**r) for r in json.loads(proc.stdout)], proc


if __name__ == "__main__":       # the process of cli_batch: commands as JSON on stdin, what each did on stdout
    ran = [captured(args).__dict__ for args in json.load(sys.stdin)]
    sys.stdout.write(json.dumps(ran))
