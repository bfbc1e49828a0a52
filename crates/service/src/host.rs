//! Hosts and their agents (issue 13, part 2).
//!
//! The cloud admin registers a host of a data center (`host_create`) and
//! gets its agent credential, shown once: `npa.<host id>.<secret>`; only the
//! SHA-256 hash of the secret is stored (like login tokens: the secret is 256
//! random bits, so a slow hash adds nothing). The agent sends it as a bearer
//! credential to the agent endpoints only (`/v1/agent/...`): it is no token,
//! so every other endpoint refuses it, and it reaches only its own host's
//! data. Each authentication records the host's `last_seen` (at most every
//! [`TOUCH_EVERY_SECS`]); placement (`rules::place_vm`) picks among hosts
//! seen within `rules::HOST_LIVE_SECS`.
//!
//! The agent reads its host's desired state (`agent_desired_state`: the
//! VMs, their interfaces, the networks and subnets they need) and reports
//! what it observed per interface (`agent_status_report`), kept apart from
//! the desired state in `interface_observed`.

use crate::{require_cloud_admin, Caller, Service, WriteOptions};
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{rules, Error, Kind, Result};
use nicplane_store::Tx;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The first part of an agent credential.
pub const CREDENTIAL_PREFIX: &str = "npa";
/// `last_seen` is rewritten at most this often per host (seconds).
pub const TOUCH_EVERY_SECS: i64 = 5;
/// Default and largest number of VMs in one page of a desired state.
pub const DESIRED_PAGE_DEFAULT: u32 = 100;
pub const DESIRED_PAGE_MAX: u32 = 500;

/// A host to register.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
}

/// A registered host and its agent credential (shown only here).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostCreated {
    pub host: Host,
    /// `npa.<host id>.<secret>`: give it to `nicplane agent --credential`.
    pub credential: String,
}

/// An IP address of an interface with what the agent needs to configure it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredIp {
    pub ip_address: IpAddr,
    pub prefix_len: u8,
    pub gateway_ip: Option<IpAddr>,
    pub subnet_id: SubnetId,
}

/// An interface of a VM as the agent realizes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredInterface {
    pub id: InterfaceId,
    pub mac_address: MacAddr,
    pub primary: bool,
    /// Position among the VM's elastic interfaces (the primary is 0, then
    /// by creation): the agent names it `eth<order>`. None for a
    /// supplementary (VLAN) interface.
    pub order: Option<u32>,
    pub network_id: NetworkId,
    pub network_kind: NetworkKind,
    pub fixed_ips: Vec<DesiredIp>,
    /// A supplementary interface's parent and VLAN id.
    pub parent_id: Option<InterfaceId>,
    pub vlan_id: Option<u16>,
    /// Anti-spoofing and security groups apply while on; off: neither.
    #[serde(default)]
    pub port_security_enabled: bool,
    /// Its security groups (in [`DesiredState::security_groups`]).
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupId>,
    /// What it may send from besides its MAC and fixed IPs.
    #[serde(default)]
    pub allowed_address_pairs: Vec<DesiredAddressPair>,
}

/// An allowed address pair as the agent applies it: a CIDR (an address is
/// a /32 or /128) and the MAC it may come from (`rules::address_pair_source`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredAddressPair {
    pub ip_address: ipnet::IpNet,
    pub mac_address: MacAddr,
}

/// A security-group rule as the agent filters it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredRule {
    pub id: SecurityGroupRuleId,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// The IP protocol number; absent: every protocol
    /// (`rules::sg_rule_data_plane_protocol`).
    pub protocol: Option<u8>,
    /// Ports for TCP, UDP, UDP-Lite, SCTP and DCCP; ICMP type and code.
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<ipnet::IpNet>,
    /// The addresses of this group's members (in
    /// [`DesiredState::security_groups`]).
    pub remote_group_id: Option<SecurityGroupId>,
}

