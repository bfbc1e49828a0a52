//! Cloud-admin use cases: data centers, public IP pools, projects and their
//! members. Creating a project also creates its default security group and
//! a Default Network in every data center; creating a data center gives every
//! project a Default Network there.

use crate::feed::{emit, emit_kind};
use crate::network::{create_default_network, create_default_security_group};
use crate::{authorize, require_cloud_admin, Caller, Need, Service, WriteOptions};
use ipnet::IpNet;
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{self, AddressSpace};
use nicplane_domain::model::*;
use nicplane_domain::types::{check_text, Name, Role};
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::Tx;
use serde::{Deserialize, Serialize};

impl Service {
    /// `data_center_list`: every signed-in user sees the data centers.
    pub async fn data_center_list(&self, _caller: &Caller) -> Result<Vec<DataCenter>> {
        self.store.read(|tx| tx.data_center_list()).await
    }

    /// `data_center_get`.
    pub async fn data_center_get(&self, _caller: &Caller, id: DataCenterId) -> Result<DataCenter> {
        self.store
            .read(move |tx| tx.data_center_get(id))
            .await?
            .ok_or_else(|| Error::not_found(Kind::DataCenter, id))
    }

    /// `data_center_create` (cloud admin).
    pub async fn data_center_create(
        &self,
        caller: &Caller,
        name: &str,
        opts: &WriteOptions,
    ) -> Result<DataCenter> {
        require_cloud_admin(caller)?;
        let dc = DataCenter {
            id: DataCenterId::new(),
            name: Name::parse("name", name)?.to_string(),
            created_at: now(),
        };
        self.write(caller, opts, move |tx| {
            let dc = data_center_create(tx, &dc)?;
            emit(tx, Kind::DataCenter, dc.id, None, Action::Create, Some(&dc))?;
            Ok(dc)
        })
        .await
    }

    /// `pool_list`.
    pub async fn pool_list(&self, _caller: &Caller) -> Result<Vec<PublicIpPool>> {
        self.store.read(|tx| tx.pool_list(None)).await
    }

    /// `pool_create` (cloud admin): a public IP pool of an external network,
    /// or of the data center's default external network when only the data
    /// center is named.
    pub async fn pool_create(
        &self,
        caller: &Caller,
        target: PoolTarget,
        name: &str,
        cidr: IpNet,
        opts: &WriteOptions,
    ) -> Result<PublicIpPool> {
        require_cloud_admin(caller)?;
        // A pool without a name (a Neutron subnet may have none) is named
        // after its CIDR, unique since pools never overlap.
        let name = if name.trim().is_empty() {
            cidr.to_string()
        } else {
            Name::parse("name", name)?.to_string()
        };
        self.write(caller, opts, move |tx| {
            let pool = pool_create(tx, target, &name, cidr)?;
            emit(
                tx,
                Kind::PublicIpPool,
                pool.id,
                None,
                Action::Create,
                Some(&pool),
            )?;
            Ok(pool)
        })
        .await
    }

    /// `pool_delete` (cloud admin): refused while addresses of it are held
    /// (`rules::pool_deletable`).
    pub async fn pool_delete(
        &self,
        caller: &Caller,
        id: PoolId,
        opts: &WriteOptions,
    ) -> Result<PublicIpPool> {
        require_cloud_admin(caller)?;
        self.write(caller, opts, move |tx| {
            let pool = tx
                .pool_get(id)?
                .ok_or_else(|| Error::not_found(Kind::PublicIpPool, id))?;
            let held = tx.pool_held(id)?;
            nicplane_domain::rules::pool_deletable(&pool, held)?;
            tx.pool_delete(id)?;
            crate::feed::emit_deleted(tx, Kind::PublicIpPool, pool.id, None)?;
            Ok(pool)
        })
        .await
    }

