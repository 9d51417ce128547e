"""Render a role's Jinja templates — the one rendering path for deploys and unit tests.

Why: the fast unit tests check the configuration a role would write (from model data)
without a host, so they must use the same Jinja settings as the deploy — otherwise a
template that renders in a test could still fail on a host. Pure functions, no I/O
beyond reading the template file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template


def render(role_file: str, name: str, **context: Any) -> str:
    """Render ``templates/<name>`` of the role whose ``__file__`` is ``role_file``."""
    text = (Path(role_file).resolve().parent / "templates" / name).read_text(encoding="utf-8")
    # pyinfra's get_template settings plus block trimming; roles upload the result with
    # files.put, so the text a unit test checks is byte for byte what lands on the host
    return Template(text, keep_trailing_newline=True, undefined=StrictUndefined,
                    trim_blocks=True, lstrip_blocks=True).render(**context)