/// A security group the page's interfaces are in or their rules name as a
/// remote group: its rules, and its members' addresses (every fixed IP and
/// allowed address pair of every interface in it, on any host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredSecurityGroup {
    pub id: SecurityGroupId,
    /// The rules of a group an interface of the page (with port security
    /// on) is in; empty for a group that is only named as a remote group.
    pub rules: Vec<DesiredRule>,
    pub members: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredVm {
    pub id: VmId,
    pub name: String,
    pub power_state: PowerState,
    pub os_type: OsType,
    pub interfaces: Vec<DesiredInterface>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredSubnet {
    pub id: SubnetId,
    pub ip_version: u8,
    pub cidr: ipnet::IpNet,
    pub gateway_ip: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredNetwork {
    pub id: NetworkId,
    pub kind: NetworkKind,
    pub subnets: Vec<DesiredSubnet>,
}

/// One page of a host's desired state: VMs by id, with the networks their
/// interfaces are on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredState {
    pub host: Host,
    pub vms: Vec<DesiredVm>,
    pub networks: Vec<DesiredNetwork>,
    /// The security groups of the page's interfaces and the groups their
    /// rules name (`security_groups_tx`).
    #[serde(default)]
    pub security_groups: Vec<DesiredSecurityGroup>,
    /// Pass as `marker` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// The routers this page's networks need (see [`DesiredRouter`]).
    #[serde(default)]
    pub routers: Vec<DesiredRouter>,
    /// The external networks those routers reach.
    #[serde(default)]
    pub external_networks: Vec<DesiredExternalNetwork>,
}

/// What an agent observed on one interface.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedInterface {
    pub id: InterfaceId,
    pub status: InterfaceStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    pub interfaces: Vec<ObservedInterface>,
}

/// The answer to a status report: interfaces no longer on the host (detached
/// or deleted since the agent read its desired state) are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusAck {
    pub recorded: usize,
    pub ignored: Vec<InterfaceId>,
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn bad_credential() -> Error {
    Error::unauthenticated("The agent credential is not valid.")
}

/// Split `npa.<host id>.<secret>`.
fn parse_credential(credential: &str) -> Result<(HostId, &str)> {
    let mut parts = credential.trim().splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(CREDENTIAL_PREFIX), Some(id), Some(secret)) if !secret.is_empty() => {
            Ok((id.parse().map_err(|_| bad_credential())?, secret))
        }
        _ => Err(bad_credential()),
    }
}

/// The host a VM goes on: the pinned one (by name or id, cloud admin only,
/// checked by the caller), else the least loaded live host of the data
/// center (`rules::place_vm`), else none.
pub(crate) fn place_vm_tx(
    tx: &mut dyn Tx,
    dc: DataCenterId,
    pinned: Option<&str>,
) -> Result<Option<HostId>> {
    if let Some(want) = pinned {
        let host = match want.parse::<HostId>() {
            Ok(id) => tx.host_get(id)?.map(|(h, _)| h),
            Err(_) => tx.host_by_name(want)?,
        }
        .ok_or_else(|| Error::not_found(Kind::Host, want))?;
        rules::host_in_vm_data_center(&host, dc)?;
        return Ok(Some(host.id));
    }
    let now = now().unix_timestamp();
    Ok(rules::place_vm(&tx.host_loads(Some(dc), now)?))
}

