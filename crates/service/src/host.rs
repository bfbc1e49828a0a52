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
    /// Pass as `marker` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
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
    Ok(DesiredState {
        host,
        vms: out,
        networks: networks.into_values().collect(),
        next_marker,
    })
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
