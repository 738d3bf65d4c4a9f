"""`python -m app`: the command line.

Each command lives in ``app/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``. The list below is the only
place commands are named.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from app.core.params import ParamError

COMMANDS = (
    "app.commands.list",
    "app.commands.diagram",
    "app.commands.bench",
    "app.commands.simulate",
    "app.commands.params",
    "app.commands.prices",
    "app.commands.run",
    "app.commands.cleanup",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app",
                                     description="Serverless Architecture Explorer: explore, render, simulate "
                                                 "and run six serverless reference architectures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
