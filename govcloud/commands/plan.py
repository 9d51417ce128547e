"""``govcloud plan``: the site stacks' offline plan (no Pulumi CLI, no cluster).

Runs the real stack program under Pulumi's mock runtime for each stack, prints what it
would create (by kind and by department), writes the rendered Kubernetes manifests to
``out/plan/<stack>/`` and validates every one against the Kubernetes schema. Exit 0
when every manifest is valid, 1 with the list of schema errors otherwise, 2 when the
estate itself is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from govcloud.model.loader import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "out" / "plan"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="offline plan of the site stacks: render and schema-validate manifests"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--stack", action="append", metavar="NAME",
                       help="plan this stack (repeatable)")
    which.add_argument("--all", action="store_true", help="plan every stack (the default)")
    p.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT,
                   help=f"write manifests under DIR/<stack>/ (default: {DEFAULT_OUT})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from components.common import KUBERNETES_VERSION
    from govcloud.cli import CommandError
    from govcloud.plan import PlanError, plan_stack, stack_names
    from govcloud.plan.render import render, summary

    stacks = args.stack or stack_names()
    if not stacks:
        raise CommandError("no stacks found (stacks/Pulumi.<stack>.yaml)")
    problems = []
    for stack in stacks:
        try:
            plan = plan_stack(stack, args.estate)
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        rendered = render(plan, args.out, KUBERNETES_VERSION)
        print(summary(plan))
        print(f"  rendered {len(rendered.files)} manifests to {rendered.directory}")
        status = "OK" if not rendered.problems else f"{len(rendered.problems)} error(s)"
        print(f"  schema (Kubernetes {KUBERNETES_VERSION}, strict): {status}")
        problems += rendered.problems
    if problems:
        raise CommandError(
            f"{len(problems)} manifest(s) failed Kubernetes {KUBERNETES_VERSION} schema "
            "validation:\n" + "\n".join(f"  {p}" for p in problems),
            1,
        )
    return 0
