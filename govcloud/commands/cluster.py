"""``govcloud cluster up | status | down`` — a Kubernetes control plane per site (KWOK).

Needs the engine toolchain (`scripts/setup --engine`). Independent of the lab: either
runs without the other.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="per-site Kubernetes control planes (kwokctl, loopback)",
                       description=__doc__)
    csub = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    up = csub.add_parser("up", help="create or restart the control planes, nodes and storage")
    up.add_argument("--site", action="append", metavar="SITE",
                    help="only this site (repeatable; default: every stack's site)")
    csub.add_parser("status", help="state, API server, nodes and volumes per site; kubeconfig")
    csub.add_parser("down", help="delete every control plane this clone created")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govcloud.cli import CommandError
    from govcloud.engine import cluster

    try:
        if args.cluster_command == "up":
            cluster.up(args.site)
            return 0
        if args.cluster_command == "status":
            rows = cluster.status()
            cols = ["site", "context", "state", "server", "nodes", "volumes"]
            widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
            print("  ".join(c.ljust(widths[c]) for c in cols))
            for r in rows:
                print("  ".join(r[c].ljust(widths[c]) for c in cols))
            print(f"kubeconfig: {cluster.kubeconfig_path()}"
                  + ("" if cluster.kubeconfig_path().exists() else " (absent: cluster up)"))
            return 0
        if args.cluster_command == "down":
            return 1 if cluster.down() else 0
    except cluster.ClusterError as exc:
        raise CommandError(str(exc)) from None
    return 2
