"""Entry point of the CrossGuard policy pack: ``pulumi preview --policy-pack policies``.

The Pulumi engine runs this file as a program; ``PolicyPack(...)`` then serves the
policies to the engine over gRPC and never returns, so it is created only when run as
the main program. Tests import :mod:`policies.crossguard` and build the same policy list
without starting anything.
"""

from __future__ import annotations


def main() -> None:
    from pulumi_policy import PolicyPack

    from policies.crossguard import pack_kwargs

    PolicyPack(**pack_kwargs())


if __name__ == "__main__":
    main()
