"""Deploy-time secrets, resolved on the control machine, never stored in inventories.

Roles carry only a secret's *name* in their data (inventories are generated files and
may be committed); ``apply()`` resolves the name here when it renders a template. The
store is a root-only directory (``$GOVCLOUD_SECRETS_DIR``, default
``/var/lib/govcloud-lab/secrets``): passwords and OATH (TOTP) seeds are HMAC-SHA256 of
a random seed kept there, SSH key pairs are generated there once. Point the variable at
a directory your vault agent maintains to use real secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
import subprocess
from pathlib import Path


def store() -> Path:
    d = Path(os.environ.get("GOVCLOUD_SECRETS_DIR", "/var/lib/govcloud-lab/secrets"))
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def _seed() -> bytes:
    path = store() / "seed"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.rename(path)
    return path.read_text().strip().encode()


def password(name: str) -> str:
    """A stable password for ``name`` (same seed, same name -> same password)."""
    return hmac.new(_seed(), name.encode(), hashlib.sha256).hexdigest()[:32]


def totp_seed(name: str) -> str:
    """A stable OATH (HOTP/TOTP) secret for ``name``, as 40 hex digits (160 bits, the
    size RFC 4226 recommends); domain-separated from :func:`password` of the same name."""
    return hmac.new(_seed(), b"oath/" + name.encode(), hashlib.sha256).hexdigest()[:40]


def keypair(name: str) -> tuple[str, str]:
    """``(private, public)`` OpenSSH ed25519 key pair ``name``, generated on first use."""
    key = store() / f"{name}_ed25519"
    if not key.exists():
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"govcloud-{name}",
                "-f",
                str(key),
            ],
            check=True,
        )
    return key.read_text().strip(), key.with_suffix(".pub").read_text().strip()
