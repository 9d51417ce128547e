"""Break one thing in a copy of the estate: helpers for the bad-input tests.

Each edit is a callable taking the estate root (the ``estate_copy`` fixture), so a
test case is data: which edit, and which problem (rule, file, field, words) it must
produce. List items are selected by their ``name``/``id`` (:class:`Key`), not by
position, so the cases keep meaning the same thing when the sample estate grows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from govcloud.model import EstateError, Problem, load_estate
from govcloud.model.problems import field_path

Edit = Callable[[Path], None]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Key:
    """A list item picked by its ``name`` (or ``id``) instead of its index."""

    value: str

    def index(self, items: list[Any]) -> int:
        for i, item in enumerate(items):
            if isinstance(item, dict) and self.value in (item.get("name"), item.get("id")):
                return i
        raise LookupError(f"no item named {self.value!r}")


PathPart = str | int | Key


def resolve(data: Any, path: Sequence[PathPart]) -> tuple[str | int, ...]:
    """Turn ``("flows", Key("ops-access"), "chain")`` into ``("flows", 7, "chain")``."""
    out: list[str | int] = []
    node = data
    for part in path:
        step = part.index(node) if isinstance(part, Key) else part
        out.append(step)
        # the last step may name a key the edit is about to add
        node = node.get(step) if isinstance(node, dict) else node[step] if node else None
    return tuple(out)


def expected_field(root: Path, file: str, path: Sequence[PathPart]) -> str:
    """The dotted field a problem should name, with keys resolved in the edited file."""
    if not any(isinstance(p, Key) for p in path):
        return field_path(*path)
    return field_path(*resolve(load(root, file), path))


def load(root: Path, file: str) -> Any:
    return yaml.load((root / file).read_text(encoding="utf-8"), Loader=_LOADER)


def dump(root: Path, file: str, data: Any) -> None:
    text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)
    (root / file).write_text(text, encoding="utf-8")


def edit(file: str, change: Callable[[Any], None]) -> Edit:
    """Load ``file`` from the estate root, apply ``change`` to its data, write it back."""

    def apply(root: Path) -> None:
        data = load(root, file)
        change(data)
        dump(root, file, data)

    return apply


def _parent(data: Any, path: Sequence[PathPart]) -> tuple[Any, str | int]:
    steps = resolve(data, path)
    node = data
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def set_(file: str, path: Sequence[PathPart], value: Any) -> Edit:
    """Set the value at ``path`` (the key may be new)."""

    def change(data: Any) -> None:
        node, last = _parent(data, path)
        node[last] = value

    return edit(file, change)


def delete(file: str, path: Sequence[PathPart]) -> Edit:
    """Remove the key or list item at ``path``."""

    def change(data: Any) -> None:
        node, last = _parent(data, path)
        del node[last]

    return edit(file, change)


def append(file: str, path: Sequence[PathPart], value: Any) -> Edit:
    """Append ``value`` to the list at ``path``."""

    def change(data: Any) -> None:
        node, last = _parent(data, path)
        node[last].append(value)

    return edit(file, change)


def copy_item(file: str, path: Sequence[PathPart], **changes: Any) -> Edit:
    """Append a copy of the list item at ``path`` to its list, with ``changes`` applied."""

    def change(data: Any) -> None:
        node, last = _parent(data, path)
        node.append({**node[last], **changes})

    return edit(file, change)


def write_text(file: str, text: str) -> Edit:
    def apply(root: Path) -> None:
        (root / file).write_text(text, encoding="utf-8")

    return apply


def write_bytes(file: str, data: bytes) -> Edit:
    def apply(root: Path) -> None:
        (root / file).write_bytes(data)

    return apply


def remove_file(file: str) -> Edit:
    def apply(root: Path) -> None:
        (root / file).unlink()

    return apply


def rename_file(file: str, new: str) -> Edit:
    def apply(root: Path) -> None:
        (root / file).rename(root / new)

    return apply


def both(*edits: Edit) -> Edit:
    def apply(root: Path) -> None:
        for e in edits:
            e(root)

    return apply


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Bad:
    """One broken estate and the problem it must produce.

    ``also`` lists the other rules the same break legitimately triggers (removing a
    zone also leaves flows pointing at it); any rule outside ``{rule} | also`` fails
    the test, so a case cannot pass by accident on an unrelated problem.
    """

    edit: Edit
    rule: str
    file: str
    field: str | Sequence[PathPart]  # a literal, or a path whose Keys resolve in ``file``
    words: tuple[str, ...]
    also: frozenset[str] = field(default_factory=frozenset)


def assert_problem(root: Path, case: Bad) -> Problem:
    """Apply ``case.edit`` to ``root``, load it, and return the problem it names."""
    case.edit(root)
    with pytest.raises(EstateError) as info:
        load_estate(root)
    err = info.value
    assert err.rules() <= {case.rule} | case.also, err.render()
    want_field = (
        case.field if isinstance(case.field, str) else expected_field(root, case.file, case.field)
    )
    matches = [
        p
        for p in err.problems
        if (p.rule, p.file, p.field) == (case.rule, case.file, want_field)
        and all(word in p.message for word in case.words)
    ]
    assert len(matches) == 1, (
        f"want one [{case.rule}] at {case.file}: {want_field} saying {case.words}\n"
        f"{err.render()}"
    )
    problem = matches[0]
    # the rendered line is what the operator reads: file, field and rule all on it
    where = f"{case.file}: {want_field}" if want_field else case.file
    assert f"  {where}: [{case.rule}] {problem.message}" in err.render().splitlines()
    return problem
