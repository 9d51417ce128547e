"""The ``govcloud`` console command.

Subcommands live in :mod:`govcloud.commands`, one module each, exposing
``add_parser(subparsers)``; heavy imports (Pulumi, pyinfra, matplotlib) happen inside
the command, so ``govcloud validate`` stays fast. Bad input never shows a traceback:
estate problems exit 2, other refusals (:class:`CommandError`) exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from govcloud.model import EstateError

# Module names under govcloud.commands, in the order `govcloud --help` lists them.
COMMANDS = [
    "validate",
    "plan",
    "tenants",
    "lab",
    "compliance",
    "drill",
    "cluster",
    "engine",
]


class CommandError(Exception):
    """A refusal with a message for the operator (exit status ``code``)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govcloud",
        description="Two-region e-government cloud (两地三中心): plan, validate, lab, drills.",
    )
    parser.add_argument(
        "--estate", metavar="DIR", help="estate data directory (default: the repo's estate/)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"govcloud.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EstateError as exc:
        print(exc.render(), file=sys.stderr)
        print("nothing was rendered or applied.", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"govcloud {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # `python -m govcloud.cli` runs this file as __main__; the commands raise the
    # CommandError of the importable module, so run that module's main
    from govcloud.cli import main as _main

    sys.exit(_main())
