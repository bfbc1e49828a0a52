//! Supplementary (VLAN) interfaces: an interface that hangs off an elastic
//! interface (its parent NIC) on a VLAN id 1-4094 unique among that parent's
//! supplementary interfaces, with its own MAC, IPv4 address, optional IPv6
//! address, security groups, allowed address pairs, description and tags.
//!
//! States: attached to a parent (Huawei's `NORMAL`: `parent_id` and
//! `vlan_id` set) or unbound after a detach (`UNBOUND`: both `None`). The
//! parent's VM is reported as `parent_vm_id`.
//!
//! Every use case runs in one transaction. The parent row is read first (on
//! PostgreSQL that read locks it), so VLAN choices on one parent run one
//! after the other; the unique index `interfaces_parent_vlan` on
//! `(parent_id, vlan_id)` has the last word.
//!
//! Removing a parent that still carries supplementary interfaces is refused
//! with 409 (`rules::parent_has_no_children`, checked by
//! `interface::delete_interface_row`, which every interface removal — delete,
//! detach of an auto-created NIC, VM delete — goes through).

use crate::feed::{emit, emit_deleted};
use crate::interface::{
    create_interface, delete_interface_row, owned_interface, resolve_groups, update_tx,
    InterfacePatch,
};
use crate::ipam::FixedIpRequest;
use crate::network::visible_network;
use crate::PortPolicy;
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::query::{cut_page, ChunkWalk};
use nicplane_domain::rules;
use nicplane_domain::types::*;
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::{InterfaceFilter, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Most supplementary interfaces one batch create makes (Huawei's limit).
pub const BATCH_MAX: u32 = 20;
pub use nicplane_domain::rules::{TAGS_MAX, TAG_KEY_MAX, TAG_VALUE_MAX};
/// `device_owner` of every supplementary interface.
pub const DEVICE_OWNER: &str = "network:supplementary";

/// A supplementary interface to create (the parent is given separately).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementarySpec {
    /// The network (Huawei: virtual subnet) its addresses come from; it must
    /// be in the parent's data center.
    #[schema(value_type = String)]
    pub network_id: NetworkId,
    /// VLAN id 1-4094; the lowest free one on the parent when omitted.
    #[serde(default)]
    #[schema(value_type = Option<u16>, minimum = 1, maximum = 4094)]
    pub vlan_id: Option<VlanId>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Also take an IPv6 address from the network's IPv6 subnet.
    #[serde(default)]
    pub ipv6_enable: bool,
    /// A specific IPv4 address; the next free one when omitted.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ip_address: Option<IpAddr>,
    /// A specific IPv6 address (implies `ipv6_enable`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ipv6_address: Option<IpAddr>,
    /// Security group ids; the project's default group when omitted.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    /// Whether security groups apply (default true).
    #[serde(default)]
    pub security_enabled: Option<bool>,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    #[serde(default)]
    pub tags: Vec<ResourceTag>,
}

/// Changes to a supplementary interface.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementaryPatch {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Replace the security groups (`[]` removes them all).
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    pub allowed_address_pairs: Option<Vec<AddressPair>>,
}

/// Attach an unbound supplementary interface to a parent.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementaryAttach {
    #[schema(value_type = String)]
    pub parent_id: InterfaceId,
    /// VLAN id on the new parent; the lowest free one when omitted.
    #[serde(default)]
    #[schema(value_type = Option<u16>, minimum = 1, maximum = 4094)]
    pub vlan_id: Option<VlanId>,
    /// Security groups; the project's default group when omitted.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub security_groups: Option<Vec<SecurityGroupId>>,
    #[serde(default)]
    pub security_enabled: Option<bool>,
}

/// A supplementary interface with its parent's VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplementaryInterface {
    #[serde(flatten)]
    pub interface: Interface,
    /// The VM of the parent interface (Huawei's `parent_device_id`).
    #[schema(value_type = Option<String>)]
    pub parent_vm_id: Option<VmId>,
}

