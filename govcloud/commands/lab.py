"""``govcloud lab up | deploy | status | verify | down | inventory`` — the local lab.

The lab instance name comes from ``$GOVCLOUD_LAB_NAME`` (default ``govlab``); every
namespace, machine and state directory carries it, so several labs coexist.
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="the local three-site lab (namespaces + nspawn hosts)",
                       description=__doc__)
    lsub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = lsub.add_parser("up", help="build (image, network, hosts) and boot the lab")
    up.add_argument("--deploy", action="store_true", help="deploy every role after booting")
    dep = lsub.add_parser("deploy", help="apply each host's roles with pyinfra (from the fabric)")
    dep.add_argument("--limit", help="pyinfra --limit (host or group name)")
    st = lsub.add_parser("status", help="hosts, addresses, sshd and systemd health")
    st.add_argument("--json", action="store_true")
    lsub.add_parser("down", help="stop every host, remove mounts and namespaces")
    inv = lsub.add_parser("inventory", help="regenerate inventories/<site>.yml from the model")
    inv.add_argument("--check", action="store_true", help="fail if the committed files differ")
    ex = lsub.add_parser("exec", help="run a shell command on a lab host")
    ex.add_argument("host")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govcloud.cli import CommandError
    from govcloud.lab.engine import Lab, LabError
    from govcloud.lab.topology import load_topology
    from govcloud.model import load_estate

    estate = load_estate(args.estate) if args.estate else None
    topo = load_topology(estate)
    lab = Lab(topology=topo)
    try:
        if args.lab_command == "up":
            lab.up()
            if args.deploy:
                from govcloud.lab.deploy import deploy

                deploy(lab)
            return 0
        if args.lab_command == "deploy":
            from govcloud.lab.deploy import deploy

            if not lab.is_up():
                raise CommandError(f"lab {lab.name} is not up (govcloud lab up)")
            result = deploy(lab, limit=args.limit)
            return 0 if result.ok else 1
        if args.lab_command == "status":
            rows = lab.status()
            if args.json:
                print(json.dumps(rows, indent=2))
                return 0
            print(f"lab {lab.name}: {'up' if lab.is_up() else 'down'}")
            cols = ["host", "site", "zone", "address", "nspawn", "ssh", "systemd", "services",
                    "failed", "roles"]
            widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
            print("  ".join(c.ljust(widths[c]) for c in cols))
            for r in rows:
                print("  ".join(r[c].ljust(widths[c]) for c in cols))
            cuts = lab.cuts() if lab.is_up() else {}
            if cuts:
                print("cut links: " + ", ".join(f"{k} ({v})" for k, v in sorted(cuts.items())))
            return 0
        if args.lab_command == "down":
            return 1 if lab.down() else 0
        if args.lab_command == "inventory":
            from govcloud.lab.inventory import INVENTORIES, site_inventory_yaml

            stale = []
            for site in topo.profile.sites:
                path = INVENTORIES / f"{site.value}.yml"
                text = site_inventory_yaml(topo, site)
                if args.check:
                    if not path.exists() or path.read_text() != text:
                        stale.append(str(path))
                else:
                    path.write_text(text)
                    print(f"wrote {path}")
            if stale:
                raise CommandError("out of date (run govcloud lab inventory): "
                                   + ", ".join(stale))
            return 0
        if args.lab_command == "exec":
            res = lab.exec_on(args.host, " ".join(args.cmd))
            print(res.stdout, end="")
            print(res.stderr, end="")
            return res.returncode
    except LabError as exc:
        raise CommandError(str(exc)) from exc
    except KeyError as exc:
        raise CommandError(str(exc.args[0] if exc.args else exc)) from exc
    return 2
