//! Network interfaces: attach (a new interface on a network, or an existing
//! unattached one), detach, create and delete unattached ones, update.
//!
//! The attach path, inside one transaction: lock the VM row, check the
//! network is visible and in the VM's data center, the hot-plug policy and
//! the interface limit, take the addresses, generate a MAC, insert, bump the
//! VM's interface count.

use crate::feed::{emit, emit_deleted};
use crate::ipam::{self, FixedIpRequest};
use crate::network::{owned_group, visible_network};
use crate::PortPolicy;
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules::{self, OwnerPowers, PortAction};
use nicplane_domain::types::*;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{InterfaceFilter, PageRequest, ReadAhead, Tx};
use serde::{Deserialize, Serialize};

/// What to attach.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    /// Create a new interface on this network...
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub network_id: Option<NetworkId>,
    /// ...or attach this existing, unattached interface.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub interface_id: Option<InterfaceId>,
    #[serde(default)]
    pub fixed_ips: Vec<FixedIpRequest>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// Security group ids; the project's default group when omitted.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    #[serde(default)]
    pub port_security_enabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mac_address: Option<MacAddr>,
    /// The label of the interface's binding (Neutron's `device_owner`); the
    /// dialect chooses it (none: empty).
    #[serde(default)]
    pub device_owner: Option<String>,
    /// With neither `network_id` nor `interface_id`: attach a new interface
    /// on the project's Default Network in the VM's data center (Nova's
    /// choice) instead of refusing. Set by a dialect, never read from a body.
    #[serde(skip)]
    pub default_network: bool,
}

/// An unattached interface to create (a "port").
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceSpec {
    #[schema(value_type = String)]
    pub network_id: NetworkId,
    #[serde(default)]
    pub fixed_ips: Vec<FixedIpRequest>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    #[serde(default)]
    pub port_security_enabled: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mac_address: Option<MacAddr>,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    /// DHCP options for the guest (Neutron's `extra_dhcp_opts`).
    #[serde(default)]
    pub extra_dhcp_opts: Vec<DhcpOptionChange>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[serde(default)]
    pub device_owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<ResourceTag>,
}

/// Changes to an interface.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfacePatch {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    pub tag: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    pub port_security_enabled: Option<bool>,
    pub admin_state_up: Option<bool>,
    pub allowed_address_pairs: Option<Vec<AddressPair>>,
    /// Set (with a value) or remove (without) DHCP options by name and IP
    /// version; options not named are kept.
    pub extra_dhcp_opts: Option<Vec<DhcpOptionChange>>,
    pub tags: Option<Vec<ResourceTag>>,
    /// Replace the fixed IPs (addresses kept when listed again).
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
}

/// Longest tag accepted (Nova's limit).
pub const TAG_MAX_LEN: usize = 60;

fn check_tag(tag: &Option<String>) -> Result<()> {
    if let Some(t) = tag {
        if t.is_empty() || t.chars().count() > TAG_MAX_LEN || t.contains('/') || t.contains(',') {
            return Err(Error::invalid_value(
                "tag",
                format!("'{t}' must be 1-{TAG_MAX_LEN} characters without '/' or ','."),
            ));
        }
    }
    Ok(())
}

/// Resolve security groups: the given ones must be the project's; none given
/// means the project's default group.
pub fn resolve_groups(
    tx: &mut dyn Tx,
    project: &ProjectId,
    groups: &Option<Vec<SecurityGroupId>>,
) -> Result<Vec<SecurityGroupId>> {
    match groups {
        Some(ids) => {
            rules::list_bound(
                "security_groups",
                ids.len(),
                rules::SECURITY_GROUPS_PER_PORT_MAX,
            )?;
            let mut out = Vec::new();
            for id in ids {
                let sg = owned_group(tx, project, *id).map_err(|_| {
                    Error::invalid(format!(
                        "Security group {id} does not exist in the project."
                    ))
                })?;
                if !out.contains(&sg.id) {
                    out.push(sg.id);
                }
            }
            Ok(out)
        }
        None => match tx.security_group_default_id(project)? {
            Some(id) => Ok(vec![id]),
            None => Ok(vec![
                crate::network::create_default_security_group(tx, project)?.id,
            ]),
        },
    }
}

