//! External networks: the cloud admin's public IP pools of a data center,
//! one object whichever API made it (native `external_network_*`, Neutron's
//! `router:external` networks). Its pools are its subnets through Neutron;
//! floating IPs and router gateways that name it take addresses from its
//! pools only. Every external network is visible to every project.
//!
//! A data center's default external network has the data center's id: pools
//! created without naming a network go there (`ensure_default`), and public
//! IPs allocated without naming a network prefer its pools
//! (`public_ip::take_public_address`). Every use case is one transaction;
//! the rules are `rules::external_network_*`, `pool_deletable`.

use crate::feed::{emit, emit_deleted, emit_kind};
use crate::network::network_delete_tx;
use crate::{require_cloud_admin, Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::{check_text, Name, NetworkKind};
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::Tx;
use serde::{Deserialize, Serialize};

/// The change feed's kind of an external network.
const KIND: &str = "external_network";

/// An external network to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalNetworkSpec {
    #[serde(default)]
    #[schema(max_length = 255)]
    pub name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub description: String,
}

/// Changes to an external network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalNetworkPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Load an external network (every project sees them); 404 as a network.
pub fn load(tx: &mut dyn Tx, id: ExternalNetworkId) -> Result<ExternalNetwork> {
    tx.external_network_get(id)?
        .ok_or_else(|| Error::not_found(Kind::Network, id))
}

/// The data center's default external network, created (named after its
/// first pool, as Neutron showed it before external networks were objects)
/// when a pool is created without naming a network.
pub fn ensure_default(
    tx: &mut dyn Tx,
    dc: &DataCenter,
    first_pool_name: &str,
) -> Result<ExternalNetwork> {
    let id = ExternalNetworkId::default_of(dc.id);
    if let Some(n) = tx.external_network_get(id)? {
        return Ok(n);
    }
    let n = ExternalNetwork {
        id,
        data_center_id: dc.id,
        project_id: None,
        name: first_pool_name.to_string(),
        description: format!("Public IP pools of data center {}", dc.name),
        pool_ids: vec![],
        created_at: dc.created_at,
        updated_at: now(),
    };
    tx.external_network_insert(&n)?;
    Ok(n)
}

/// Create an external network (inside a transaction); `owner` is the
/// project Neutron shows as its owner.
pub fn create_tx(
    tx: &mut dyn Tx,
    owner: Option<&ProjectId>,
    spec: &ExternalNetworkSpec,
) -> Result<ExternalNetwork> {
    check_text("name", &spec.name)?;
    check_text("description", &spec.description)?;
    tx.data_center_get(spec.data_center_id)?
        .ok_or_else(|| Error::not_found(Kind::DataCenter, spec.data_center_id))?;
    let t = now();
    let n = ExternalNetwork {
        id: ExternalNetworkId::new(),
        data_center_id: spec.data_center_id,
        project_id: owner.cloned(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        pool_ids: vec![],
        created_at: t,
        updated_at: t,
    };
    tx.external_network_insert(&n)?;
    Ok(n)
}

/// Rename or re-describe (inside a transaction).
pub fn update_tx(
    tx: &mut dyn Tx,
    id: ExternalNetworkId,
    patch: &ExternalNetworkPatch,
) -> Result<ExternalNetwork> {
    let mut n = load(tx, id)?;
    if let Some(name) = &patch.name {
        check_text("name", name)?;
        n.name = name.clone();
    }
    if let Some(d) = &patch.description {
        check_text("description", d)?;
        n.description = d.clone();
    }
    n.updated_at = now();
    tx.external_network_update(&n)?;
    load(tx, id)
}

/// Delete an external network with its pools and the floating IPs of them
/// that are on no port (Neutron); router gateways, floating IPs on ports and
/// ports on the network keep it (`rules::external_network_deletable`). The pools are locked
/// first, so an allocation from them either came before (and is counted)
/// or finds them gone.
pub fn delete_tx(tx: &mut dyn Tx, id: ExternalNetworkId) -> Result<ExternalNetwork> {
    let n = load(tx, id)?;
    for pool in &n.pool_ids {
        tx.pool_held(*pool)?;
    }
    tx.external_network_delete_unassociated_ips(id)?;
    rules::external_network_deletable(
        id,
        tx.external_network_gateways(id)?,
        tx.external_network_associated_ips(id)? + tx.external_network_ports(id)?,
    )?;
    for pool in &n.pool_ids {
        tx.pool_delete(*pool)?;
    }
    tx.external_network_delete(id)?;
    Ok(n)
}

/// Make a project network external (Neutron's `router:external: true` on
/// update): the same id becomes an external network of the same data
/// center, owned (as Neutron shows it) by the same project. Only a network
/// without subnets and ports (`rules::network_convertible_to_external`).
pub fn flag_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: NetworkId,
    cloud_admin: bool,
    patch: &ExternalNetworkPatch,
) -> Result<ExternalNetwork> {
    rules::external_network_flag(cloud_admin, "update")?;
    let network = match tx.network_get(id)? {
        Some(n) if n.shared || n.project_id.as_ref() == Some(project) => n,
        _ => return Err(Error::not_found(Kind::Network, id)),
    };
    let subnets = tx.subnets_of_network(id)?.len();
    let ports = tx.network_interface_count(id)?;
    rules::network_convertible_to_external(&network, subnets, ports)?;
    network_delete_tx(tx, &network)?;
    let n = ExternalNetwork {
        id: ExternalNetworkId(id.0),
        data_center_id: network.data_center_id,
        project_id: network.project_id.clone(),
        name: patch.name.clone().unwrap_or(network.name),
        description: patch.description.clone().unwrap_or(network.description),
        pool_ids: vec![],
        created_at: network.created_at,
        updated_at: now(),
    };
    check_text("name", &n.name)?;
    check_text("description", &n.description)?;
    tx.external_network_insert(&n)?;
    Ok(n)
}