impl SupplementaryInterface {
    /// Attached to a parent (Huawei `NORMAL`) or not (`UNBOUND`).
    pub fn is_bound(&self) -> bool {
        self.interface.parent_id.is_some()
    }
}

/// Filters of the supplementary interface list. Within one field the values
/// are alternatives; fields must all match. Empty means "any".
#[derive(Debug, Clone, Default)]
pub struct SupplementaryFilter {
    pub ids: Vec<InterfaceId>,
    pub network_ids: Vec<NetworkId>,
    pub ip_addresses: Vec<IpAddr>,
    pub mac_addresses: Vec<MacAddr>,
    /// `Some(empty)` matches nothing (e.g. an unknown VPC id).
    pub data_center_ids: Option<Vec<DataCenterId>>,
    pub descriptions: Vec<String>,
    pub parent_ids: Vec<InterfaceId>,
    /// Tag filters: the key must be present and, when values are given, its
    /// value one of them.
    pub tags: Vec<(String, Vec<String>)>,
}

/// The only value of a one-value filter (the store applies those itself).
fn one<T: Copy>(v: &[T]) -> Option<T> {
    match v {
        [x] => Some(*x),
        _ => None,
    }
}

impl SupplementaryFilter {
    fn matches(&self, i: &Interface) -> bool {
        fn any<T: PartialEq>(want: &[T], have: impl Fn(&T) -> bool) -> bool {
            want.is_empty() || want.iter().any(have)
        }
        any(&self.ids, |id| *id == i.id)
            && any(&self.network_ids, |n| *n == i.network_id)
            && any(&self.ip_addresses, |ip| {
                i.fixed_ips.iter().any(|f| f.ip_address == *ip)
            })
            && any(&self.mac_addresses, |m| *m == i.mac_address)
            && self
                .data_center_ids
                .as_ref()
                .is_none_or(|dcs| dcs.contains(&i.data_center_id))
            && any(&self.descriptions, |d| *d == i.description)
            && any(&self.parent_ids, |p| Some(*p) == i.parent_id)
            && self.tags.iter().all(|(k, values)| {
                i.tags
                    .iter()
                    .any(|t| &t.key == k && (values.is_empty() || values.contains(&t.value)))
            })
    }

    /// The part of the filter the store can apply.
    fn store_filter(&self, project: &ProjectId) -> InterfaceFilter {
        InterfaceFilter {
            project_id: Some(project.clone()),
            supplementary: Some(true),
            ids: (!self.ids.is_empty()).then(|| self.ids.clone()),
            parent_id: one(&self.parent_ids),
            network_id: one(&self.network_ids),
            mac_address: one(&self.mac_addresses),
            ip_address: one(&self.ip_addresses),
            ..Default::default()
        }
    }
}

/// A change to a supplementary interface's tags.
#[derive(Debug, Clone)]
pub enum TagChange {
    /// Add or overwrite one tag.
    Put(ResourceTag),
    /// Add or overwrite several; a key twice in the request is refused.
    PutAll(Vec<ResourceTag>),
    /// Remove the given keys (only where the value matches, when one is
    /// given); a missing key is not an error.
    RemoveAll(Vec<(String, Option<String>)>),
    /// Remove one key; a missing key is "not found".
    Remove(String),
}

/// Tags of the project's supplementary interfaces: each key with its values.
pub type TagSummary = BTreeMap<String, BTreeSet<String>>;

// ----- rules ---------------------------------------------------------------

/// Choose the VLAN on `parent` (`rules::supplementary_vlan`). The query
/// reads at most 4094 rows.
fn choose_vlan(tx: &mut dyn Tx, parent: &Interface, wanted: Option<VlanId>) -> Result<VlanId> {
    let used = tx.interface_vlans_of_parent(parent.id)?;
    rules::supplementary_vlan(&used, wanted, parent.id)
}

/// Load an elastic interface of the project that may carry supplementary ones.
fn parent_of(tx: &mut dyn Tx, project: &ProjectId, id: InterfaceId) -> Result<Interface> {
    let parent = owned_interface(tx, project, id)?;
    rules::parent_must_be_elastic(&parent)?;
    Ok(parent)
}

