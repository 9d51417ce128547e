"""Deploy the roles onto the running lab with pyinfra, from the fabric namespace.

Runs ``pyinfra -y inventories/lab.py deploy.py`` under ``ip netns exec <lab>-fabric``
(so every packet stays inside the lab) and parses pyinfra's results table, so callers
get numbers rather than a log: operations, changed, errors, no-change, seconds. The
idempotency test asserts ``changed == 0`` on a second run from these figures; the full
log is kept in the lab's state dir (``deploy-<n>.log``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.lab.engine import Lab, LabError

REPO = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\s{4}(?P<op>.+?)\s{2,}(?P<hosts>\d+)\s+(?P<ok>\d+|-)\s+(?P<err>\d+|-)\s+"
                  r"(?P<nochange>\d+|-)\s*$")


@dataclass
class DeployResult:
    ok: bool
    seconds: float
    operations: int = 0  # host-operations run
    changed: int = 0
    errors: int = 0
    no_change: int = 0
    changed_ops: list[str] = field(default_factory=list)
    error_ops: list[str] = field(default_factory=list)
    log: Path | None = None
    returncode: int = 0

    def summary(self) -> str:
        return (f"{self.operations} host-operations, {self.changed} changed, "
                f"{self.errors} errors, {self.no_change} unchanged in {self.seconds:.1f}s")


def _num(text: str) -> int:
    return 0 if text == "-" else int(text)


def parse_results(output: str) -> DeployResult:
    """Parse the ``--> Results:`` table pyinfra 3 prints at the end of a run."""
    res = DeployResult(ok=False, seconds=0.0)
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("--> Results:"))
    except StopIteration:
        return res
    for line in lines[start + 2:]:
        m = _ROW.match(line)
        if not m:
            if line.strip() and not line.startswith("    "):
                break
            continue
        op = m["op"].strip()
        if op == "Grand total":
            res.operations = _num(m["hosts"])
            res.changed, res.errors = _num(m["ok"]), _num(m["err"])
            res.no_change = _num(m["nochange"])
            continue
        if _num(m["ok"]):
            res.changed_ops.append(op)
        if _num(m["err"]):
            res.error_ops.append(op)
    res.ok = res.operations > 0 and res.errors == 0
    return res


def deploy(lab: Lab, limit: str | None = None, roles: list[str] | None = None,
           say: object = print, parallel: int = 24) -> DeployResult:
    """Apply every host's roles (or only ``roles``), return parsed figures."""
    if not lab.is_up():
        raise LabError(f"lab {lab.name} is not up")
    n = len(list(lab.state_dir.glob("deploy-*.log"))) + 1
    log = lab.state_dir / f"deploy-{n}.log"
    cmd = [str(Path(sys.executable).with_name("pyinfra")), "-y", "--parallel", str(parallel),
           "inventories/lab.py", "deploy.py"]
    if limit:
        cmd += ["--limit", limit]
    env = {"GOVCLOUD_LAB_NAME": lab.name, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    if roles:
        env["GOVCLOUD_ROLES"] = ",".join(roles)
    t0 = time.monotonic()
    # streamed to the log as it runs (tail -f it to watch a long first deploy)
    with open(log, "w") as fh:
        rc = subprocess.run(["ip", "netns", "exec", lab.fabric, *cmd], cwd=REPO,
                            stdout=fh, stderr=subprocess.STDOUT, text=True,
                            env={**_base_env(), **env}).returncode
    seconds = time.monotonic() - t0
    text = log.read_text()
    out = parse_results(text)
    out.seconds, out.log, out.returncode = seconds, log, rc
    out.ok = out.ok and rc == 0
    if callable(say):
        say(f"deploy #{n}: {out.summary()} (log: {log})")
        for op in out.error_ops:
            say(f"  error in: {op}")
        if not out.ok and not out.error_ops:
            tail = "\n".join(text.strip().splitlines()[-15:])
            say(f"  pyinfra exited {rc}:\n{tail}")
    return out


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("GOVCLOUD_ROLES",)}