/// Build one page of a host's desired state (inside a read).
fn desired_state_tx(
    tx: &mut dyn Tx,
    host: Host,
    marker: Option<VmId>,
    limit: u32,
) -> Result<DesiredState> {
    let mut vms = tx.host_vms(host.id, marker, limit + 1)?;
    let next_marker = if vms.len() > limit as usize {
        vms.truncate(limit as usize);
        vms.last().map(|v| v.id.to_string())
    } else {
        None
    };
    let ids: Vec<VmId> = vms.iter().map(|v| v.id).collect();
    let mut by_vm: BTreeMap<VmId, Vec<Interface>> = BTreeMap::new();
    let all = tx.interfaces_of_vms(&ids)?;
    // A supplementary interface has no VM of its own: it is on its parent's.
    let vm_of: BTreeMap<InterfaceId, VmId> =
        all.iter().filter_map(|i| Some((i.id, i.vm_id?))).collect();
    for i in all {
        let vm = i
            .vm_id
            .or_else(|| i.parent_id.and_then(|p| vm_of.get(&p).copied()));
        if let Some(v) = vm {
            by_vm.entry(v).or_default().push(i);
        }
    }
    let mut networks: BTreeMap<NetworkId, DesiredNetwork> = BTreeMap::new();
    let mut subnets: BTreeMap<SubnetId, DesiredSubnet> = BTreeMap::new();
    let mut out = Vec::with_capacity(vms.len());
    let mut with_public_ip = Vec::new();
    for vm in vms {
        let mut ifaces = by_vm.remove(&vm.id).unwrap_or_default();
        ifaces.sort_by(|a, b| {
            a.supplementary
                .cmp(&b.supplementary)
                .then(b.primary.cmp(&a.primary))
                .then(a.created_at.cmp(&b.created_at))
                .then(a.id.cmp(&b.id))
        });
        let mut desired = Vec::with_capacity(ifaces.len());
        let mut order = 0;
        for i in ifaces {
            if i.public_ip.is_some() {
                with_public_ip.push(i.clone());
            }
            if !networks.contains_key(&i.network_id) {
                let n = tx
                    .network_get(i.network_id)?
                    .ok_or_else(|| Error::not_found(Kind::Network, i.network_id))?;
                let subs = tx.subnets_of_network(n.id)?;
                let ds: Vec<DesiredSubnet> = subs
                    .iter()
                    .map(|s| DesiredSubnet {
                        id: s.id,
                        ip_version: s.ip_version,
                        cidr: s.cidr,
                        gateway_ip: s.gateway_ip,
                    })
                    .collect();
                for s in &ds {
                    subnets.insert(s.id, s.clone());
                }
                networks.insert(
                    n.id,
                    DesiredNetwork {
                        id: n.id,
                        kind: n.kind,
                        subnets: ds,
                    },
                );
            }
            let kind = networks[&i.network_id].kind;
            let fixed_ips = i
                .fixed_ips
                .iter()
                .filter_map(|f| {
                    subnets.get(&f.subnet_id).map(|s| DesiredIp {
                        ip_address: f.ip_address,
                        prefix_len: s.cidr.prefix_len(),
                        gateway_ip: s.gateway_ip,
                        subnet_id: s.id,
                    })
                })
                .collect();
            let slot = if i.supplementary {
                None
            } else {
                order += 1;
                Some(order - 1)
            };
            desired.push(DesiredInterface {
                id: i.id,
                mac_address: i.mac_address,
                primary: i.primary,
                order: slot,
                network_id: i.network_id,
                network_kind: kind,
                fixed_ips,
                parent_id: i.parent_id,
                vlan_id: i.vlan_id.map(|v| v.get()),
                port_security_enabled: i.port_security_enabled,
                security_groups: i.security_groups.clone(),
                allowed_address_pairs: address_pairs(&i)?,
            });
        }
        out.push(DesiredVm {
            id: vm.id,
            name: vm.name,
            power_state: vm.power_state,
            os_type: vm.os_type,
            interfaces: desired,
        });
    }
    let (routers, external_networks) = desired_l3_tx(tx, &networks, &with_public_ip)?;
    let security_groups = security_groups_tx(tx, &out)?;
    Ok(DesiredState {
        host,
        vms: out,
        networks: networks.into_values().collect(),
        security_groups,
        next_marker,
        routers,
        external_networks,
    })
}

/// An interface's allowed address pairs as the agent applies them.
fn address_pairs(i: &Interface) -> Result<Vec<DesiredAddressPair>> {
    i.allowed_address_pairs
        .iter()
        .map(|p| {
            let (ip_address, mac_address) = rules::address_pair_source(p, i.mac_address)?;
            Ok(DesiredAddressPair {
                ip_address,
                mac_address,
            })
        })
        .collect()
}