pub use nicplane_domain::rules::{check_tag_key, check_tags};

// ----- transaction-level use cases ---------------------------------------

/// Load a supplementary interface of the project; anything else is "not found".
pub fn owned_supplementary(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
) -> Result<Interface> {
    let i = owned_interface(tx, project, id)?;
    if !i.supplementary {
        return Err(Error::not_found(Kind::Interface, id));
    }
    Ok(i)
}

/// The view of a supplementary interface: with its parent's VM.
pub fn view(tx: &mut dyn Tx, i: Interface) -> Result<SupplementaryInterface> {
    let parent_vm_id = match i.parent_id {
        Some(p) => tx.interface_get(p)?.and_then(|p| p.vm_id),
        None => None,
    };
    Ok(SupplementaryInterface {
        interface: i,
        parent_vm_id,
    })
}

fn views(tx: &mut dyn Tx, items: Vec<Interface>) -> Result<Vec<SupplementaryInterface>> {
    let mut vms: HashMap<InterfaceId, Option<VmId>> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let parent_vm_id = match i.parent_id {
            Some(p) => match vms.get(&p) {
                Some(v) => *v,
                None => {
                    let v = tx.interface_get(p)?.and_then(|p| p.vm_id);
                    vms.insert(p, v);
                    v
                }
            },
            None => None,
        };
        out.push(SupplementaryInterface {
            interface: i,
            parent_vm_id,
        });
    }
    Ok(out)
}

/// Create a supplementary interface on `parent_id` (inside a transaction).
pub fn create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    parent_id: InterfaceId,
    spec: &SupplementarySpec,
    policy: PortPolicy,
) -> Result<SupplementaryInterface> {
    let parent = parent_of(tx, project, parent_id)?;
    let network = crate::network::network_for_port(tx, project, spec.network_id)?;
    rules::supplementary_in_parent_data_center(&parent, &network)?;
    if let Some(d) = &spec.description {
        check_text("description", d)?;
    }
    let vlan = choose_vlan(tx, &parent, spec.vlan_id)?;
    let mut requests = vec![FixedIpRequest {
        ip_address: spec.ip_address,
        ip_version: Some(4),
        ..Default::default()
    }];
    if spec.ipv6_enable || spec.ipv6_address.is_some() {
        requests.push(FixedIpRequest {
            ip_address: spec.ipv6_address,
            ip_version: Some(6),
            ..Default::default()
        });
    }
    let iface = create_interface(
        tx,
        project,
        &network,
        &requests,
        &spec.security_groups,
        None,
        policy,
        |i| {
            i.supplementary = true;
            i.parent_id = Some(parent.id);
            i.vlan_id = Some(vlan);
            i.status = parent.status;
            i.description = spec.description.clone().unwrap_or_default();
            i.allowed_address_pairs = spec.allowed_address_pairs.clone();
            i.tags = spec.tags.clone();
            i.device_owner = DEVICE_OWNER.into();
            if let Some(se) = spec.security_enabled {
                i.port_security_enabled = se;
            }
            Ok(())
        },
        false,
    )?;
    Ok(SupplementaryInterface {
        interface: iface,
        parent_vm_id: parent.vm_id,
    })
}

/// Create `count` supplementary interfaces on one parent, all or none.
pub fn batch_create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    parent_id: InterfaceId,
    spec: &SupplementarySpec,
    count: u32,
    policy: PortPolicy,
) -> Result<Vec<SupplementaryInterface>> {
    if count == 0 || count > BATCH_MAX {
        return Err(Error::invalid_value(
            "count",
            format!("{count} is outside the range 1-{BATCH_MAX}."),
        ));
    }
    if count > 1
        && (spec.vlan_id.is_some() || spec.ip_address.is_some() || spec.ipv6_address.is_some())
    {
        return Err(Error::invalid(
            "A batch create assigns VLAN ids and addresses itself; do not give vlan_id, ip_address or ipv6_address.",
        ));
    }
    (0..count)
        .map(|_| create_tx(tx, project, parent_id, spec, policy))
        .collect()
}

