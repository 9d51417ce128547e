"""The clauses the policies implement, quoted once so every policy and report cites alike.

Numbers follow the published structure of GB/T 22239-2019 chapter 8 (第三级安全要求):
8.1 安全通用要求 (8.1.2 安全通信网络, 8.1.3 安全区域边界, 8.1.4 安全计算环境,
8.1.5 安全管理中心, 8.1.7 安全管理机构) and 8.2 云计算安全扩展要求. Item letters (a, b,
...) are given where we are confident of them from the public transcriptions; where only
the section is certain ``exact=False`` and the report says so. GB/T 39786-2021 items are
cited by section (6.2 网络和通信安全, 6.3 设备和计算安全, 6.4 应用和数据安全) only.
Texts are short paraphrases of the requirement, not the standard's full wording.
"""

from __future__ import annotations

from policies.core import Clause, Standard

MLPS = Standard.MLPS
CRYPTO = Standard.CRYPTO
DR = Standard.DR

BOUNDARY_ACCESS_A = Clause(
    MLPS,
    "8.1.3.2 a)",
    "安全区域边界 / 访问控制",
    "应在网络边界或区域之间根据访问控制策略设置访问控制规则，默认情况下除允许通信外受控接口拒绝所有通信",
)
BOUNDARY_ACCESS_B = Clause(
    MLPS,
    "8.1.3.2 b)",
    "安全区域边界 / 访问控制",
    "应删除多余或无效的访问控制规则，优化访问控制列表，并保证访问控制规则数量最小化",
)
BOUNDARY_PROTECTION_A = Clause(
    MLPS,
    "8.1.3.1 a)",
    "安全区域边界 / 边界防护",
    "应保证跨越边界的访问和数据流通过边界设备提供的受控接口进行通信",
)
NETWORK_ARCH_D = Clause(
    MLPS,
    "8.1.2.1 d)",
    "安全通信网络 / 网络架构",
    "应避免将重要网络区域部署在边界处，重要网络区域与其他网络区域之间应采取可靠的技术隔离手段",
)
CLOUD_NET_A = Clause(
    MLPS,
    "8.2.2.1 a)",
    "云计算安全扩展要求 / 安全通信网络 / 网络架构",
    "应保证云计算平台不承载高于其安全保护等级的业务应用系统",
)
CLOUD_NET_B = Clause(
    MLPS,
    "8.2.2.1 b)",
    "云计算安全扩展要求 / 安全通信网络 / 网络架构",
    "应实现不同云服务客户虚拟网络之间的隔离",
)
CLOUD_BOUNDARY_A = Clause(
    MLPS,
    "8.2.3.1 a)",
    "云计算安全扩展要求 / 安全区域边界 / 访问控制",
    "应在虚拟化网络边界部署访问控制机制，并设置访问控制规则",
)
CLOUD_BOUNDARY_B = Clause(
    MLPS,
    "8.2.3.1 b)",
    "云计算安全扩展要求 / 安全区域边界 / 访问控制",
    "应在不同等级的网络区域边界部署访问控制机制，设置访问控制规则",
)
CENTRAL_MGMT_A = Clause(
    MLPS,
    "8.1.5.4 a)",
    "安全管理中心 / 集中管控",
    "应划分出特定的管理区域，对分布在网络中的安全设备或安全组件进行管控",
)
CENTRAL_MGMT_B = Clause(
    MLPS,
    "8.1.5.4 b)",
    "安全管理中心 / 集中管控",
    "应能够建立一条安全的信息传输路径，对网络中的安全设备或安全组件进行管理",
)
CENTRAL_MGMT_C = Clause(
    MLPS,
    "8.1.5.4 c)",
    "安全管理中心 / 集中管控",
    "应对网络链路、安全设备、网络设备和服务器等的运行状况进行集中监测",
)
CENTRAL_MGMT_D = Clause(
    MLPS,
    "8.1.5.4 d)",
    "安全管理中心 / 集中管控",
    "应对分散在各个设备上的审计数据进行收集汇总和集中分析，并保证审计记录的留存时间符合法律法规要求",
    note="法律法规要求: 《网络安全法》第二十一条 — 网络日志留存不少于六个月 (180 天)",
)
COMPUTE_INTRUSION_C = Clause(
    MLPS,
    "8.1.4.4 c)",
    "安全计算环境 / 入侵防范",
    "应通过设定终端接入方式或网络地址范围对通过网络进行管理的管理终端进行限制",
)
COMPUTE_INTRUSION_A = Clause(
    MLPS,
    "8.1.4.4 a)",
    "安全计算环境 / 入侵防范",
    "应遵循最小安装的原则，仅安装需要的组件和应用程序",
)
COMPUTE_INTRUSION_B = Clause(
    MLPS,
    "8.1.4.4 b)",
    "安全计算环境 / 入侵防范",
    "应关闭不需要的系统服务、默认共享和高危端口",
)
COMPUTE_INTRUSION_E = Clause(
    MLPS,
    "8.1.4.4 e)",
    "安全计算环境 / 入侵防范",
    "应能发现可能存在的已知漏洞，并在经过充分测试评估后，及时修补漏洞",
)
COMPUTE_INTRUSION_F = Clause(
    MLPS,
    "8.1.4.4 f)",
    "安全计算环境 / 入侵防范",
    "应能够检测到对重要节点进行入侵的行为，并在发生严重入侵事件时提供报警",
)
COMPUTE_AUTH_A = Clause(
    MLPS,
    "8.1.4.1 a)",
    "安全计算环境 / 身份鉴别",
    "应对登录的用户进行身份标识和鉴别，身份标识具有唯一性，身份鉴别信息具有复杂度要求并定期更换",
    exact=False,
    note="no item names a login banner; it is cited where the login it precedes is required "
    "(the banner states who may log in and that sessions are audited)",
)
COMPUTE_AUTH_C = Clause(
    MLPS,
    "8.1.4.1 c)",
    "安全计算环境 / 身份鉴别",
    "当进行远程管理时，应采取必要措施防止鉴别信息在网络传输过程中被窃听",
)
COMPUTE_INTEGRITY_B = Clause(
    MLPS,
    "8.1.4.7 b)",
    "安全计算环境 / 数据完整性",
    "应采用校验技术或密码技术保证重要数据在存储过程中的完整性，包括但不限于鉴别数据、重要业务数据、"
    "重要审计数据、重要配置数据、重要视频数据和重要个人信息等",
)
COMPUTE_RESIDUAL = Clause(
    MLPS,
    "8.1.4.10 a)",
    "安全计算环境 / 剩余信息保护",
    "应保证鉴别信息所在的存储空间被释放或重新分配前得到完全清除",
    exact=False,
    note="a core dump copies a process's memory (keys, passwords) to disk, where it outlives "
    "the process: no core dumps is how hosts keep that storage from existing at all",
)
COMPUTE_ACCESS_D = Clause(
    MLPS,
    "8.1.4.2 d)",
    "安全计算环境 / 访问控制",
    "应授予管理用户所需的最小权限，实现管理用户的权限分离",
)
COMPUTE_AUTH_D = Clause(
    MLPS,
    "8.1.4.1 d)",
    "安全计算环境 / 身份鉴别",
    "应采用口令、密码技术、生物技术等两种或两种以上组合的鉴别技术对用户进行身份鉴别，"
    "且其中一种鉴别技术至少应使用密码技术来实现",
)
COMPUTE_AUDIT_C = Clause(
    MLPS,
    "8.1.4.3 c)",
    "安全计算环境 / 安全审计",
    "应对审计记录进行保护，定期备份，避免受到未预期的删除、修改或覆盖等",
)
COMPUTE_AUDIT_A = Clause(
    MLPS,
    "8.1.4.3 a)",
    "安全计算环境 / 安全审计",
    "应启用安全审计功能，审计覆盖到每个用户，对重要的用户行为和重要安全事件进行审计",
)
COMPUTE_BACKUP_B = Clause(
    MLPS,
    "8.1.4.9 b)",
    "安全计算环境 / 数据备份恢复",
    "应提供异地实时备份功能，利用通信网络将重要数据实时备份至备份场地",
)
COMPUTE_BACKUP_C = Clause(
    MLPS,
    "8.1.4.9 c)",
    "安全计算环境 / 数据备份恢复",
    "应提供重要数据处理系统的热冗余，保证系统的高可用性",
)
COMPUTE_MALWARE = Clause(
    MLPS,
    "8.1.4.5",
    "安全计算环境 / 恶意代码防范",
    "应采用免受恶意代码攻击的技术措施或主动免疫可信验证机制及时识别入侵和病毒行为，并将其有效阻断",
)
COMPUTE_TRUSTED = Clause(
    MLPS,
    "8.1.4.6",
    "安全计算环境 / 可信验证",
    "可基于可信根对计算设备的系统引导程序、系统程序、重要配置参数和应用程序等进行可信验证，"
    "在检测到其可信性受到破坏后进行报警",
    note="a container image pinned by digest is the application program verified before it runs",
)
COMPUTE_CONFIDENTIALITY_B = Clause(
    MLPS,
    "8.1.4.8 b)",
    "安全计算环境 / 数据保密性",
    "应采用密码技术保证重要数据在存储过程中的保密性，包括但不限于鉴别数据、重要业务数据和重要个人信息等",
)
CLOUD_IMAGE_B = Clause(
    MLPS,
    "8.2.4.4 b)",
    "云计算安全扩展要求 / 安全计算环境 / 镜像和快照保护",
    "应提供虚拟机镜像、快照完整性校验功能，防止虚拟机镜像被恶意篡改",
    exact=False,
    note="container images read as the virtual machine images of the clause",
)
CLOUD_AUTH = Clause(
    MLPS,
    "8.2.4.1",
    "云计算安全扩展要求 / 安全计算环境 / 身份鉴别",
    "当远程管理云计算平台中设备时，管理终端和云计算平台之间应建立双向身份验证机制",
    exact=False,
)
CLOUD_INTRUSION_A = Clause(
    MLPS,
    "8.2.4.3 a)",
    "云计算安全扩展要求 / 安全计算环境 / 入侵防范",
    "应能检测虚拟机之间的资源隔离失效，并进行告警",
    exact=False,
    note="containers read as the virtual machines of the clause; the item letter is unverified",
)
CLOUD_CENTRAL_A = Clause(
    MLPS,
    "8.2.5.1 a)",
    "云计算安全扩展要求 / 安全管理中心 / 集中管控",
    "应能对物理资源和虚拟资源按照策略做统一管理调度与分配",
    exact=False,
)
CLOUD_CENTRAL_B = Clause(
    MLPS,
    "8.2.5.1 b)",
    "云计算安全扩展要求 / 安全管理中心 / 集中管控",
    "应保证云计算平台管理流量与云服务客户业务流量分离",
    exact=False,
)
MGMT_POSTS = Clause(
    MLPS,
    "8.1.7.1 b)",
    "安全管理机构 / 岗位设置",
    "应设立系统管理员、审计管理员和安全管理员等岗位，并定义部门及各个工作岗位的职责",
    exact=False,
)
SYSADMIN = Clause(
    MLPS,
    "8.1.5.1–8.1.5.3",
    "安全管理中心 / 系统管理、审计管理、安全管理",
    "系统管理员、审计管理员、安全管理员分别进行身份鉴别，只允许其通过特定的命令或操作界面进行各自的操作",
)
CRYPTO_NET = Clause(
    CRYPTO,
    "6.2",
    "密码应用技术要求 / 网络和通信安全 (第三级)",
    "应采用密码技术对通信实体进行身份鉴别；应采用密码技术保证通信过程中重要数据的机密性；"
    "宜采用密码技术保证通信过程中数据的完整性",
    exact=False,
)
CRYPTO_DEVICE = Clause(
    CRYPTO,
    "6.3",
    "密码应用技术要求 / 设备和计算安全 (第三级)",
    "应采用密码技术对登录设备的用户进行身份鉴别；远程管理设备时，应采用密码技术建立安全的信息传输通道",
    exact=False,
)
CRYPTO_DATA = Clause(
    CRYPTO,
    "6.4",
    "密码应用技术要求 / 应用和数据安全 (第三级)",
    "应采用密码技术保证重要数据在传输过程中和存储过程中的机密性",
    exact=False,
)
CRYPTO_GENERAL = Clause(
    CRYPTO,
    "5",
    "密码应用通用要求",
    "信息系统中使用的密码算法应符合法律法规和密码相关国家标准的要求 (SM2/SM3/SM4 等商用密码算法)",
    exact=False,
)
DR_LEVELS = Clause(
    DR,
    "灾难恢复能力等级 (levels 1–6)",
    "灾难恢复能力等级",
    "各等级的 RTO/RPO 与技术要求: 6 级 数据零丢失和远程集群支持 (RPO 0, RTO 数分钟); "
    "5 级 实时数据传输及完整设备支持 (RPO 0–30 分钟)",
    exact=False,
    note="ranges from the 2007 edition's annex; the 2025 edition's table is not transcribed "
    "in estate/dr-tiers.yaml yet",
)