/// Draws of a random MAC before giving up (Neutron's former
/// `mac_generation_retries`, 16). With 2^24 MACs under a prefix, 16 taken
/// draws in a row mean the prefix is nearly full, not that a tenant squats.
pub const MAC_ATTEMPTS: usize = 16;

/// Insert `iface` with the chosen MAC, or with a random MAC under the
/// prefix, drawing again while the unique index `interfaces_mac` says the
/// MAC is taken (the insert skips a taken MAC without aborting the
/// transaction, on SQLite and PostgreSQL alike). No counter row: squatting
/// MACs "just above" generated ones makes nothing fail for anybody else.
pub fn insert_with_mac(
    tx: &mut dyn Tx,
    iface: &mut Interface,
    chosen: Option<MacAddr>,
    prefix: MacPrefix,
    auto_delete: bool,
) -> Result<()> {
    if let Some(mac) = chosen {
        iface.mac_address = mac;
        if !tx.interface_insert_if_mac_free(iface, auto_delete)? {
            return Err(rules::mac_in_use(mac));
        }
        return Ok(());
    }
    for _ in 0..MAC_ATTEMPTS {
        iface.mac_address = prefix.random(&mut rand::thread_rng());
        if tx.interface_insert_if_mac_free(iface, auto_delete)? {
            return Ok(());
        }
    }
    Err(Error::exhausted(format!(
        "No free MAC address under the configured prefix {prefix}: {MAC_ATTEMPTS} random draws were all taken."
    )))
}

/// Observed status without a data-plane agent: up when bound to a running
/// VM. On a VM placed on a host the agent reports it (`interface_observed`,
/// shown by every read); until it does, it is `build`.
pub fn derived_status(vm: Option<&Vm>) -> InterfaceStatus {
    match vm {
        Some(v) if v.host_id.is_some() => InterfaceStatus::Build,
        Some(v) if v.power_state == PowerState::Running => InterfaceStatus::Active,
        Some(_) => InterfaceStatus::Down,
        None => InterfaceStatus::Down,
    }
}

/// Load an interface of the project; anything else is "not found".
pub fn owned_interface(tx: &mut dyn Tx, project: &ProjectId, id: InterfaceId) -> Result<Interface> {
    match tx.interface_get(id)? {
        Some(i) if &i.project_id == project => Ok(i),
        _ => Err(Error::not_found(Kind::Interface, id)),
    }
}

/// Load (and lock) a VM of the project.
pub fn owned_vm(tx: &mut dyn Tx, project: &ProjectId, id: VmId) -> Result<Vm> {
    match tx.vm_get(id)? {
        Some(v) if &v.project_id == project => Ok(v),
        _ => Err(Error::not_found(Kind::Vm, id)),
    }
}

/// Create an interface row with addresses, not attached to anything.
#[allow(clippy::too_many_arguments)]
pub fn create_interface(
    tx: &mut dyn Tx,
    project: &ProjectId,
    network: &Network,
    requests: &[FixedIpRequest],
    groups: &Option<Vec<SecurityGroupId>>,
    mac: Option<MacAddr>,
    policy: PortPolicy,
    build: impl FnOnce(&mut Interface) -> Result<()>,
    auto_delete: bool,
) -> Result<Interface> {
    let t = now();
    let mut iface = Interface {
        status_reason: None,
        id: InterfaceId::new(),
        project_id: project.clone(),
        network_id: network.id,
        network_name: network.name.clone(),
        data_center_id: network.data_center_id,
        vm_id: None,
        name: String::new(),
        mac_address: mac.unwrap_or_else(|| policy.mac_prefix.random(&mut rand::thread_rng())),
        fixed_ips: vec![],
        primary: false,
        status: InterfaceStatus::Down,
        admin_state_up: true,
        description: String::new(),
        tag: None,
        security_groups: vec![],
        port_security_enabled: true,
        allowed_address_pairs: vec![],
        extra_dhcp_opts: vec![],
        tags: vec![],
        device_owner: String::new(),
        public_ip: None,
        parent_id: None,
        vlan_id: None,
        supplementary: false,
        router_id: None,
        created_at: t,
        updated_at: t,
    };
    build(&mut iface)?;
    rules::network_owner_powers(
        network,
        project,
        policy.cloud_admin,
        PortAction::Create,
        OwnerPowers {
            fixed_ip_address: requests.iter().any(|r| r.ip_address.is_some()),
            mac_address: mac.is_some(),
            port_security_disabled: !iface.port_security_enabled,
            allowed_address_pairs: !iface.allowed_address_pairs.is_empty(),
        },
    )?;
    rules::fixed_ips_bound(requests.len(), policy.max_fixed_ips)?;
    rules::check_address_pairs(
        &iface.allowed_address_pairs,
        policy.max_address_pairs,
        iface.supplementary,
    )?;
    rules::check_tags(&iface.tags)?;
    check_text("name", &iface.name)?;
    check_text("description", &iface.description)?;
    check_tag(&iface.tag)?;
    iface.security_groups = resolve_groups(tx, project, groups)?;
    if !iface.port_security_enabled && !iface.security_groups.is_empty() && groups.is_some() {
        return Err(Error::invalid(
            "Security groups cannot be applied to an interface with port security disabled.",
        ));
    }
    if !iface.port_security_enabled {
        iface.security_groups.clear();
    }
    let plan = ipam::take_addresses(tx, network, requests)?;
    let mut taken = plan.taken;
    iface.fixed_ips = ipam::fixed_ips(&taken);
    insert_with_mac(tx, &mut iface, mac, policy.mac_prefix, auto_delete)?;
    if !plan.auto.is_empty() {
        // SLAAC / DHCPv6-stateless: the address follows the MAC just chosen.
        taken.extend(ipam::auto_addresses(&plan.auto, &iface.mac_address)?);
        iface.fixed_ips = ipam::fixed_ips(&taken);
        tx.interface_update(&iface)?;
    }
    ipam::record(tx, iface.id, &taken)?;
    Ok(iface)
}

