"""The site stack program: one program, three stacks (Pulumi.<site>.yaml).

Runs unchanged under ``pulumi preview -s region-a-dc1`` and in-process under the
offline plan (``govcloud plan``), which installs Pulumi's mock runtime and sets the
same stack config. Stack config holds only the site selector, the kube context and
secrets; everything else comes from the estate model.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.site import build_site
from govcloud import tenancy
from govcloud.model import EstateError, SiteName, load_estate

config = pulumi.Config("govcloud")
site = SiteName(config.require("site"))
try:
    # `estate` is only set by the offline plan (to plan another estate directory)
    estate = load_estate(config.get("estate"))
except EstateError as exc:
    raise pulumi.RunError(exc.render()) from None

provider = k8s.Provider(f"{site}-k8s", context=config.require("kubeContext"))
built = build_site(
    estate,
    site,
    provider=provider,
    backup_key=config.require_secret("backupRepoKey"),
    systems=tenancy.systems_for_stacks(estate),
)

pulumi.export("site", str(site))
pulumi.export(
    "namespaces", sorted(ns for t in built.tenants.values() for ns in t.namespaces.values())
)
pulumi.export("systems", sorted(built.placements))
pulumi.export(
    "quota",
    {
        "vcpu": str(sum((q.vcpu for q in built.quotas.values()), start=0)),
        "memoryGi": str(sum((q.memory for q in built.quotas.values()), start=0) / 2**30),
        "storageGi": str(sum((q.storage for q in built.quotas.values()), start=0) / 2**30),
    },
)
