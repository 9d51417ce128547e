"""``govcloud preview | up | refresh | destroy [--stack S]... | --all`` — the real engine.

Runs the unchanged ``stacks/__main__.py`` under the real Pulumi CLI and Kubernetes
provider through the Automation API (no Python language host is served here), with the
policy pack as an analyzer on preview and up. On a machine with a stock Pulumi install,
``pulumi up -s <stack>`` in the repo root does the same.
"""

from __future__ import annotations

import argparse

OPERATIONS = {
    "preview": "show what the engine would change on each site (policy pack on)",
    "up": "apply the site stacks to their clusters (policy pack on)",
    "refresh": "compare the engine's state with the clusters (drift)",
    "destroy": "delete everything the site stacks made",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    from govcloud.engine.stacks import CHECKPOINTS

    for op, text in OPERATIONS.items():
        p = sub.add_parser(op, help=text, description=__doc__)
        which = p.add_mutually_exclusive_group()
        which.add_argument("--stack", action="append", metavar="NAME",
                           help="this stack (repeatable)")
        which.add_argument("--all", action="store_true", help="every stack (the default)")
        if op in ("preview", "up"):
            p.add_argument("--no-policy", action="store_true",
                           help="skip the policy pack (it runs by default)")
        if op != "preview":
            p.add_argument("--checkpoints", choices=tuple(CHECKPOINTS), default="step",
                           help="; ".join(f"{k}: {v}" for k, v in CHECKPOINTS.items()))
        p.set_defaults(func=run, operation=op)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from govcloud.cli import CommandError
    from govcloud.engine import stacks as engine
    from govcloud.plan import stack_names

    known = stack_names()
    chosen = args.stack or known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise CommandError(f"no stack {', '.join(unknown)} (known: {', '.join(known)})")
    policy = args.operation in ("preview", "up") and not args.no_policy
    estate = Path(args.estate).resolve() if args.estate else None
    totals = []
    for stack in chosen:
        print(f"== {args.operation} {stack}" + (" (policy pack on)" if policy else ""))
        try:
            out = engine.run(stack, args.operation, estate=estate, policy=policy,
                             checkpoints=getattr(args, "checkpoints", "step"))
        except engine.EngineError as exc:
            raise CommandError(str(exc)) from None
        summary = ", ".join(f"{op} {n}" for op, n in sorted(out.summary.items()))
        totals.append(f"{stack}: {summary or 'nothing'} ({out.seconds:.1f} s)")
    print("\n".join(["== summary", *totals]))
    return 0