/// Whether an attach changes an existing VM (the hot-plug rule applies) or
/// equips one being created (it does not: the VM is not running yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plug {
    Hot,
    AtCreate,
}

/// The attach use case inside its transaction (shared by every dialect).
pub fn attach_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    vm_id: VmId,
    spec: &AttachSpec,
    limit: u32,
    policy: PortPolicy,
) -> Result<Interface> {
    if let (Some(network), None) = (spec.network_id, spec.interface_id) {
        tx.read_ahead(&new_port_reads(
            Some(vm_id),
            project,
            network,
            &spec.security_groups,
        ))?;
    }
    let mut vm = owned_vm(tx, project, vm_id)?;
    attach_to_vm(tx, project, &mut vm, spec, limit, policy, Plug::Hot)
}

/// The reads a new interface on `network` makes, in the order it makes
/// them (`Tx::read_ahead`): its VM (locked), the network, the project's
/// default security group when no group is given, the network's subnets.
fn new_port_reads(
    vm: Option<VmId>,
    project: &ProjectId,
    network: NetworkId,
    groups: &Option<Vec<SecurityGroupId>>,
) -> Vec<ReadAhead> {
    let mut reads: Vec<ReadAhead> = vm.map(ReadAhead::Vm).into_iter().collect();
    reads.push(ReadAhead::Network(network));
    if groups.is_none() {
        reads.push(ReadAhead::DefaultGroup(project.clone()));
    }
    reads.push(ReadAhead::SubnetsOf(network));
    reads
}

