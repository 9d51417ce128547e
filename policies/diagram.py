"""The segmentation diagram: zones, allowed flows and each flow's appliance chain.

Generated from the flow matrix (``estate.flows``) and the zone list, never drawn by
hand, so the picture in the compliance report is the policy that is enforced.
Rendering needs graphviz ``dot`` (Debian package ``graphviz``, in scripts/apt-packages.txt).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from govcloud.model import Direction, Estate, External, FlowMode, Zone

_EXTERNAL_TITLES = {
    External.PUBLIC_INTERNET: "互联网 public Internet",
    External.EGOV_WAN: "电子政务外网 e-gov WAN",
    External.DEPARTMENT_VPN: "委办局专线/VPN",
}


# CJK-capable font for the PNG (Debian fonts-wqy-microhei); SVG viewers fall back to theirs.
FONT = '"WenQuanYi Micro Hei,sans-serif"'


def _q(text: str) -> str:
    """A DOT string; ``\\n`` in ``text`` stays a DOT line break."""
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(estate: Estate) -> str:
    """DOT source: one node per zone (with its CIDRs) and external network, one edge per flow."""
    lines = [
        "digraph segmentation {",
        f"  graph [rankdir=TB, nodesep=0.6, ranksep=0.9, fontname={FONT}, fontsize=11, "
        'labelloc=t, label="Segmentation: the flow matrix (default deny; anything not drawn '
        'is refused)"];',
        f'  node [shape=box, style="rounded,filled", fontname={FONT}, fontsize=10];',
        f"  edge [fontname={FONT}, fontsize=8];",
        '  subgraph cluster_outside { label="outside the cloud"; style=dashed;',
    ]
    used_ext = {
        e for f in estate.flows for e in (f.source, f.destination) if isinstance(e, External)
    }
    for ext in External:
        if ext in used_ext:
            lines.append(
                f"    {_q(ext.value)} [label={_q(_EXTERNAL_TITLES[ext])}, fillcolor=white];"
            )
    lines.append("  }")
    lines.append(
        '  subgraph cluster_cloud { label="the cloud (each zone on every site)"; style=solid;'
    )
    colours = {
        Zone.INTERNET: "#fde2e2",
        Zone.EXTRANET: "#e2effd",
        Zone.DEDICATED: "#e7f7e2",
        Zone.MANAGEMENT: "#fff4d6",
        Zone.SECURITY_MANAGEMENT: "#efe2fd",
    }
    for z in estate.zones:
        cidrs = "\\n".join(f"{s}: {c}" for s, c in z.cidrs.items())
        label = f"{z.title} {z.name}\\n{cidrs}"
        fill = _q(colours.get(z.name, "#eeeeee"))
        lines.append(f'    {_q(z.name.value)} [label="{label}", fillcolor={fill}];')
    lines.append("  }")
    for f in estate.flows:
        ports = ", ".join(str(p) for p in f.ports)
        chain = " → ".join(str(k) for k in f.chain)
        label = f"{f.id}\\n{ports}\\n[{chain}]"
        attrs = [f"label={_q(label)}"]
        if f.mode == FlowMode.FERRY:
            attrs += ["style=dashed", 'color="#b00000"', 'fontcolor="#b00000"']
        if f.direction == Direction.BIDIRECTIONAL:
            attrs.append("dir=both")
        if not f.same_department:
            attrs.append('color="#555555"')
        lines.append(f"  {_q(str(f.source))} -> {_q(str(f.destination))} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(estate: Estate, out: Path, stem: str = "segmentation") -> list[Path]:
    """Write ``<stem>.dot`` and render it to SVG and PNG with ``dot``; returns the files."""
    dot = shutil.which("dot")
    if dot is None:
        raise FileNotFoundError("graphviz 'dot' is not installed (apt-get install graphviz)")
    out.mkdir(parents=True, exist_ok=True)
    src = out / f"{stem}.dot"
    src.write_text(to_dot(estate), encoding="utf-8")
    files = [src]
    for fmt in ("svg", "png"):
        target = out / f"{stem}.{fmt}"
        subprocess.run(
            [
                dot,
                f"-T{fmt}",
                "-Gdpi=110" if fmt == "png" else "-Gdpi=72",
                str(src),
                "-o",
                str(target),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        files.append(target)
    return files