/// The security groups a page needs: those of its interfaces with port
/// security on, and the remote groups their rules name, each with its rules
/// and its members' addresses. Bounded by the quotas: a page has at most
/// `DESIRED_PAGE_MAX` VMs with their interfaces, each in at most
/// `rules::SECURITY_GROUPS_PER_PORT_MAX` groups; a group has at most its
/// project's `security_group_rule` quota of rules, names only groups of its
/// own project, and has at most the project's `port` quota of members,
/// each with at most `rules::DEFAULT_MAX_FIXED_IPS_PER_PORT` fixed IPs and
/// `rules::DEFAULT_MAX_ALLOWED_ADDRESS_PAIRS` pairs.
fn security_groups_tx(tx: &mut dyn Tx, vms: &[DesiredVm]) -> Result<Vec<DesiredSecurityGroup>> {
    let used: std::collections::BTreeSet<SecurityGroupId> = vms
        .iter()
        .flat_map(|v| &v.interfaces)
        .filter(|i| i.port_security_enabled)
        .flat_map(|i| i.security_groups.iter().copied())
        .collect();
    let mut groups: BTreeMap<SecurityGroupId, DesiredSecurityGroup> = BTreeMap::new();
    let mut remotes = std::collections::BTreeSet::new();
    for id in &used {
        // A group deleted since its interface was read has no rules.
        let Some(sg) = tx.security_group_get(*id)? else {
            continue;
        };
        let mut desired = Vec::with_capacity(sg.rules.len());
        for r in &sg.rules {
            let v6 = r.ethertype == "IPv6";
            let remote_ip_prefix = r
                .remote_ip_prefix
                .as_deref()
                .map(|p| rules::sg_rule_remote_prefix(p, v6))
                .transpose()?;
            remotes.extend(r.remote_group_id);
            desired.push(DesiredRule {
                id: r.id,
                direction: r.direction.clone(),
                ethertype: r.ethertype.clone(),
                protocol: rules::sg_rule_data_plane_protocol(r.protocol.as_deref(), v6)?,
                port_range_min: r.port_range_min,
                port_range_max: r.port_range_max,
                remote_ip_prefix,
                remote_group_id: r.remote_group_id,
            });
        }
        groups.insert(
            *id,
            DesiredSecurityGroup {
                id: *id,
                rules: desired,
                members: Vec::new(),
            },
        );
    }
    for id in remotes {
        groups.entry(id).or_insert_with(|| DesiredSecurityGroup {
            id,
            rules: Vec::new(),
            members: Vec::new(),
        });
    }
    let ids: Vec<SecurityGroupId> = groups.keys().copied().collect();
    for m in tx.security_group_members(&ids)? {
        let Some(g) = groups.get_mut(&m.group) else {
            continue;
        };
        g.members
            .extend(m.fixed_ips.iter().map(|f| ipnet::IpNet::from(f.ip_address)));
        for p in &m.allowed_address_pairs {
            g.members
                .push(rules::address_pair_source(p, m.mac_address)?.0);
        }
    }
    for g in groups.values_mut() {
        g.members.sort();
        g.members.dedup();
    }
    Ok(groups.into_values().collect())
}

impl Service {
    /// `host_create` (cloud admin): register a host and issue its agent
    /// credential.
    pub async fn host_create(
        &self,
        caller: &Caller,
        spec: HostSpec,
        opts: &WriteOptions,
    ) -> Result<HostCreated> {
        require_cloud_admin(caller)?;
        rules::host_name_valid(&spec.name)?;
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let secret = hex::encode(raw);
        let host = Host {
            id: HostId::new(),
            name: spec.name.clone(),
            data_center_id: spec.data_center_id,
            created_at: now(),
            last_seen: None,
        };
        let credential = format!("{CREDENTIAL_PREFIX}.{}.{secret}", host.id);
        let hash = secret_hash(&secret);
        // No Idempotency-Key: a replay would have to store the secret.
        let opts = WriteOptions::dry_run(opts.dry_run);
        self.write(caller, &opts, move |tx| {
            tx.data_center_get(host.data_center_id)?.ok_or_else(|| {
                Error::invalid(format!(
                    "Data center {} does not exist.",
                    host.data_center_id
                ))
            })?;
            if tx.host_by_name(&host.name)?.is_some() {
                return Err(Error::conflict(
                    nicplane_domain::ConflictReason::NameTaken,
                    format!("A host named {} already exists.", host.name),
                ));
            }
            tx.host_insert(&host, &hash)?;
            crate::feed::emit(
                tx,
                Kind::Host,
                host.id,
                None,
                nicplane_domain::feed::Action::Create,
                Some(&host),
            )?;
            Ok(HostCreated {
                host: host.clone(),
                credential: credential.clone(),
            })
        })
        .await
    }

