"""`python -m app`: the command line.

Each command lives in ``app/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``. The list below is the only
place commands are named.

Every failure is one line on standard error, ``error: ...``, and an exit code from
:mod:`app.commands.common` (0 ok, 1 a check failed, 2 bad input, 3 not available for
this case, 4 the environment refused: an output, AWS or a profile).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from app.commands.common import EXIT_ENVIRONMENT, EXIT_UNAVAILABLE, EXIT_USAGE, OutputError
from app.core.cases import MissingPart
from app.core.params import ParamError

COMMANDS = (
    "app.commands.list",
    "app.commands.diagram",
    "app.commands.bench",
    "app.commands.simulate",
    "app.commands.params",
    "app.commands.prices",
    "app.commands.run",
    "app.commands.report",
    "app.commands.cleanup",
    "app.commands.check_case",
    "app.commands.bank",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app",
                                     description="Serverless Architecture Explorer: explore, render, simulate "
                                                 "and run serverless reference architectures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from app.runtime.live import AwsUnavailable

    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()       # an output that cannot take it fails here, not at exit
        return code
    except MissingPart as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ParamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OutputError, AwsUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except OSError as exc:       # standard output refused what was printed (a full disk, /dev/full)
        _drop_stdout()
        print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT


def _drop_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
