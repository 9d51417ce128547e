"""deploy.py applies roles from one call site each, in one global order (see its docstring)."""

from __future__ import annotations

import ast
from pathlib import Path

from govcloud.lab.profile import RESERVED_ROLES, load_profile
from govcloud.model import Estate

DEPLOY = Path(__file__).resolve().parents[2] / "deploy.py"


def _calls() -> list[str]:
    tree = ast.parse(DEPLOY.read_text())
    return [node.value.args[0].value for node in tree.body
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", "") == "_apply"]


def _order() -> tuple[str, ...]:
    tree = ast.parse(DEPLOY.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ORDER":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("deploy.py has no ORDER")


def test_one_call_site_per_role_in_order() -> None:
    assert _calls() == list(_order())
    assert len(set(_calls())) == len(_calls())


def test_order_covers_reserved_roles() -> None:
    assert set(RESERVED_ROLES) <= set(_order())


def test_order_agrees_with_every_host_in_the_profile(estate: Estate) -> None:
    order = _order()
    for spec in load_profile(estate).hosts:
        ranks = [order.index(r) for r in spec.roles]
        assert ranks == sorted(ranks), f"host {spec.function}: roles {spec.roles} vs {order}"