    /// `project_list`: the cloud admin sees all; others their own.
    pub async fn project_list(&self, caller: &Caller) -> Result<Vec<Project>> {
        let c = caller.clone();
        self.store
            .read(move |tx| {
                if c.user.is_cloud_admin {
                    return tx.project_list();
                }
                let mut out = Vec::new();
                for m in tx.memberships_of_user(c.user.id)? {
                    if let Some(p) = tx.project_get(&m.project_id)? {
                        out.push(p);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// `project_get`.
    pub async fn project_get(&self, caller: &Caller, id: &ProjectId) -> Result<Project> {
        let c = caller.clone();
        let id = id.clone();
        self.store
            .read(move |tx| {
                authorize(tx, &c, &id, Need::Read)?;
                tx.project_get(&id)?
                    .ok_or_else(|| Error::not_found(Kind::Project, &id))
            })
            .await
    }

    /// `project_create` (cloud admin).
    pub async fn project_create(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
        opts: &WriteOptions,
    ) -> Result<Project> {
        require_cloud_admin(caller)?;
        check_text("description", description)?;
        let project = Project {
            id: ProjectId::new(),
            name: Name::parse("name", name)?.to_string(),
            description: description.to_string(),
            created_at: now(),
        };
        self.write(caller, opts, move |tx| {
            let p = project_create(tx, &project)?;
            emit(
                tx,
                Kind::Project,
                &p.id,
                Some(&p.id),
                Action::Create,
                Some(&p),
            )?;
            Ok(p)
        })
        .await
    }

    /// `member_list`.
    pub async fn member_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
    ) -> Result<Vec<Membership>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            tx.memberships_of_project(p)
        })
        .await
    }

    /// `member_set`: give a user a role in a project (Tenant Administrator or cloud admin).
    pub async fn member_set(
        &self,
        caller: &Caller,
        project: &ProjectId,
        user: UserId,
        role: Role,
        opts: &WriteOptions,
    ) -> Result<Membership> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let u = tx
                .user_get(user)?
                .ok_or_else(|| Error::not_found(Kind::User, user))?;
            tx.membership_set(user, p, role)?;
            let project = tx
                .project_get(p)?
                .ok_or_else(|| Error::not_found(Kind::Project, p))?;
            let m = Membership {
                user_id: u.id,
                user_name: u.name,
                project_id: p.clone(),
                project_name: project.name,
                role,
            };
            emit_kind(
                tx,
                "membership",
                m.user_id,
                Some(p),
                Action::Update,
                Some(&m),
            )?;
            Ok(m)
        })
        .await
    }

    /// `member_remove`.
    pub async fn member_remove(
        &self,
        caller: &Caller,
        project: &ProjectId,
        user: UserId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            if !tx.membership_delete(user, p)? {
                return Err(Error::not_found(Kind::User, user));
            }
            emit_kind::<()>(tx, "membership", user, Some(p), Action::Delete, None)
        })
        .await
    }
}

/// Insert a data center and give every project a Default Network there.
pub fn data_center_create(tx: &mut dyn Tx, dc: &DataCenter) -> Result<DataCenter> {
    if tx.data_center_by_name(&dc.name)?.is_some() {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            format!("A data center named {} already exists.", dc.name),
        ));
    }
    tx.data_center_insert(dc)?;
    for p in tx.project_list()? {
        create_default_network(tx, &p.id, dc.id)?;
    }
    Ok(dc.clone())
}

/// Insert a project with its default security group and Default Networks.
pub fn project_create(tx: &mut dyn Tx, project: &Project) -> Result<Project> {
    if tx.project_by_name(&project.name)?.is_some() {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            format!("A project named {} already exists.", project.name),
        ));
    }
    tx.project_insert(project)?;
    create_default_security_group(tx, &project.id)?;
    for dc in tx.data_center_list()? {
        create_default_network(tx, &project.id, dc.id)?;
    }
    Ok(project.clone())
}

/// Where a new pool goes: an external network, or a data center's default
/// external network (both may be named; they must agree).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolTarget {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_network_id: Option<ExternalNetworkId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub data_center_id: Option<DataCenterId>,
}

/// Insert a public IP pool: every host address but the gateway (the first
/// host) is free. IPv4, or IPv6 (a /64 or longer): router gateways and
/// ports on external networks take addresses of IPv6 pools, floating IPs
/// never do (Neutron's floating IPs are IPv4).
pub fn pool_create(
    tx: &mut dyn Tx,
    target: PoolTarget,
    name: &str,
    cidr: IpNet,
) -> Result<PublicIpPool> {
    let space = AddressSpace::new(cidr)?;
    let pools = tx.pool_list(None)?;
    // The overlap first: a pool without a name of its own is named after its
    // CIDR, so an overlapping one would otherwise be refused for its name.
    let taken: Vec<(String, IpNet)> = pools.iter().map(|p| (p.name.clone(), p.cidr)).collect();
    nicplane_domain::rules::pool_does_not_overlap(cidr, &taken)?;
    if pools.iter().any(|p| p.name == name) {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            format!("A public IP pool named {name} already exists."),
        ));
    }
    let network = match (target.external_network_id, target.data_center_id) {
        (Some(id), dc) => {
            let n = crate::external_network::load(tx, id)?;
            if let Some(dc) = dc {
                nicplane_domain::rules::pool_in_network_data_center(&n, dc)?;
            }
            n
        }
        (None, Some(dc)) => {
            let dc = tx
                .data_center_get(dc)?
                .ok_or_else(|| Error::not_found(Kind::DataCenter, dc))?;
            crate::external_network::ensure_default(tx, &dc, name)?
        }
        (None, None) => {
            return Err(Error::invalid(
                "Give the external_network_id of the pool, or a data_center_id (its default external network).",
            ))
        }
    };
    let fresh = ipam::subtract(&[space.host_range()], 1);
    let pool = PublicIpPool {
        id: PoolId::new(),
        data_center_id: network.data_center_id,
        external_network_id: network.id,
        name: name.to_string(),
        cidr,
        free_addresses: nicplane_domain::capacity::public_pool_size(cidr),
        created_at: now(),
    };
    tx.pool_insert(&pool, &fresh)?;
    Ok(pool)
}