    /// `host_list` (cloud admin): every host with its VM count and liveness.
    pub async fn host_list(&self, caller: &Caller) -> Result<Vec<HostLoad>> {
        require_cloud_admin(caller)?;
        let now = now().unix_timestamp();
        self.store.read(move |tx| tx.host_loads(None, now)).await
    }

    /// Authenticate an agent credential: its host. Records `last_seen`
    /// (at most every [`TOUCH_EVERY_SECS`]).
    pub async fn agent_authenticate(&self, credential: &str) -> Result<Host> {
        let (id, secret) = parse_credential(credential)?;
        let hash = secret_hash(secret);
        let (host, stored) = self
            .store
            .read(move |tx| tx.host_get(id))
            .await?
            .ok_or_else(bad_credential)?;
        if stored != hash {
            return Err(bad_credential());
        }
        let t = now();
        let stale = host
            .last_seen
            .is_none_or(|s| (t - s).whole_seconds() >= TOUCH_EVERY_SECS);
        if stale {
            let at = t.unix_timestamp();
            self.store.write(move |tx| tx.host_touch(id, at)).await?;
            return Ok(Host {
                last_seen: Some(t),
                ..host
            });
        }
        Ok(host)
    }

    /// `agent_desired_state`: one page of the host's VMs (by id, after
    /// `marker`) with their interfaces and networks.
    pub async fn agent_desired_state(
        &self,
        host: &Host,
        marker: Option<&str>,
        limit: Option<u32>,
    ) -> Result<DesiredState> {
        let limit = limit.unwrap_or(DESIRED_PAGE_DEFAULT);
        if limit == 0 || limit > DESIRED_PAGE_MAX {
            return Err(Error::invalid_value(
                "limit",
                format!("must be between 1 and {DESIRED_PAGE_MAX}."),
            ));
        }
        let marker = marker
            .map(|m| {
                m.parse::<VmId>()
                    .map_err(|_| Error::invalid_value("marker", format!("'{m}' is not a VM id.")))
            })
            .transpose()?;
        let host = host.clone();
        self.store
            .read(move |tx| desired_state_tx(tx, host.clone(), marker, limit))
            .await
    }

    /// `agent_status_report`: record what the agent observed, for the
    /// interfaces that are on its host's VMs (the others are ignored).
    pub async fn agent_status_report(
        &self,
        host: &Host,
        report: StatusReport,
    ) -> Result<StatusAck> {
        rules::list_bound(
            "interfaces",
            report.interfaces.len(),
            rules::AGENT_STATUS_MAX,
        )?;
        for i in &report.interfaces {
            rules::agent_status_valid(i.status, i.reason.as_deref())?;
        }
        let host = host.id;
        self.store
            .write(move |tx| {
                let ids: Vec<InterfaceId> = report.interfaces.iter().map(|i| i.id).collect();
                let on: BTreeMap<InterfaceId, VmId> =
                    tx.interfaces_on_host(host, &ids)?.into_iter().collect();
                let at = now().unix_timestamp();
                let mut ack = StatusAck {
                    recorded: 0,
                    ignored: Vec::new(),
                };
                for i in &report.interfaces {
                    match on.get(&i.id) {
                        Some(vm) => {
                            tx.interface_observed_set(
                                i.id,
                                *vm,
                                i.status,
                                i.reason.as_deref(),
                                at,
                            )?;
                            ack.recorded += 1;
                        }
                        None => ack.ignored.push(i.id),
                    }
                }
                Ok(ack)
            })
            .await
    }
}

// ---------------------------------------------------------------------------
// Routers and public IPs in the desired state (issue 13, L3).
//
// Every page carries the routers its networks need and the external networks
// those routers reach; the agent merges the pages (a router appears on every
// page with one of its networks, with the links of that page's networks).
// Bounds: a page has at most `DESIRED_PAGE_MAX` VMs, each with a bounded
// number of interfaces; the routers of a subnet are bounded by the router
// quota, a page's public IPs by its interfaces (one each), the implicit
// router's choice reads the project's networks (the network quota), and
// external networks and pools are the cloud admin's few objects.

/// An address with its prefix length, as `ip addr add` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredAddress {
    pub ip_address: IpAddr,
    pub prefix_len: u8,
}

