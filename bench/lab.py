"""Lab timings: image build, ``lab up`` (fresh image / cached image), first deploy,
no-op re-deploy, ``lab down``. Prints figures; asserts nothing (performance is measured
here, never in pytest).

    sudo GOVCLOUD_LAB_NAME=bench .venv/bin/python bench/lab.py [--fresh-image]

``--fresh-image`` deletes this package list's cached image first, so ``up`` includes
debootstrap and the .deb pre-download (the "fresh machine" figure).
"""

from __future__ import annotations

import argparse
import shutil
import time

from govcloud.lab import Lab
from govcloud.lab import image as img
from govcloud.lab.deploy import deploy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--fresh-image", action="store_true")
    args = p.parse_args()
    lab = Lab()
    if lab.is_up():
        lab.down(say=lambda m: None)
    if args.fresh_image:
        key = img.image_key()
        for path in (img.CACHE / f"base-{key}", img.CACHE / f"base-{key}.tar.zst"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    figures: list[tuple[str, str]] = []
    try:
        t0 = time.monotonic()
        steps = lab.up(say=lambda m: None)
        figures.append((f"lab up ({'fresh image' if args.fresh_image else 'cached image'})",
                        f"{time.monotonic() - t0:.1f}s"))
        figures += [(f"  {k}", f"{v:.1f}s") for k, v in steps.items() if k != "total"]
        first = deploy(lab, say=None)
        figures.append(("first deploy", f"{first.seconds:.1f}s ({first.summary()})"))
        second = deploy(lab, say=None)
        figures.append(("no-op re-deploy", f"{second.seconds:.1f}s ({second.summary()})"))
        figures.append(("re-deploy / first deploy", f"{second.seconds / first.seconds:.0%}"))
    finally:
        t0 = time.monotonic()
        left = lab.down(say=lambda m: None)
        figures.append(("lab down", f"{time.monotonic() - t0:.1f}s, leftovers: {left or 'none'}"))
    hosts = len(lab.topology.hosts)
    print(f"lab bench ({hosts} hosts, {len(lab.topology.profile.sites)} sites)")
    for label, value in figures:
        print(f"  {label:<40} {value}")


if __name__ == "__main__":
    main()