/// Change the description, security groups or address pairs.
pub fn update_supplementary_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    patch: &SupplementaryPatch,
    policy: PortPolicy,
) -> Result<SupplementaryInterface> {
    owned_supplementary(tx, project, id)?;
    let i = update_tx(
        tx,
        project,
        id,
        &InterfacePatch {
            description: patch.description.clone(),
            security_groups: patch.security_groups.clone(),
            allowed_address_pairs: patch.allowed_address_pairs.clone(),
            ..Default::default()
        },
        policy,
    )?;
    view(tx, i)
}

/// Delete a supplementary interface and release its addresses.
pub fn delete_tx(tx: &mut dyn Tx, project: &ProjectId, id: InterfaceId) -> Result<()> {
    let i = owned_supplementary(tx, project, id)?;
    delete_interface_row(tx, &i)
}

/// Attach an unbound supplementary interface to a parent.
pub fn attach_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    req: &SupplementaryAttach,
    cloud_admin: bool,
) -> Result<SupplementaryInterface> {
    let mut i = owned_supplementary(tx, project, id)?;
    if let Some(p) = i.parent_id {
        return Err(Error::conflict(
            ConflictReason::WrongState,
            format!("Supplementary interface {id} is already attached to parent interface {p}; detach it first."),
        ));
    }
    let parent = parent_of(tx, project, req.parent_id)?;
    let network = visible_network(tx, project, i.network_id)?;
    rules::supplementary_in_parent_data_center(&parent, &network)?;
    rules::network_owner_powers(
        &network,
        project,
        cloud_admin,
        rules::PortAction::Update,
        rules::OwnerPowers {
            port_security_disabled: req.security_enabled == Some(false) && i.port_security_enabled,
            ..Default::default()
        },
    )?;
    let vlan = choose_vlan(tx, &parent, req.vlan_id)?;
    if let Some(se) = req.security_enabled {
        i.port_security_enabled = se;
    }
    if i.port_security_enabled {
        i.security_groups = resolve_groups(tx, project, &req.security_groups)?;
    } else if req.security_groups.as_ref().is_some_and(|g| !g.is_empty()) {
        return Err(Error::invalid(
            "Security groups cannot be applied to an interface with security disabled.",
        ));
    } else {
        i.security_groups.clear();
    }
    i.parent_id = Some(parent.id);
    i.vlan_id = Some(vlan);
    i.status = parent.status;
    i.updated_at = now();
    tx.interface_update(&i)?;
    Ok(SupplementaryInterface {
        interface: i,
        parent_vm_id: parent.vm_id,
    })
}

/// Detach a supplementary interface from its parent: it keeps its addresses,
/// MAC and groups, and loses its parent and VLAN.
pub fn detach_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
) -> Result<SupplementaryInterface> {
    let mut i = owned_supplementary(tx, project, id)?;
    if i.parent_id.is_none() {
        return Err(Error::conflict(
            ConflictReason::WrongState,
            format!("Supplementary interface {id} is not attached to a parent interface."),
        ));
    }
    i.parent_id = None;
    i.vlan_id = None;
    i.status = InterfaceStatus::Down;
    i.updated_at = now();
    tx.interface_update(&i)?;
    Ok(SupplementaryInterface {
        interface: i,
        parent_vm_id: None,
    })
}