/// A router's link to one network: the router's addresses on that network
/// (the subnets' gateways for the implicit router; the router interfaces'
/// addresses for a real one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredRouterLink {
    pub network_id: NetworkId,
    /// The router port's MAC; none for the implicit router, which has no
    /// port rows (the kernel picks one).
    pub mac_address: Option<MacAddr>,
    pub addresses: Vec<DesiredAddress>,
}

/// A router's external gateway: its addresses on the external network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredGateway {
    pub external_network_id: ExternalNetworkId,
    /// Neutron's `enable_snat`: VMs without a public IP leave through the
    /// first IPv4 gateway address.
    pub enable_snat: bool,
    pub addresses: Vec<DesiredAddress>,
}

/// The router's default route: through the gateway's pool gateway, or for
/// the implicit router through the pool gateway of its first public IP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredDefaultRoute {
    pub external_network_id: ExternalNetworkId,
    pub next_hop: IpAddr,
}

/// A public IP realized as 1:1 NAT in the router that owns the fixed IP's
/// subnet (`rules::floating_ip_path`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredPublicIp {
    pub id: PublicIpId,
    pub address: IpAddr,
    pub fixed_ip: IpAddr,
    pub external_network_id: ExternalNetworkId,
}

/// A router the host realizes (a namespace `<prefix>-r-<id>`): a real
/// router with an interface on one of the page's networks, or the implicit
/// router of a project and data center (`rules::implicit_router_subnets`),
/// whose id is derived from both ([`implicit_router_id`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredRouter {
    pub id: RouterId,
    pub implicit: bool,
    /// Whether it forwards between its networks (`rules::router_joins_networks`).
    pub joins_networks: bool,
    /// Links to this page's networks only (the others have no VM here).
    pub links: Vec<DesiredRouterLink>,
    pub gateway: Option<DesiredGateway>,
    pub default_route: Option<DesiredDefaultRoute>,
    /// Public IPs on interfaces of this page's VMs.
    pub public_ips: Vec<DesiredPublicIp>,
}

/// A pool of an external network with its gateway: the pool's first host,
/// which `admin::pool_create` never hands out, so the agent's external
/// namespace (the stand-in for the provider network) can hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredPool {
    pub id: PoolId,
    pub cidr: ipnet::IpNet,
    pub gateway_ip: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredExternalNetwork {
    pub id: ExternalNetworkId,
    pub pools: Vec<DesiredPool>,
}

