"""Controlled vocabulary of the estate.

Every name that other layers branch on is a StrEnum so that a typo in data is a
validation error, not a silently unmatched string.
"""

from __future__ import annotations

from enum import StrEnum


class SiteName(StrEnum):
    DC1 = "region-a-dc1"
    DC2 = "region-a-dc2"
    DR = "region-b-dr"


class SiteRole(StrEnum):
    ACTIVE = "active"
    DR = "dr"


class Region(StrEnum):
    A = "region-a"
    B = "region-b"


class Zone(StrEnum):
    """Network zones (安全区域) of the cloud."""

    INTERNET = "internet"  # 互联网区
    EXTRANET = "extranet"  # 政务外网区
    DEDICATED = "dedicated"  # 专用网络区
    MANAGEMENT = "management"  # 管理区
    SECURITY_MANAGEMENT = "security-management"  # 安全管理区


class External(StrEnum):
    """Networks outside the cloud that flows may start from or end at."""

    PUBLIC_INTERNET = "public-internet"  # 互联网
    EGOV_WAN = "egov-wan"  # 电子政务外网骨干
    DEPARTMENT_VPN = "department-vpn"  # 委办局专线/VPN 接入


class MlpsLevel(StrEnum):
    """等保 (GB/T 22239-2019) protection level. Data files may write the bare number."""

    L1 = "1"
    L2 = "2"
    L3 = "3"
    L4 = "4"

    @property
    def number(self) -> int:
        return int(self.value)


class DrTier(StrEnum):
    DUAL_ACTIVE = "dual-active"
    WARM_STANDBY = "warm-standby"
    BACKUP_ONLY = "backup-only"


class PlacementRole(StrEnum):
    """What a site does for a system under its DR tier."""

    ACTIVE = "active"
    STANDBY = "standby"
    BACKUP = "backup"


class ApplianceKind(StrEnum):
    FIREWALL = "firewall"
    WAF = "waf"
    IPS = "ips"
    IDS = "ids"
    ANTI_DDOS = "anti-ddos"
    LOAD_BALANCER = "load-balancer"
    GATEKEEPER = "gatekeeper"  # 网闸
    BASTION = "bastion"  # 堡垒机
    DB_AUDIT = "db-audit"
    LOG_AUDIT = "log-audit"
    BEHAVIOUR_AUDIT = "behaviour-audit"  # 上网行为审计 (an explicit proxy: inline)
    VPN_GATEWAY = "vpn-gateway"

    @property
    def passive(self) -> bool:
        """Sees a copy of the traffic (a mirror port, the hosts' own records) and never
        forwards it: placed by the flows it ``observes``, not by the chains."""
        return self in _PASSIVE


_PASSIVE = frozenset({ApplianceKind.IDS, ApplianceKind.DB_AUDIT, ApplianceKind.LOG_AUDIT})


class HaMode(StrEnum):
    STANDALONE = "standalone"
    ACTIVE_STANDBY = "active-standby"
    ACTIVE_ACTIVE = "active-active"
    CLUSTER = "cluster"


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"


class Direction(StrEnum):
    """Who may open a connection: only the source, or either end."""

    ONE_WAY = "one-way"
    BIDIRECTIONAL = "bidirectional"


class FlowMode(StrEnum):
    """Interactive = a session crosses; ferry = data is copied across (网闸摆渡), no session."""

    INTERACTIVE = "interactive"
    FERRY = "ferry"


class ComponentKind(StrEnum):
    WEB = "web"
    API = "api"
    WORKER = "worker"
    DATABASE = "database"
    CACHE = "cache"
    QUEUE = "queue"
    FILE_STORE = "file-store"


class ProbeUse(StrEnum):
    """What a probe decides: restart (liveness), traffic (readiness), start-up grace."""

    LIVENESS = "liveness"
    READINESS = "readiness"
    STARTUP = "startup"


class ProbeType(StrEnum):
    """How the kubelet asks: an HTTP GET, a TCP connect, or a command in the container."""

    HTTP = "http"
    TCP = "tcp"
    EXEC = "exec"


class ProbeScheme(StrEnum):
    """HTTP probes on a TLS port use https (the kubelet does not verify the certificate)."""

    HTTP = "http"
    HTTPS = "https"


class LifecycleState(StrEnum):
    APPLIED = "applied"
    REVIEWED = "reviewed"
    TESTING = "testing"
    PROVISIONED = "provisioned"
    RECLAIMED = "reclaimed"


class AdminRole(StrEnum):
    """三权分立: the three administrator duties that no one person may combine."""

    SYSTEM = "system-admin"
    AUDIT = "audit-admin"
    SECURITY = "security-admin"


class Label(StrEnum):
    """Kubernetes label keys: the contract between the stacks and the policies.

    Components put them on every object they create; policies find tenants, zones and
    placements by them. Declared here, once, because both layers read the model.
    """

    DEPARTMENT = "govcloud.io/department"
    ZONE = "govcloud.io/zone"
    SITE = "govcloud.io/site"
    SYSTEM = "govcloud.io/system"
    COMPONENT = "govcloud.io/component"
    DR_TIER = "govcloud.io/dr-tier"
    PLACEMENT = "govcloud.io/placement"
    MLPS_LEVEL = "govcloud.io/mlps-level"
    MANAGED_BY = "app.kubernetes.io/managed-by"