/// Attach a new interface (on a network, or the Default Network when the
/// spec asks for it) or an existing unattached one to a loaded (and locked)
/// VM, under the attach rules; the VM's interface count is bumped.
pub fn attach_to_vm(
    tx: &mut dyn Tx,
    project: &ProjectId,
    vm: &mut Vm,
    spec: &AttachSpec,
    limit: u32,
    policy: PortPolicy,
    plug: Plug,
) -> Result<Interface> {
    let hot_plug = |vm: &Vm| match plug {
        Plug::Hot => rules::hot_plug_allowed(vm),
        Plug::AtCreate => Ok(()),
    };
    let network_id = match (spec.network_id, spec.interface_id) {
        (None, None) if spec.default_network => Some(
            tx.network_default(project, vm.data_center_id)?
                .ok_or_else(|| {
                    Error::invalid("No network is available to attach: give net_id or port_id.")
                })?
                .id,
        ),
        (n, _) => n,
    };
    let device_owner = spec.device_owner.clone().unwrap_or_default();
    let iface = match (network_id, spec.interface_id) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "Give either network_id or interface_id, not both.",
            ))
        }
        (None, None) => return Err(Error::invalid("Give network_id or interface_id.")),
        (Some(net), None) => {
            let network = crate::network::network_for_port(tx, project, net)?;
            rules::network_in_vm_data_center(vm, &network)?;
            hot_plug(vm)?;
            rules::interface_limit(vm, vm.interface_count, limit)?;
            let status = derived_status(Some(vm));
            let vm_id = vm.id;
            create_interface(
                tx,
                project,
                &network,
                &spec.fixed_ips,
                &spec.security_groups,
                spec.mac_address,
                policy,
                |i| {
                    i.vm_id = Some(vm_id);
                    i.status = status;
                    i.name = spec.name.clone().unwrap_or_default();
                    i.description = spec.description.clone().unwrap_or_default();
                    i.tag = spec.tag.clone();
                    i.device_owner = device_owner;
                    if let Some(ps) = spec.port_security_enabled {
                        i.port_security_enabled = ps;
                    }
                    Ok(())
                },
                true,
            )?
        }
        (None, Some(id)) => {
            if !spec.fixed_ips.is_empty() {
                return Err(Error::invalid(
                    "fixed_ips can only be given with network_id.",
                ));
            }
            let mut iface = owned_interface(tx, project, id)?;
            rules::interface_attachable(&iface)?;
            rules::router_port_not_attachable(&iface)?;
            let network = visible_network(tx, project, iface.network_id)?;
            rules::network_in_vm_data_center(vm, &network)?;
            hot_plug(vm)?;
            rules::interface_limit(vm, vm.interface_count, limit)?;
            check_tag(&spec.tag)?;
            rules::network_owner_powers(
                &network,
                project,
                policy.cloud_admin,
                PortAction::Update,
                OwnerPowers {
                    port_security_disabled: spec.port_security_enabled == Some(false)
                        && iface.port_security_enabled,
                    ..Default::default()
                },
            )?;
            iface.vm_id = Some(vm.id);
            iface.status = derived_status(Some(vm));
            if spec.tag.is_some() {
                iface.tag = spec.tag.clone();
            }
            if spec.security_groups.is_some() {
                iface.security_groups = resolve_groups(tx, project, &spec.security_groups)?;
            }
            if let Some(ps) = spec.port_security_enabled {
                iface.port_security_enabled = ps;
            }
            iface.device_owner = device_owner;
            iface.updated_at = now();
            tx.interface_update(&iface)?;
            iface
        }
    };
    vm.interface_count += 1;
    vm.updated_at = now();
    tx.vm_update(vm)?;
    Ok(iface)
}

/// Release an interface's public IP (permanently) and addresses, then delete it.
pub fn delete_interface_row(tx: &mut dyn Tx, iface: &Interface) -> Result<()> {
    let children = tx.interface_count(&InterfaceFilter {
        parent_id: Some(iface.id),
        ..Default::default()
    })?;
    delete_counted_interface_row(tx, iface, children)
}

/// [`delete_interface_row`] for a caller that has read the interface's
/// number of children already (with `Tx::interface_auto_delete`).
pub fn delete_counted_interface_row(
    tx: &mut dyn Tx,
    iface: &Interface,
    children: u64,
) -> Result<()> {
    rules::parent_has_no_children(iface, children)?;
    if let Some((ip, offset)) = tx.public_ip_of_interface(iface.id)? {
        tx.pool_release(ip.pool_id, offset)?;
        tx.public_ip_delete(ip.id)?;
    }
    ipam::release(tx, &iface.fixed_ips)?;
    tx.interface_delete(iface.id)
}

/// The detach use case: checks the rules, then deletes an interface the
/// attach created or only unbinds one that existed before.
pub fn detach_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    vm_id: VmId,
    id: InterfaceId,
) -> Result<Interface> {
    // In the order of the reads below (the public IP is read, and locked,
    // when the interface goes with the detach, as an attach's do).
    tx.read_ahead(&[
        ReadAhead::Vm(vm_id),
        ReadAhead::Interface(id),
        ReadAhead::InterfaceAutoDelete(id),
        ReadAhead::PublicIpOf(id),
    ])?;
    let mut vm = owned_vm(tx, project, vm_id)?;
    let mut iface = owned_interface(tx, project, id)?;
    if iface.vm_id != Some(vm.id) {
        return Err(Error::not_found(Kind::Interface, id));
    }
    rules::primary_not_removable(&iface)?;
    rules::hot_plug_allowed(&vm)?;
    let (auto_delete, children) = tx.interface_auto_delete(id)?;
    if auto_delete {
        delete_counted_interface_row(tx, &iface, children)?;
    } else {
        iface.vm_id = None;
        iface.status = InterfaceStatus::Down;
        iface.device_owner = String::new();
        iface.updated_at = now();
        tx.interface_update(&iface)?;
    }
    vm.interface_count = vm.interface_count.saturating_sub(1);
    vm.updated_at = now();
    tx.vm_update(&vm)?;
    Ok(iface)
}

