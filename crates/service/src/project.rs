//! Deleting and changing projects, and port bindings.
//!
//! `project_delete` (cloud admin) refuses while the project holds anything
//! but what nicplane made with it (`rules::project_deletable`: VMs,
//! interfaces, public IPs, routers, trunks, networks, security groups,
//! external networks are deleted by their owners first, so nothing is left
//! holding addresses). In one transaction, under the project's row lock, it
//! then deletes its Default Networks with their subnets, its default
//! security group, and the project; memberships, tokens scoped to it,
//! quota rows and jobs go with the row. Every deleted object gets its event.
//!
//! A port binding (Neutron's `binding:host_id`, `binding:profile`): the
//! host a port is on. A port on a VM is on its VM's host (placement decides
//! it); the cloud admin may bind a port that is on no VM to a host of its
//! data center (`rules::port_binding_host`), kept in `port_bindings`
//! (migration 0017) with the profile.

use crate::bootstrap::ADMIN_PROJECT;
use crate::feed::{emit, emit_deleted, emit_kind};
use crate::interface::{interface_create_tx, update_tx, InterfacePatch, InterfaceSpec};
use crate::{require_cloud_admin, Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::{check_text, Name};
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::Tx;
use serde::{Deserialize, Serialize};

/// Changes to a project: its name and description (nicplane keeps no
/// `enabled` flag: a project is usable while it exists).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A change of a port's binding: a new host by name (`Some("")` unbinds;
/// `None` keeps it) and a new profile (`None` keeps it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BindingChange {
    pub host: Option<String>,
    pub profile: Option<serde_json::Value>,
}

impl BindingChange {
    /// Whether the change touches anything.
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.profile.is_none()
    }
}

impl Service {
    /// `project_delete` (cloud admin): refused (409) while the project holds
    /// more than its defaults; see the module's doc.
    pub async fn project_delete(
        &self,
        caller: &Caller,
        id: &ProjectId,
        opts: &WriteOptions,
    ) -> Result<Project> {
        require_cloud_admin(caller)?;
        let id = id.clone();
        let done = self
            .write(caller, opts, move |tx| project_delete_tx(tx, &id))
            .await;
        // Tokens scoped to the project went with it.
        self.tokens_changed();
        done
    }

    /// `project_update` (cloud admin): name and description.
    pub async fn project_update(
        &self,
        caller: &Caller,
        id: &ProjectId,
        patch: ProjectPatch,
        opts: &WriteOptions,
    ) -> Result<Project> {
        require_cloud_admin(caller)?;
        let name = patch
            .name
            .as_deref()
            .map(|n| Name::parse("name", n).map(|n| n.to_string()))
            .transpose()?;
        if let Some(d) = &patch.description {
            check_text("description", d)?;
        }
        let id = id.clone();
        let description = patch.description.clone();
        self.write(caller, opts, move |tx| {
            let mut p = tx
                .project_lock(&id)?
                .ok_or_else(|| Error::not_found(Kind::Project, &id))?;
            if let Some(n) = &name {
                if *n != p.name {
                    rules::project_renamable(&p, p.name == ADMIN_PROJECT)?;
                    if tx.project_by_name(n)?.is_some() {
                        return Err(Error::conflict(
                            ConflictReason::NameTaken,
                            format!("A project named {n} already exists."),
                        ));
                    }
                    p.name = n.clone();
                }
            }
            if let Some(d) = &description {
                p.description = d.clone();
            }
            tx.project_update(&p)?;
            emit(
                tx,
                Kind::Project,
                &p.id,
                Some(&p.id),
                Action::Update,
                Some(&p),
            )?;
            Ok(p)
        })
        .await
    }

    /// `port_bindings` (cloud admin): the bindings of these interfaces.
    pub async fn port_bindings(
        &self,
        caller: &Caller,
        ids: Vec<InterfaceId>,
    ) -> Result<Vec<PortBinding>> {
        require_cloud_admin(caller)?;
        self.store.read(move |tx| tx.port_bindings(&ids)).await
    }

