//! Trunks (Neutron's name for a parent interface carrying VLAN subports) on
//! the supplementary-interface model: a trunk names a parent elastic
//! interface; its subports are the parent's supplementary interfaces, each
//! on its own VLAN id.
//!
//! * Adding a subport takes an ordinary interface that is attached to no VM
//!   and carries no subports of its own (it becomes a supplementary
//!   interface on the parent), or an unbound supplementary interface (it is
//!   attached, as `supplementary::attach_tx` does).
//! * Removing a subport turns it back into an ordinary, unattached interface
//!   that keeps its addresses, MAC and groups.
//! * A parent that got supplementary interfaces through another dialect is a
//!   trunk already: its id is the parent's id until it is named.
//!
//! The VLAN rules are the supplementary interfaces' (unique per parent,
//! backed by the index `interfaces_parent_vlan`); one trunk per parent is
//! backed by the unique index `trunks_parent`.

use crate::feed::emit_kind;
use crate::interface::owned_interface;
use crate::supplementary::{self, SupplementaryAttach, DEVICE_OWNER};
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::*;
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::{InterfaceFilter, PageRequest, TrunkRow, Tx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A trunk with its parent and subports (by VLAN id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trunk {
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub parent: Interface,
    pub subports: Vec<Interface>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A subport to add: an interface and its VLAN id on the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubportSpec {
    pub interface_id: InterfaceId,
    pub vlan_id: VlanId,
}

/// A trunk to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrunkSpec {
    pub name: String,
    pub description: String,
    pub admin_state_up: Option<bool>,
}

/// Changes to a trunk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrunkPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
}

fn children(tx: &mut dyn Tx, parent: InterfaceId) -> Result<Vec<Interface>> {
    let mut v = tx.interface_list(
        &InterfaceFilter {
            parent_id: Some(parent),
            supplementary: Some(true),
            ..Default::default()
        },
        &PageRequest::default(),
    )?;
    v.sort_by_key(|i| i.vlan_id);
    Ok(v)
}

fn assemble(tx: &mut dyn Tx, row: TrunkRow, parent: Interface) -> Result<Trunk> {
    let subports = children(tx, parent.id)?;
    Ok(Trunk {
        id: row.id,
        project_id: row.project_id,
        name: row.name,
        description: row.description,
        admin_state_up: row.admin_state_up,
        parent,
        subports,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The row of a parent that carries supplementary interfaces but was never
/// named as a trunk: its id is the parent's.
fn implicit_row(parent: &Interface) -> TrunkRow {
    TrunkRow {
        id: parent.id.to_string(),
        project_id: parent.project_id.clone(),
        parent_id: parent.id,
        name: String::new(),
        description: String::new(),
        admin_state_up: true,
        created_at: parent.created_at,
        updated_at: parent.updated_at,
    }
}

/// Find a trunk of the project; `materialize` stores an implicit one so
/// that it can be changed.
fn find(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: &str,
    materialize: bool,
) -> Result<(TrunkRow, Interface)> {
    let missing = || Error::not_found(Kind::Interface, format!("trunk {id}"));
    if let Some(row) = tx.trunk_get(id)? {
        if &row.project_id != project {
            return Err(missing());
        }
        let parent = owned_interface(tx, project, row.parent_id)?;
        return Ok((row, parent));
    }
    let pid: InterfaceId = id.parse().map_err(|_| missing())?;
    let parent = owned_interface(tx, project, pid).map_err(|_| missing())?;
    if parent.supplementary || children(tx, pid)?.is_empty() {
        return Err(missing());
    }
    let row = implicit_row(&parent);
    if materialize {
        tx.trunk_insert(&row)?;
    }
    Ok((row, parent))
}

/// The trunk a parent interface carries, if any (named or implicit).
pub fn trunk_of_parent_tx(tx: &mut dyn Tx, parent: &Interface) -> Result<Option<String>> {
    if let Some(row) = tx.trunk_of_parent(parent.id)? {
        return Ok(Some(row.id));
    }
    if !parent.supplementary && !children(tx, parent.id)?.is_empty() {
        return Ok(Some(parent.id.to_string()));
    }
    Ok(None)
}

fn trunk_disabled(row: &TrunkRow) -> Result<()> {
    if !row.admin_state_up {
        return Err(Error::conflict(
            ConflictReason::WrongState,
            format!("Trunk {} is currently disabled.", row.id),
        ));
    }
    Ok(())
}

/// Add subports to a parent (inside a transaction), all or none.
pub fn add_subports_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    parent: &Interface,
    subports: &[SubportSpec],
) -> Result<()> {
    let mut seen = BTreeSet::new();
    rules::list_bound("sub_ports", subports.len(), rules::BULK_CREATE_MAX)?;
    for s in subports {
        if !seen.insert(s.interface_id) {
            return Err(Error::invalid(format!(
                "Port {} is given twice.",
                s.interface_id
            )));
        }
        if s.interface_id == parent.id {
            return Err(Error::invalid(format!(
                "Port {} is the trunk's parent and cannot be its subport.",
                parent.id
            )));
        }
        let mut i = owned_interface(tx, project, s.interface_id)?;
        if i.supplementary {
            if let Some(p) = i.parent_id {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    format!("Port {} is in use by the trunk of parent port {p}.", i.id),
                ));
            }
            supplementary::attach_tx(
                tx,
                project,
                i.id,
                &SupplementaryAttach {
                    parent_id: parent.id,
                    vlan_id: Some(s.vlan_id),
                    security_groups: Some(i.security_groups.clone()),
                    security_enabled: Some(i.port_security_enabled),
                },
                // The port keeps its own security setting: no owner power asked.
                false,
            )?;
            continue;
        }
        if let Some(vm) = i.vm_id {
            return Err(Error::conflict(
                ConflictReason::InUse,
                format!(
                    "Port {} is still in use by server {vm}; detach it first.",
                    i.id
                ),
            ));
        }
        if trunk_of_parent_tx(tx, &i)?.is_some() {
            return Err(Error::conflict(
                ConflictReason::InUse,
                format!(
                    "Port {} is the parent port of a trunk and cannot be a subport.",
                    i.id
                ),
            ));
        }
        let network = tx
            .network_get(i.network_id)?
            .ok_or_else(|| Error::not_found(Kind::Network, i.network_id))?;
        rules::supplementary_in_parent_data_center(parent, &network)?;
        if tx
            .interface_vlans_of_parent(parent.id)?
            .contains(&s.vlan_id.get())
        {
            return Err(rules::vlan_in_use(s.vlan_id.get(), &parent.id.to_string()));
        }
        tx.interface_set_supplementary(i.id, true)?;
        i.supplementary = true;
        i.parent_id = Some(parent.id);
        i.vlan_id = Some(s.vlan_id);
        i.status = parent.status;
        i.device_owner = DEVICE_OWNER.into();
        i.updated_at = now();
        tx.interface_update(&i)?;
    }
    Ok(())
}

/// Turn a subport back into an ordinary unattached interface.
fn release_subport(tx: &mut dyn Tx, mut i: Interface) -> Result<()> {
    i.parent_id = None;
    i.vlan_id = None;
    i.status = InterfaceStatus::Down;
    i.device_owner = String::new();
    i.updated_at = now();
    tx.interface_update(&i)?;
    tx.interface_set_supplementary(i.id, false)
}

/// Remove subports from a parent (inside a transaction), all or none.
pub fn remove_subports_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    trunk: &str,
    parent: &Interface,
    ids: &[InterfaceId],
) -> Result<()> {
    rules::list_bound("sub_ports", ids.len(), rules::BULK_CREATE_MAX)?;
    for id in ids {
        let i = owned_interface(tx, project, *id)?;
        if !i.supplementary || i.parent_id != Some(parent.id) {
            return Err(Error::not_found(
                Kind::Interface,
                format!("{id} on trunk {trunk}"),
            ));
        }
        release_subport(tx, i)?;
    }
    Ok(())
}

