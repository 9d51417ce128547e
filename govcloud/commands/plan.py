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


def _changes(changes: list) -> str:
    """Since the previous plan in the same directory: Pulumi preview's create/update/delete."""
    if not changes:
        return "  since the previous plan: no changes"
    counts = {a: sum(1 for c in changes if c.action == a) for a in ("create", "update", "delete")}
    head = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
    return "\n".join([f"  since the previous plan: {head}", *(f"    {c}" for c in changes)])


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
        print(f"  images: {len(rendered.images)} containers, "
              f"{len({line.rsplit(' ', 1)[-1] for line in rendered.images})} distinct digests "
              f"({rendered.directory}/images.txt)")
        if rendered.changes is not None:
            print(_changes(rendered.changes))
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