    /// `interface_create` with a binding, in one transaction (Neutron's
    /// `POST /ports` with `binding:host_id` or `binding:profile`).
    pub async fn interface_create_bound(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: InterfaceSpec,
        binding: BindingChange,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        let policy = self.port_policy(caller);
        let admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = interface_create_tx(tx, p, &spec, policy)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Create, Some(&i))?;
            binding_apply_tx(tx, admin, &i, &binding)?;
            Ok(i)
        })
        .await
    }

    /// `interface_update` with a binding change, in one transaction
    /// (Neutron's `PUT /ports/{id}` with `binding:*`).
    pub async fn interface_update_bound(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        patch: InterfacePatch,
        binding: BindingChange,
        opts: &WriteOptions,
    ) -> Result<Interface> {
        let policy = self.port_policy(caller);
        let admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = update_tx(tx, p, id, &patch, policy)?;
            emit(tx, Kind::Interface, i.id, Some(p), Action::Update, Some(&i))?;
            binding_apply_tx(tx, admin, &i, &binding)?;
            Ok(i)
        })
        .await
    }
}

/// Delete a project holding only its defaults (inside a transaction).
pub fn project_delete_tx(tx: &mut dyn Tx, id: &ProjectId) -> Result<Project> {
    let p = tx
        .project_lock(id)?
        .ok_or_else(|| Error::not_found(Kind::Project, id))?;
    let holdings = tx.project_holdings(id)?;
    rules::project_deletable(&p, p.name == ADMIN_PROJECT, &holdings)?;
    for dc in tx.data_center_list()? {
        if let Some(n) = tx.network_default(id, dc.id)? {
            let subnets = tx.subnets_of_network(n.id)?;
            crate::network::network_delete_tx(tx, &n)?;
            for s in subnets {
                emit_deleted(tx, Kind::Subnet, s.id, Some(id))?;
            }
            emit_deleted(tx, Kind::Network, n.id, Some(id))?;
        }
    }
    if let Some(sg) = tx.security_group_default(id)? {
        tx.security_group_delete(sg.id)?;
        emit_deleted(tx, Kind::SecurityGroup, sg.id, Some(id))?;
    }
    for m in tx.memberships_of_project(id)? {
        emit_kind::<()>(tx, "membership", m.user_id, Some(id), Action::Delete, None)?;
    }
    tx.project_delete(id)?;
    emit_deleted(tx, Kind::Project, id, Some(id))?;
    Ok(p)
}

/// Apply a binding change to an interface (inside its write), after
/// `rules::port_binding_host` and `rules::port_binding_profile`; records
/// a `port_binding` event. An empty change does nothing.
pub fn binding_apply_tx(
    tx: &mut dyn Tx,
    is_cloud_admin: bool,
    iface: &Interface,
    change: &BindingChange,
) -> Result<Option<PortBinding>> {
    if change.is_empty() {
        return Ok(None);
    }
    let current = tx.port_bindings(&[iface.id])?.pop();
    let vm_host = match iface.vm_id {
        Some(vm) => tx.vm_get(vm)?.and_then(|v| v.host_id),
        None => None,
    };
    let host = match change.host.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(name) => Some(Some(tx.host_by_name(name)?.ok_or_else(|| {
            Error::invalid_value(
                "binding:host_id",
                format!("no host named {name} is registered."),
            )
        })?)),
    };
    // Without a new host the rule checks the one the port has now.
    let checked = match &host {
        Some(h) => h.clone(),
        None => match current.as_ref().and_then(|b| b.host_id) {
            Some(h) => tx.host_get(h)?.map(|(h, _)| h),
            None => None,
        },
    };
    rules::port_binding_host(is_cloud_admin, iface, checked.as_ref(), vm_host)?;
    let profile = match &change.profile {
        Some(p) => {
            rules::port_binding_profile(p)?;
            p.clone()
        }
        None => current
            .as_ref()
            .map(|b| b.profile.clone())
            .unwrap_or_else(|| serde_json::json!({})),
    };
    tx.port_binding_set(
        iface.id,
        host.map(|h| h.map(|h| h.id)),
        &profile.to_string(),
        now().unix_timestamp(),
    )?;
    let b = tx.port_bindings(&[iface.id])?.pop();
    emit_kind(
        tx,
        "port_binding",
        iface.id,
        Some(&iface.project_id),
        Action::Update,
        b.as_ref(),
    )?;
    Ok(b)
}