/// Move supplementary interfaces to another parent, all or none. Each keeps
/// its VLAN id (an unbound one gets the lowest free); a VLAN already used on
/// the new parent is a conflict.
pub fn migrate_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    parent_id: InterfaceId,
    ids: &[InterfaceId],
) -> Result<Vec<SupplementaryInterface>> {
    if ids.is_empty() {
        return Err(Error::invalid(
            "Give at least one supplementary interface to migrate.",
        ));
    }
    let parent = parent_of(tx, project, parent_id)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(*id) {
            continue;
        }
        let mut i = owned_supplementary(tx, project, *id)?;
        if i.parent_id == Some(parent.id) {
            out.push(SupplementaryInterface {
                interface: i,
                parent_vm_id: parent.vm_id,
            });
            continue;
        }
        let network = visible_network(tx, project, i.network_id)?;
        rules::supplementary_in_parent_data_center(&parent, &network)?;
        let vlan = choose_vlan(tx, &parent, i.vlan_id)?;
        i.parent_id = Some(parent.id);
        i.vlan_id = Some(vlan);
        i.status = parent.status;
        i.updated_at = now();
        tx.interface_update(&i)?;
        out.push(SupplementaryInterface {
            interface: i,
            parent_vm_id: parent.vm_id,
        });
    }
    Ok(out)
}

/// Apply a tag change.
pub fn tags_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    change: &TagChange,
) -> Result<SupplementaryInterface> {
    let mut i = owned_supplementary(tx, project, id)?;
    let put = |tags: &mut Vec<ResourceTag>, t: &ResourceTag| match tags
        .iter_mut()
        .find(|x| x.key == t.key)
    {
        Some(x) => x.value = t.value.clone(),
        None => tags.push(t.clone()),
    };
    match change {
        TagChange::Put(t) => {
            check_tags(std::slice::from_ref(t))?;
            put(&mut i.tags, t);
        }
        TagChange::PutAll(ts) => {
            check_tags(ts)?;
            for t in ts {
                put(&mut i.tags, t);
            }
        }
        TagChange::RemoveAll(keys) => {
            for (k, v) in keys {
                check_tag_key(k)?;
                i.tags
                    .retain(|t| !(&t.key == k && v.as_ref().is_none_or(|v| v == &t.value)));
            }
        }
        TagChange::Remove(k) => {
            let before = i.tags.len();
            i.tags.retain(|t| &t.key != k);
            if i.tags.len() == before {
                return Err(Error::NotFound {
                    kind: Kind::Interface,
                    id: format!("{id} tag '{k}'"),
                });
            }
        }
    }
    check_tags(&i.tags)?;
    i.updated_at = now();
    tx.interface_update(&i)?;
    view(tx, i)
}

/// One page of the project's supplementary interfaces, ordered by id, after
/// `marker` (exclusive); the flag says whether more follow.
pub fn list_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    filter: &SupplementaryFilter,
    limit: usize,
    marker: Option<String>,
) -> Result<(Vec<SupplementaryInterface>, bool)> {
    let base = filter.store_filter(project);
    let mut out = Vec::new();
    let mut walk = ChunkWalk::new(marker, Vec::new());
    while let Some(page) = walk.request() {
        let chunk = tx.interface_list(&base, &page)?;
        walk.advance(chunk.len(), chunk.last().map(|i| i.id.to_string()));
        out.extend(chunk.into_iter().filter(|i| filter.matches(i)));
        if out.len() > limit {
            break;
        }
    }
    let page = cut_page(out, limit, |i| i.id.to_string());
    Ok((views(tx, page.items)?, page.next_marker.is_some()))
}

/// Record a change of a supplementary interface (an interface event).
fn emit_supplementary(
    tx: &mut dyn Tx,
    project: &ProjectId,
    action: Action,
    s: &SupplementaryInterface,
) -> Result<()> {
    emit(
        tx,
        Kind::Interface,
        s.interface.id,
        Some(project),
        action,
        Some(s),
    )
}