impl Service {
    /// `trunk_list`: the project's trunks, named and implicit.
    pub async fn trunk_list(&self, caller: &Caller, project: &ProjectId) -> Result<Vec<Trunk>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let mut out = Vec::new();
            let mut parents = BTreeSet::new();
            for row in tx.trunk_list(p)? {
                let parent = owned_interface(tx, p, row.parent_id)?;
                parents.insert(parent.id);
                out.push(assemble(tx, row, parent)?);
            }
            let subs = tx.interface_list(
                &InterfaceFilter {
                    project_id: Some(p.clone()),
                    supplementary: Some(true),
                    ..Default::default()
                },
                &PageRequest::default(),
            )?;
            let implicit: BTreeSet<InterfaceId> = subs
                .iter()
                .filter_map(|s| s.parent_id)
                .filter(|x| !parents.contains(x))
                .collect();
            for pid in implicit {
                let parent = owned_interface(tx, p, pid)?;
                let row = implicit_row(&parent);
                out.push(assemble(tx, row, parent)?);
            }
            Ok(out)
        })
        .await
    }

    /// `trunk_get`.
    pub async fn trunk_get(&self, caller: &Caller, project: &ProjectId, id: &str) -> Result<Trunk> {
        let id = id.to_string();
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let (row, parent) = find(tx, p, &id, false)?;
            assemble(tx, row, parent)
        })
        .await
    }

    /// `trunk_create`: name a parent interface as a trunk, with subports.
    pub async fn trunk_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        parent: InterfaceId,
        spec: TrunkSpec,
        subports: Vec<SubportSpec>,
        opts: &WriteOptions,
    ) -> Result<Trunk> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            check_text("name", &spec.name)?;
            check_text("description", &spec.description)?;
            let parent = owned_interface(tx, p, parent)?;
            rules::parent_must_be_elastic(&parent)?;
            if let Some(t) = trunk_of_parent_tx(tx, &parent)? {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    format!(
                        "Port {} is currently a parent port for trunk {t}.",
                        parent.id
                    ),
                ));
            }
            let t = now();
            let row = TrunkRow {
                id: uuid::Uuid::new_v4().to_string(),
                project_id: p.clone(),
                parent_id: parent.id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                admin_state_up: spec.admin_state_up.unwrap_or(true),
                created_at: t,
                updated_at: t,
            };
            tx.trunk_insert(&row)?;
            add_subports_tx(tx, p, &parent, &subports)?;
            let t = assemble(tx, row, parent)?;
            emit_kind(tx, "trunk", &t.id, Some(p), Action::Create, Some(&t))?;
            Ok(t)
        })
        .await
    }

    /// `trunk_update`: name, description, admin state.
    pub async fn trunk_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: &str,
        patch: TrunkPatch,
        opts: &WriteOptions,
    ) -> Result<Trunk> {
        let id = id.to_string();
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let (mut row, parent) = find(tx, p, &id, true)?;
            if let Some(n) = &patch.name {
                check_text("name", n)?;
                row.name = n.clone();
            }
            if let Some(d) = &patch.description {
                check_text("description", d)?;
                row.description = d.clone();
            }
            if let Some(a) = patch.admin_state_up {
                row.admin_state_up = a;
            }
            row.updated_at = now();
            tx.trunk_update(&row)?;
            let t = assemble(tx, row, parent)?;
            emit_kind(tx, "trunk", &t.id, Some(p), Action::Update, Some(&t))?;
            Ok(t)
        })
        .await
    }

    /// `trunk_add_subports`.
    pub async fn trunk_add_subports(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: &str,
        subports: Vec<SubportSpec>,
        opts: &WriteOptions,
    ) -> Result<Trunk> {
        let id = id.to_string();
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let (row, parent) = find(tx, p, &id, true)?;
            trunk_disabled(&row)?;
            add_subports_tx(tx, p, &parent, &subports)?;
            let t = assemble(tx, row, parent)?;
            emit_kind(tx, "trunk", &t.id, Some(p), Action::Attach, Some(&t))?;
            Ok(t)
        })
        .await
    }

    /// `trunk_remove_subports`: they become ordinary interfaces again.
    pub async fn trunk_remove_subports(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: &str,
        ids: Vec<InterfaceId>,
        opts: &WriteOptions,
    ) -> Result<Trunk> {
        let id = id.to_string();
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let (row, parent) = find(tx, p, &id, true)?;
            trunk_disabled(&row)?;
            remove_subports_tx(tx, p, &row.id, &parent, &ids)?;
            let t = assemble(tx, row, parent)?;
            emit_kind(tx, "trunk", &t.id, Some(p), Action::Detach, Some(&t))?;
            Ok(t)
        })
        .await
    }

    /// `trunk_delete`: its subports become ordinary interfaces again.
    pub async fn trunk_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: &str,
        opts: &WriteOptions,
    ) -> Result<()> {
        let id = id.to_string();
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let (row, parent) = find(tx, p, &id, false)?;
            for i in children(tx, parent.id)? {
                release_subport(tx, i)?;
            }
            tx.trunk_delete(&row.id)?;
            emit_kind::<()>(tx, "trunk", &row.id, Some(p), Action::Delete, None)
        })
        .await
    }
}
