"""The versions of the engine toolchain that are tested together (one place).

The Kubernetes provider is a snapshot of the provider module (the only one the Go module
proxy serves); its commit time, 2026-01-15 03:34:56 UTC, is the pre-release stamp of the
Python SDK `pulumi-kubernetes==4.25.0a1768448096`, generated from the same commit. The
provider is stamped with that version so the Python SDK and the plugin agree exactly and
the engine prints no version warning.
"""

from __future__ import annotations

PULUMI = "3.274.1"
PROVIDER_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
PROVIDER_PSEUDO = "v4.0.0-20260115033456-f47bc2d6f199"
PROVIDER = "4.25.0-alpha.1768448096"
PYTHON_PULUMI_KUBERNETES = "4.25.0a1768448096"
ETCD = "3.6.16"
KUBERNETES = "1.37.2"
KWOK = "0.8.0"
