"""The real Pulumi engine and per-site Kubernetes control planes.

The offline `govcloud plan` needs none of this. This package builds the field's Go tools
(Pulumi CLI, Kubernetes provider, etcd, kube-apiserver & co., KWOK) from their Go modules,
runs a KWOK control plane per site, and drives the unchanged `stacks/__main__.py` through
Pulumi's Automation API, because no Python language host is served to this machine.
"""