impl Service {
    /// `supplementary_create`: a supplementary interface on a parent.
    pub async fn supplementary_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        parent: InterfaceId,
        spec: SupplementarySpec,
        opts: &WriteOptions,
    ) -> Result<SupplementaryInterface> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let s = create_tx(tx, p, parent, &spec, policy)?;
            emit_supplementary(tx, p, Action::Create, &s)?;
            Ok(s)
        })
        .await
    }

    /// `supplementary_batch_create`: `count` supplementary interfaces on one
    /// parent with automatic VLANs and addresses, all or none.
    pub async fn supplementary_batch_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        parent: InterfaceId,
        spec: SupplementarySpec,
        count: u32,
        opts: &WriteOptions,
    ) -> Result<Vec<SupplementaryInterface>> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let all = batch_create_tx(tx, p, parent, &spec, count, policy)?;
            for s in &all {
                emit_supplementary(tx, p, Action::Create, s)?;
            }
            Ok(all)
        })
        .await
    }

    /// `supplementary_list`: one page, filtered.
    pub async fn supplementary_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        filter: SupplementaryFilter,
        limit: usize,
        marker: Option<String>,
    ) -> Result<(Vec<SupplementaryInterface>, bool)> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            list_tx(tx, p, &filter, limit, marker.clone())
        })
        .await
    }

    /// `supplementary_count`: how many supplementary interfaces the project has.
    pub async fn supplementary_count(&self, caller: &Caller, project: &ProjectId) -> Result<u64> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            tx.interface_count(&InterfaceFilter {
                project_id: Some(p.clone()),
                supplementary: Some(true),
                ..Default::default()
            })
        })
        .await
    }

    /// `supplementary_get`.
    pub async fn supplementary_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
    ) -> Result<SupplementaryInterface> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let i = owned_supplementary(tx, p, id)?;
            view(tx, i)
        })
        .await
    }

    /// `supplementary_update`.
    pub async fn supplementary_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        patch: SupplementaryPatch,
        opts: &WriteOptions,
    ) -> Result<SupplementaryInterface> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let s = update_supplementary_tx(tx, p, id, &patch, policy)?;
            emit_supplementary(tx, p, Action::Update, &s)?;
            Ok(s)
        })
        .await
    }

    /// `supplementary_delete`: its addresses go back to the subnets.
    pub async fn supplementary_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            delete_tx(tx, p, id)?;
            emit_deleted(tx, Kind::Interface, id, Some(p))
        })
        .await
    }

    /// `supplementary_attach`: attach an unbound one to a parent.
    pub async fn supplementary_attach(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        req: SupplementaryAttach,
        opts: &WriteOptions,
    ) -> Result<SupplementaryInterface> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let s = attach_tx(tx, p, id, &req, cloud_admin)?;
            emit_supplementary(tx, p, Action::Attach, &s)?;
            Ok(s)
        })
        .await
    }

    /// `supplementary_detach`: unbind from the parent (state UNBOUND).
    pub async fn supplementary_detach(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<SupplementaryInterface> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let s = detach_tx(tx, p, id)?;
            emit_supplementary(tx, p, Action::Detach, &s)?;
            Ok(s)
        })
        .await
    }

    /// `supplementary_migrate`: move several to another parent, all or none.
    pub async fn supplementary_migrate(
        &self,
        caller: &Caller,
        project: &ProjectId,
        parent: InterfaceId,
        ids: Vec<InterfaceId>,
        opts: &WriteOptions,
    ) -> Result<Vec<SupplementaryInterface>> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let all = migrate_tx(tx, p, parent, &ids)?;
            for s in &all {
                emit_supplementary(tx, p, Action::Attach, s)?;
            }
            Ok(all)
        })
        .await
    }

    /// `supplementary_tags_update`: add, overwrite or remove tags.
    pub async fn supplementary_tags_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        change: TagChange,
        opts: &WriteOptions,
    ) -> Result<SupplementaryInterface> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let s = tags_tx(tx, p, id, &change)?;
            emit_supplementary(tx, p, Action::Update, &s)?;
            Ok(s)
        })
        .await
    }

    /// `supplementary_tag_summary`: every tag key of the project's
    /// supplementary interfaces with the values in use.
    pub async fn supplementary_tag_summary(
        &self,
        caller: &Caller,
        project: &ProjectId,
    ) -> Result<TagSummary> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let (all, _) = list_tx(tx, p, &SupplementaryFilter::default(), usize::MAX - 1, None)?;
            let mut out = TagSummary::new();
            for s in all {
                for t in s.interface.tags {
                    out.entry(t.key).or_default().insert(t.value);
                }
            }
            Ok(out)
        })
        .await
    }
}
