"""``govcloud validate``: check the estate data and nothing else (kubespray-style gate)."""

from __future__ import annotations

import argparse

from govcloud.model import load_estate


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate the estate data (exit 2 on any problem)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    estate = load_estate(args.estate)
    systems = estate.systems()
    print(
        f"estate {estate.cloud.name} is valid: {len(estate.sites)} sites, {len(estate.zones)} "
        f"zones, {len(estate.flows)} flows, {len(estate.appliances)} appliances, "
        f"{len(estate.departments)} departments, {len(systems)} systems"
    )
    return 0