/// Apply a patch to an interface (inside a transaction).
pub fn update_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    patch: &InterfacePatch,
    policy: PortPolicy,
) -> Result<Interface> {
    let mut i = owned_interface(tx, project, id)?;
    let asked = OwnerPowers {
        fixed_ip_address: patch.fixed_ips.as_ref().is_some_and(|reqs| {
            reqs.iter().any(|r| {
                r.ip_address
                    .is_some_and(|ip| !i.fixed_ips.iter().any(|f| f.ip_address == ip))
            })
        }),
        mac_address: false,
        port_security_disabled: patch.port_security_enabled == Some(false),
        allowed_address_pairs: patch
            .allowed_address_pairs
            .as_ref()
            .is_some_and(|p| !p.is_empty()),
    };
    if asked != OwnerPowers::default() {
        let network = visible_network(tx, project, i.network_id)?;
        rules::network_owner_powers(
            &network,
            project,
            policy.cloud_admin,
            PortAction::Update,
            asked,
        )?;
    }
    if let Some(reqs) = &patch.fixed_ips {
        rules::fixed_ips_bound(reqs.len(), policy.max_fixed_ips)?;
    }
    if let Some(p) = &patch.allowed_address_pairs {
        rules::check_address_pairs(p, policy.max_address_pairs, i.supplementary)?;
    }
    if let Some(t) = &patch.tags {
        rules::check_tags(t)?;
    }
    if let Some(n) = &patch.name {
        check_text("name", n)?;
        i.name = n.clone();
    }
    if let Some(d) = &patch.description {
        check_text("description", d)?;
        i.description = d.clone();
    }
    if patch.tag.is_some() {
        check_tag(&patch.tag)?;
        i.tag = patch.tag.clone();
    }
    if let Some(ps) = patch.port_security_enabled {
        i.port_security_enabled = ps;
        if !ps && patch.security_groups.is_none() {
            i.security_groups.clear();
        }
    }
    if patch.security_groups.is_some() {
        let groups = resolve_groups(tx, project, &patch.security_groups)?;
        if !i.port_security_enabled && !groups.is_empty() {
            return Err(Error::invalid(
                "Security groups cannot be applied to an interface with port security disabled.",
            ));
        }
        i.security_groups = groups;
    }
    if let Some(a) = patch.admin_state_up {
        i.admin_state_up = a;
    }
    if let Some(p) = &patch.allowed_address_pairs {
        i.allowed_address_pairs = p.clone();
    }
    if let Some(changes) = &patch.extra_dhcp_opts {
        i.extra_dhcp_opts = rules::dhcp_opts_apply(&i.extra_dhcp_opts, changes)?;
    }
    if let Some(t) = &patch.tags {
        i.tags = t.clone();
    }
    if let Some(reqs) = &patch.fixed_ips {
        let network = visible_network(tx, project, i.network_id)?;
        let keep: Vec<FixedIp> = i
            .fixed_ips
            .iter()
            .filter(|f| reqs.iter().any(|r| r.ip_address == Some(f.ip_address)))
            .cloned()
            .collect();
        let drop: Vec<FixedIp> = i
            .fixed_ips
            .iter()
            .filter(|f| !keep.contains(f))
            .cloned()
            .collect();
        ipam::release(tx, &drop)?;
        let new_reqs: Vec<FixedIpRequest> = reqs
            .iter()
            .filter(|r| match r.ip_address {
                Some(ip) => !keep.iter().any(|f| f.ip_address == ip),
                None => true,
            })
            .cloned()
            .collect();
        let taken = if new_reqs.is_empty() {
            vec![]
        } else {
            let plan = ipam::take_addresses(tx, &network, &new_reqs)?;
            let mut taken = plan.taken;
            taken.extend(ipam::auto_addresses(&plan.auto, &i.mac_address)?);
            taken
        };
        ipam::record(tx, i.id, &taken)?;
        i.fixed_ips = keep.into_iter().chain(ipam::fixed_ips(&taken)).collect();
    }
    i.updated_at = now();
    tx.interface_update(&i)?;
    tx.interface_get(id)?
        .ok_or_else(|| Error::not_found(Kind::Interface, id))
}