/// Make an external network a project network again (Neutron's
/// `router:external: false`): refused while gateways use it or it holds
/// pools (`rules::external_network_unflaggable`). The network goes to the
/// project Neutron showed as its owner, else to the caller's.
pub fn unflag_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: ExternalNetworkId,
    cloud_admin: bool,
    patch: &ExternalNetworkPatch,
) -> Result<Network> {
    rules::external_network_flag(cloud_admin, "update")?;
    let n = load(tx, id)?;
    rules::external_network_unflaggable(&n, tx.external_network_gateways(id)?, n.pool_ids.len())?;
    tx.external_network_delete(id)?;
    let name = patch.name.clone().unwrap_or(n.name);
    let network = Network {
        id: NetworkId(id.0),
        project_id: Some(n.project_id.unwrap_or_else(|| project.clone())),
        data_center_id: n.data_center_id,
        name: Name::parse("name", &name)?.to_string(),
        description: patch.description.clone().unwrap_or(n.description),
        kind: NetworkKind::Custom,
        shared: false,
        is_default: false,
        created_at: n.created_at,
        updated_at: now(),
    };
    check_text("description", &network.description)?;
    tx.network_insert(&network)?;
    Ok(network)
}

impl Service {
    /// `external_network_list`: every signed-in user sees them all.
    pub async fn external_network_list(&self, _caller: &Caller) -> Result<Vec<ExternalNetwork>> {
        self.store.read(|tx| tx.external_network_list(None)).await
    }

    /// `external_network_get`.
    pub async fn external_network_get(
        &self,
        _caller: &Caller,
        id: ExternalNetworkId,
    ) -> Result<ExternalNetwork> {
        self.store.read(move |tx| load(tx, id)).await
    }

    /// `external_network_create` (cloud admin); `owner` is the project
    /// Neutron shows (the caller's project there, none natively).
    pub async fn external_network_create(
        &self,
        caller: &Caller,
        owner: Option<ProjectId>,
        spec: ExternalNetworkSpec,
        opts: &WriteOptions,
    ) -> Result<ExternalNetwork> {
        rules::external_network_flag(caller.user.is_cloud_admin, "create")?;
        self.write(caller, opts, move |tx| {
            let n = create_tx(tx, owner.as_ref(), &spec)?;
            emit_kind(tx, KIND, n.id, None, Action::Create, Some(&n))?;
            Ok(n)
        })
        .await
    }

    /// `external_network_update` (cloud admin): name and description.
    pub async fn external_network_update(
        &self,
        caller: &Caller,
        id: ExternalNetworkId,
        patch: ExternalNetworkPatch,
        opts: &WriteOptions,
    ) -> Result<ExternalNetwork> {
        require_cloud_admin(caller)?;
        self.write(caller, opts, move |tx| {
            let n = update_tx(tx, id, &patch)?;
            emit_kind(tx, KIND, n.id, None, Action::Update, Some(&n))?;
            Ok(n)
        })
        .await
    }

    /// `external_network_delete` (cloud admin).
    pub async fn external_network_delete(
        &self,
        caller: &Caller,
        id: ExternalNetworkId,
        opts: &WriteOptions,
    ) -> Result<ExternalNetwork> {
        require_cloud_admin(caller)?;
        self.write(caller, opts, move |tx| {
            let n = delete_tx(tx, id)?;
            emit_kind::<()>(tx, KIND, n.id, None, Action::Delete, None)?;
            Ok(n)
        })
        .await
    }

    /// `external_network_flag`: a network of the project becomes external.
    pub async fn external_network_flag(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: NetworkId,
        patch: ExternalNetworkPatch,
        opts: &WriteOptions,
    ) -> Result<ExternalNetwork> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let n = flag_tx(tx, p, id, cloud_admin, &patch)?;
            // The project's network is gone; the external network has its id.
            emit_deleted(tx, Kind::Network, id, Some(p))?;
            emit_kind(tx, KIND, n.id, None, Action::Create, Some(&n))?;
            Ok(n)
        })
        .await
    }

    /// `external_network_unflag`: an external network becomes a network of
    /// the project that owns it (else the caller's).
    pub async fn external_network_unflag(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: ExternalNetworkId,
        patch: ExternalNetworkPatch,
        opts: &WriteOptions,
    ) -> Result<Network> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let n = unflag_tx(tx, p, id, cloud_admin, &patch)?;
            emit_kind::<()>(tx, KIND, id, None, Action::Delete, None)?;
            emit(tx, Kind::Network, n.id, Some(p), Action::Create, Some(&n))?;
            Ok(n)
        })
        .await
    }
}