/// The id of the implicit router of a project and data center: derived
/// (SHA-256 of both, as a version-8 UUID) so every host and every pass
/// names it alike; no row holds it.
pub fn implicit_router_id(project: &ProjectId, dc: DataCenterId) -> RouterId {
    let digest = Sha256::digest(format!("implicit-router/{project}/{dc}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    RouterId(uuid::Uuid::from_bytes(b))
}

/// A pool's gateway (its first host).
fn pool_gateway(cidr: ipnet::IpNet) -> Result<IpAddr> {
    nicplane_domain::ipam::AddressSpace::new(cidr)?.default_gateway()
}

/// The implicit router's subnets of each (project, data center) that has a
/// standard network on the page: decided over all the project's networks of
/// that data center (bounded by the network quota).
fn implicit_subnets_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    dc: DataCenterId,
) -> Result<Vec<SubnetId>> {
    let filter = nicplane_domain::query::NetworkFilter {
        visible_to: Some(project.clone()),
        data_center_id: Some(dc),
        kind: Some(NetworkKind::Standard),
        name: None,
    };
    let nets: Vec<Network> = tx
        .network_list(&filter, &nicplane_domain::query::PageRequest::default())?
        .into_iter()
        .filter(|n| n.project_id.as_ref() == Some(project))
        .collect();
    let mut rows: Vec<(usize, Subnet, bool)> = Vec::new();
    for (k, n) in nets.iter().enumerate() {
        for s in tx.subnets_of_network(n.id)? {
            let attached = !tx.routers_of_subnet(s.id)?.is_empty();
            rows.push((k, s, attached));
        }
    }
    let candidates: Vec<(&Network, &Subnet, bool)> =
        rows.iter().map(|(k, s, a)| (&nets[*k], s, *a)).collect();
    Ok(rules::implicit_router_subnets(&candidates))
}

/// Add `addr` on `network` to a router's links (one link per network).
fn add_link(
    links: &mut Vec<DesiredRouterLink>,
    network: NetworkId,
    mac: Option<MacAddr>,
    addr: DesiredAddress,
) {
    match links.iter_mut().find(|l| l.network_id == network) {
        Some(l) => l.addresses.push(addr),
        None => links.push(DesiredRouterLink {
            network_id: network,
            mac_address: mac,
            addresses: vec![addr],
        }),
    }
}

/// The routers and external networks of one page (see the section's note).
fn desired_l3_tx(
    tx: &mut dyn Tx,
    networks: &BTreeMap<NetworkId, DesiredNetwork>,
    with_public_ip: &[Interface],
) -> Result<(Vec<DesiredRouter>, Vec<DesiredExternalNetwork>)> {
    let prefix_of: BTreeMap<SubnetId, u8> = networks
        .values()
        .flat_map(|n| n.subnets.iter().map(|s| (s.id, s.cidr.prefix_len())))
        .collect();
    let mut routers: BTreeMap<RouterId, DesiredRouter> = BTreeMap::new();
    let mut implicit: BTreeMap<(ProjectId, DataCenterId), Vec<SubnetId>> = BTreeMap::new();
    let mut pools: BTreeMap<PoolId, PublicIpPool> = BTreeMap::new();
    for n in networks.values() {
        if n.kind != NetworkKind::Standard {
            continue;
        }
        let Some(row) = tx.network_get(n.id)? else {
            continue;
        };
        let mut unattached = false;
        for s in &n.subnets {
            let ids = tx.routers_of_subnet(s.id)?;
            unattached |= ids.is_empty();
            for r in ids {
                if routers.contains_key(&r) {
                    continue;
                }
                if let Some(router) = tx.router_get(r)? {
                    let d = real_router_tx(tx, &router, networks, &prefix_of, &mut pools)?;
                    routers.insert(r, d);
                }
            }
        }
        if let (true, Some(p)) = (unattached, row.project_id) {
            if let std::collections::btree_map::Entry::Vacant(e) =
                implicit.entry((p, row.data_center_id))
            {
                let (project, dc) = e.key().clone();
                e.insert(implicit_subnets_tx(tx, &project, dc)?);
            }
        }
    }
    // The implicit routers: the chosen subnets of the page's networks.
    for ((project, dc), chosen) in &implicit {
        let mut links = Vec::new();
        for n in networks.values() {
            for s in n.subnets.iter().filter(|s| chosen.contains(&s.id)) {
                if let Some(g) = s.gateway_ip {
                    let a = DesiredAddress {
                        ip_address: g,
                        prefix_len: s.cidr.prefix_len(),
                    };
                    add_link(&mut links, n.id, None, a);
                }
            }
        }
        if links.is_empty() {
            continue;
        }
        let id = implicit_router_id(project, *dc);
        routers.insert(
            id,
            DesiredRouter {
                id,
                implicit: true,
                joins_networks: rules::router_joins_networks(true),
                links,
                gateway: None,
                default_route: None,
                public_ips: Vec::new(),
            },
        );
    }
    // Public IPs, each in the router of its path.
    for iface in with_public_ip {
        let Some((ip, _)) = tx.public_ip_of_interface(iface.id)? else {
            continue;
        };
        let Some(fixed) = ip.fixed_ip else {
            continue;
        };
        let router = match crate::router::floating_ip_path_tx(tx, iface) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let Some(subnet) = iface
                    .fixed_ips
                    .iter()
                    .find(|f| f.ip_address == fixed)
                    .map(|f| f.subnet_id)
                else {
                    continue;
                };
                let Some(net) = tx.network_get(iface.network_id)? else {
                    continue;
                };
                let Some(p) = net.project_id else { continue };
                let key = (p, net.data_center_id);
                if !implicit.get(&key).is_some_and(|c| c.contains(&subnet)) {
                    continue; // no gateway for this subnet: nothing can reach it
                }
                implicit_router_id(&key.0, key.1)
            }
            Err(_) => continue, // no router with a gateway holds it
        };
        let Some(r) = routers.get_mut(&router) else {
            continue;
        };
        if r.implicit && r.default_route.is_none() {
            let pool = pool_tx(tx, &mut pools, ip.pool_id)?;
            r.default_route = Some(DesiredDefaultRoute {
                external_network_id: ip.external_network_id,
                next_hop: pool_gateway(pool.cidr)?,
            });
        }
        r.public_ips.push(DesiredPublicIp {
            id: ip.id,
            address: ip.address,
            fixed_ip: fixed,
            external_network_id: ip.external_network_id,
        });
    }
    // The external networks the routers reach.
    let mut externals: BTreeMap<ExternalNetworkId, DesiredExternalNetwork> = BTreeMap::new();
    for r in routers.values() {
        let ids = r
            .gateway
            .iter()
            .map(|g| g.external_network_id)
            .chain(r.public_ips.iter().map(|p| p.external_network_id));
        for id in ids {
            if externals.contains_key(&id) {
                continue;
            }
            let Some(ext) = tx.external_network_get(id)? else {
                continue;
            };
            let mut ps = Vec::new();
            for pid in &ext.pool_ids {
                let pool = pool_tx(tx, &mut pools, *pid)?;
                ps.push(DesiredPool {
                    id: pool.id,
                    cidr: pool.cidr,
                    gateway_ip: pool_gateway(pool.cidr)?,
                });
            }
            externals.insert(id, DesiredExternalNetwork { id, pools: ps });
        }
    }
    Ok((
        routers.into_values().collect(),
        externals.into_values().collect(),
    ))
}