impl Service {
    /// `interface_list`: a project's interfaces, filtered and paged.
    pub async fn interface_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        mut filter: InterfaceFilter,
        page: PageRequest,
    ) -> Result<Vec<Interface>> {
        filter.project_id = Some(project.clone());
        self.project_read(caller, project, Need::Read, move |tx, p| {
            if let Some(Some(vm)) = filter.vm_id {
                owned_vm(tx, p, vm)?;
            }
            tx.interface_list(&filter, &page)
        })
        .await
    }

    /// `interface_get`.
    pub async fn interface_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
    ) -> Result<Interface> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            owned_interface(tx, p, id)
        })
        .await
    }

    /// `interface_attach`: add an interface to a VM.
    pub async fn interface_attach(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
        spec: AttachSpec,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        let limit = self.config.interface_limit;
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = attach_tx(tx, p, vm, &spec, limit, policy)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Attach, Some(&i))?;
            Ok(i)
        })
        .await
    }

    /// `interface_detach`: remove an interface from a VM (never the primary).
    pub async fn interface_detach(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
        id: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = detach_tx(tx, p, vm, id)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Detach, Some(&i))?;
            Ok(i)
        })
        .await
    }

    /// `interface_create`: an unattached interface (a port).
    pub async fn interface_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: InterfaceSpec,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = interface_create_tx(tx, p, &spec, policy)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Create, Some(&i))?;
            Ok(i)
        })
        .await
    }

    /// `interface_update`.
    pub async fn interface_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        patch: InterfacePatch,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = update_tx(tx, p, id, &patch, policy)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Update, Some(&i))?;
            Ok(i)
        })
        .await
    }

    /// `interface_delete`: delete an interface; an attached one goes through
    /// the same rules as a detach first.
    pub async fn interface_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            interface_delete_tx(tx, p, id)?;
            emit_deleted(tx, Kind::Interface, id, Some(p))
        })
        .await
    }
}

/// Create an unattached interface (inside a transaction).
pub fn interface_create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &InterfaceSpec,
    policy: PortPolicy,
) -> Result<Interface> {
    tx.read_ahead(&new_port_reads(
        None,
        project,
        spec.network_id,
        &spec.security_groups,
    ))?;
    let network = crate::network::network_for_port(tx, project, spec.network_id)?;
    let iface = create_interface(
        tx,
        project,
        &network,
        &spec.fixed_ips,
        &spec.security_groups,
        spec.mac_address,
        policy,
        |i| {
            i.name = spec.name.clone().unwrap_or_default();
            i.description = spec.description.clone().unwrap_or_default();
            i.allowed_address_pairs = spec.allowed_address_pairs.clone();
            i.extra_dhcp_opts = rules::dhcp_opts_apply(&[], &spec.extra_dhcp_opts)?;
            i.tags = spec.tags.clone();
            i.device_owner = spec.device_owner.clone().unwrap_or_default();
            if let Some(a) = spec.admin_state_up {
                i.admin_state_up = a;
            }
            if let Some(ps) = spec.port_security_enabled {
                i.port_security_enabled = ps;
            }
            Ok(())
        },
        false,
    )?;
    Ok(iface)
}

/// Delete an interface (inside a transaction); an attached one must pass the
/// detach rules.
pub fn interface_delete_tx(tx: &mut dyn Tx, project: &ProjectId, id: InterfaceId) -> Result<()> {
    let iface = owned_interface(tx, project, id)?;
    rules::router_port_not_deletable(&iface)?;
    if let Some(vm_id) = iface.vm_id {
        let mut vm = owned_vm(tx, project, vm_id)?;
        rules::primary_not_removable(&iface)?;
        rules::hot_plug_allowed(&vm)?;
        vm.interface_count = vm.interface_count.saturating_sub(1);
        vm.updated_at = now();
        tx.vm_update(&vm)?;
    }
    delete_interface_row(tx, &iface)
}
