"""The Pulumi project and stack files: what the real CLI reads."""

from __future__ import annotations

import base64

import pytest
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from govcloud.model import SiteName
from govcloud.model.loader import REPO_ROOT

# The sample stacks' passphrase (README: "Pulumi stacks and the offline plan").
SAMPLE_PASSPHRASE = "govcloud-sample-only"
ALLOWED_KEYS = {"govcloud:site", "govcloud:kubeContext", "govcloud:backupRepoKey"}


def test_project_file() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "govcloud"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["main"] == "stacks/"
    assert project["stackConfigDir"] == "stacks"
    assert (REPO_ROOT / "stacks" / "__main__.py").is_file()


@pytest.mark.parametrize("site", list(SiteName))
def test_stack_file_holds_only_site_context_and_secrets(site: SiteName) -> None:
    data = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{site}.yaml").read_text())
    config = data["config"]
    assert set(config) <= ALLOWED_KEYS
    assert config["govcloud:site"] == str(site)
    assert isinstance(config["govcloud:kubeContext"], str)
    assert set(config["govcloud:backupRepoKey"]) == {"secure"}


def _decrypt(key: bytes, text: str) -> str:
    _, nonce, sealed = text.split(":")
    return AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()


@pytest.mark.parametrize("site", list(SiteName))
def test_secure_values_are_real_passphrase_ciphertext(site: SiteName) -> None:
    """The committed values decrypt the way `pulumi` does (PBKDF2-SHA256 x 1e6, AES-GCM)."""
    data = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{site}.yaml").read_text())
    _, salt, check = data["encryptionsalt"].split(":", 2)
    key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=base64.b64decode(salt),
                     iterations=1_000_000).derive(SAMPLE_PASSPHRASE.encode())
    assert _decrypt(key, check) == "pulumi"
    assert len(_decrypt(key, data["config"]["govcloud:backupRepoKey"]["secure"])) >= 24


def test_program_uses_an_explicit_provider_and_exports(stack_plans: dict) -> None:
    for stack, plan in stack_plans.items():
        providers = [r for r in plan.resources if r.type.startswith("pulumi:providers:")]
        assert [(p.name, p.props) for p in providers] == [
            (f"{stack}-k8s", {"context": f"{stack}-prod"})]
        assert plan.outputs["site"] == stack
        assert len(plan.outputs["namespaces"]) >= 20
        assert len(plan.outputs["systems"]) >= 30