fn pool_tx(
    tx: &mut dyn Tx,
    pools: &mut BTreeMap<PoolId, PublicIpPool>,
    id: PoolId,
) -> Result<PublicIpPool> {
    if let Some(p) = pools.get(&id) {
        return Ok(p.clone());
    }
    let p = tx
        .pool_get(id)?
        .ok_or_else(|| Error::not_found(Kind::PublicIpPool, id))?;
    pools.insert(id, p.clone());
    Ok(p)
}

/// A real router as this page needs it: links to the page's networks, its
/// gateway and default route.
fn real_router_tx(
    tx: &mut dyn Tx,
    router: &Router,
    networks: &BTreeMap<NetworkId, DesiredNetwork>,
    prefix_of: &BTreeMap<SubnetId, u8>,
    pools: &mut BTreeMap<PoolId, PublicIpPool>,
) -> Result<DesiredRouter> {
    let mut links = Vec::new();
    for i in router
        .interfaces
        .iter()
        .filter(|i| networks.contains_key(&i.network_id))
    {
        let Some(prefix_len) = prefix_of.get(&i.subnet_id) else {
            continue;
        };
        let mac = tx.interface_get(i.port_id)?.map(|p| p.mac_address);
        let a = DesiredAddress {
            ip_address: i.ip_address,
            prefix_len: *prefix_len,
        };
        add_link(&mut links, i.network_id, mac, a);
    }
    let mut gateway = None;
    let mut default_route = None;
    if let Some(g) = &router.gateway {
        let mut addresses = Vec::new();
        for ip in &g.external_fixed_ips {
            let pool = pool_tx(tx, pools, ip.pool_id)?;
            if default_route.is_none() {
                default_route = Some(DesiredDefaultRoute {
                    external_network_id: g.network_id,
                    next_hop: pool_gateway(pool.cidr)?,
                });
            }
            addresses.push(DesiredAddress {
                ip_address: ip.ip_address,
                prefix_len: pool.cidr.prefix_len(),
            });
        }
        gateway = Some(DesiredGateway {
            external_network_id: g.network_id,
            enable_snat: g.enable_snat,
            addresses,
        });
    }
    Ok(DesiredRouter {
        id: router.id,
        implicit: false,
        joins_networks: rules::router_joins_networks(false),
        links,
        gateway,
        default_route,
        public_ips: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_names_its_host_and_nothing_else_passes() {
        let id = HostId::new();
        let good = format!("npa.{id}.abc");
        let (h, s) = parse_credential(&good).unwrap();
        assert_eq!((h, s), (id, "abc"));
        for bad in ["", "npa", &format!("npa.{id}."), "npa.x.abc", "tok.abc"] {
            assert_eq!(
                parse_credential(bad).unwrap_err().to_string(),
                "The agent credential is not valid."
            );
        }
    }
}
