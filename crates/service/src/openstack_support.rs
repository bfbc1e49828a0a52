//! Use cases the OpenStack dialect needs beyond the common ones: Keystone's
//! login by user and project name or id, atomic bulk port creation, a subnet that turns an L2
//! network into a routed one, a floating IP taken from a chosen data center,
//! and renaming a security group.
//!
//! They follow the same pattern as every use case: authorization and every
//! rule run inside the one transaction that writes.

use crate::auth::Login;
use crate::feed::emit;
use crate::interface::{interface_create_tx, owned_interface, InterfaceSpec};
use crate::network::{
    owned_group, owned_network, subnet_insert, NetworkDetail, NetworkSpec, SubnetSpec,
};
use crate::public_ip::{allocate_at_tx, PublicIpSpec};
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::*;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::Tx;

/// A user or a project named by id or by name (Keystone accepts either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Id(String),
    Name(String),
}

/// A project-scoped (or unscoped) login with what Keystone shows about it.
#[derive(Debug, Clone)]
pub struct ScopedLogin {
    pub login: Login,
    /// The project the token is scoped to.
    pub project: Option<Project>,
    /// The user's role there (the cloud admin acts as Tenant Administrator).
    pub role: Option<Role>,
}

/// A public IP to take from an external network's pools (Neutron's
/// floating IP create).
#[derive(Debug, Clone)]
pub struct PublicIpInRequest {
    /// Neutron's `floating_network_id`.
    pub network: ExternalNetworkId,
    /// Neutron's `subnet_id`: a pool of that network.
    pub pool: Option<PoolId>,
    /// Put it straight on this interface (of that data center).
    pub interface: Option<InterfaceId>,
    /// The interface's IPv4 address the request names, if any.
    pub fixed_ip: Option<String>,
    pub description: String,
    /// The public address asked for (Neutron's `floating_ip_address`; the
    /// cloud admin only).
    pub address: Option<std::net::IpAddr>,
}

/// The object a tag change is for: its revisioned kind, the kind its
/// absence is reported as, its label in messages, and its id.
#[derive(Debug, Clone)]
pub struct TagTarget {
    pub what: Revisioned,
    pub kind: Kind,
    pub label: &'static str,
    pub id: String,
}

/// Rename or re-describe a security group; the default group keeps its name.
pub fn security_group_update_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: SecurityGroupId,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<SecurityGroup> {
    let mut sg = owned_group(tx, project, id)?;
    if let Some(n) = name {
        let n = Name::parse("name", n)?;
        rules::security_group_name_allowed(sg.is_default, n.as_str())?;
        sg.name = n.to_string();
    }
    if let Some(d) = description {
        check_text("description", d)?;
        sg.description = d.to_string();
    }
    tx.security_group_update(&sg)?;
    owned_group(tx, project, id)
}

/// Add a subnet to a network the project owns; the cloud admin may also add
/// one to a shared network (it owns those, as Neutron's admin does). A
/// custom (L2) network that gets a subnet becomes a standard (routed)
/// network: in the OpenStack view a network is L3 exactly when it has
/// subnets.
pub fn subnet_add_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    network: NetworkId,
    spec: &SubnetSpec,
    cloud_admin: bool,
) -> Result<Subnet> {
    let mut n = match tx.network_get(network)? {
        Some(n) if cloud_admin && n.shared => n,
        _ => owned_network(tx, project, network)?,
    };
    let subnet = subnet_insert(tx, &n, spec)?;
    let kind = rules::kind_with_subnet(n.kind);
    if kind != n.kind {
        n.kind = kind;
        n.updated_at = now();
        tx.network_update(&n)?;
    }
    Ok(subnet)
}

impl Service {
    /// `identity_login`: Keystone's password login. The user and the project
    /// may be given by id or name; an unknown project or one the user has no
    /// role in is refused like a wrong password (401).
    pub async fn identity_login(
        &self,
        user: Ref,
        password: &str,
        project: Option<Ref>,
        origin: &crate::auth::Origin,
    ) -> Result<ScopedLogin> {
        // The password is checked first (an unknown user id costs the same
        // as a known one), then the scope, as Keystone does. A user named by
        // id is throttled under their name, so alternating between name and
        // id gains an attacker nothing.
        let key = match &user {
            Ref::Name(n) => n.clone(),
            Ref::Id(id) => match id.parse::<UserId>() {
                Ok(uid) => self
                    .store
                    .read(move |tx| tx.user_get(uid))
                    .await?
                    .map_or_else(|| id.clone(), |u| u.name),
                Err(_) => id.clone(),
            },
        };
        let checked = self
            .check_login(&key, password, origin, move |tx| match &user {
                Ref::Name(n) => tx.user_by_name(n),
                Ref::Id(id) => match id.parse::<UserId>() {
                    Ok(uid) => match tx.user_get(uid)? {
                        Some(u) => tx.user_by_name(&u.name),
                        None => Ok(None),
                    },
                    Err(_) => Ok(None),
                },
            })
            .await?;
        let scope = self
            .store
            .read(move |tx| match &project {
                None => Ok(None),
                Some(Ref::Id(id)) => {
                    let pid = ProjectId::parse_for_lookup(id).map_err(|_| {
                        Error::unauthenticated(format!("Project {id} could not be found."))
                    })?;
                    Ok(Some(tx.project_get(&pid)?.ok_or_else(|| {
                        Error::unauthenticated(format!("Project {id} could not be found."))
                    })?))
                }
                Some(Ref::Name(n)) => Ok(Some(tx.project_by_name(n)?.ok_or_else(|| {
                    Error::unauthenticated(format!("Project {n} could not be found."))
                })?)),
            })
            .await?;
        let login = self
            .issue_token(checked, scope.as_ref().map(|p| p.id.clone()))
            .await?;
        let role = match &scope {
            None => None,
            Some(_) if login.user.is_cloud_admin => Some(Role::Admin),
            Some(p) => login
                .memberships
                .iter()
                .find(|m| m.project_id == p.id)
                .map(|m| m.role),
        };
        Ok(ScopedLogin {
            login,
            project: scope,
            role,
        })
    }

    /// `identity_token_show`: what Keystone's `GET /v3/auth/tokens` shows
    /// about the token `subject`. The caller sees their own tokens, the
    /// cloud admin anyone's; an unknown, expired or foreign token, or one of
    /// a disabled user, is "not found" (Keystone's 404).
    pub async fn identity_token_show(&self, caller: &Caller, subject: &str) -> Result<ScopedLogin> {
        let h = crate::auth::token_hash(subject);
        let c = caller.clone();
        let token = subject.to_string();
        self.store
            .read(move |tx| {
                let missing = || Error::not_found(Kind::Token, "in X-Subject-Token");
                let o = tx.token_owner(&h)?.ok_or_else(missing)?;
                if o.expires_at <= now().unix_timestamp()
                    || !o.user.enabled
                    || !(c.user.is_cloud_admin || c.user.id == o.user.id)
                {
                    return Err(missing());
                }
                let memberships = tx.memberships_of_user(o.user.id)?;
                let project = match &o.scope {
                    Some(p) => tx.project_get(p)?,
                    None => None,
                };
                let role = match &project {
                    None => None,
                    Some(_) if o.user.is_cloud_admin => Some(Role::Admin),
                    Some(p) => memberships
                        .iter()
                        .find(|m| m.project_id == p.id)
                        .map(|m| m.role),
                };
                Ok(ScopedLogin {
                    login: Login {
                        token: token.clone(),
                        expires_at: o.expires_at,
                        scope: o.scope,
                        user: o.user,
                        memberships,
                    },
                    project,
                    role,
                })
            })
            .await
    }

    /// `interface_create_many`: create several unattached interfaces at once;
    /// all or none.
    pub async fn interface_create_many(
        &self,
        caller: &Caller,
        project: &ProjectId,
        specs: Vec<InterfaceSpec>,
        opts: &WriteOptions,
    ) -> Result<Vec<Interface>> {
        let policy = self.port_policy(caller);
        rules::bulk_bound("ports", specs.len())?;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let mut out = Vec::with_capacity(specs.len());
            for s in &specs {
                let i = interface_create_tx(tx, p, s, policy)?;
                emit(tx, Kind::Interface, i.id, Some(p), Action::Create, Some(&i))?;
                out.push(i);
            }
            Ok(out)
        })
        .await
    }

    /// `subnet_add_many`: Neutron's bulk subnet create; all or none, in one
    /// transaction, at most [`rules::BULK_CREATE_MAX`], each charged to the
    /// quota.
    pub async fn subnet_add_many(
        &self,
        caller: &Caller,
        project: &ProjectId,
        specs: Vec<(NetworkId, SubnetSpec)>,
        opts: &WriteOptions,
    ) -> Result<Vec<Subnet>> {
        rules::bulk_bound("subnets", specs.len())?;
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let mut out = Vec::with_capacity(specs.len());
            for (n, s) in &specs {
                let s = subnet_add_tx(tx, p, *n, s, cloud_admin)?;
                emit(tx, Kind::Subnet, s.id, Some(p), Action::Create, Some(&s))?;
                out.push(s);
            }
            Ok(out)
        })
        .await
    }

    /// `network_create_many`: Neutron's bulk network create; all or none, in
    /// one transaction, at most [`rules::BULK_CREATE_MAX`], each charged to
    /// the quota. A shared one takes the cloud admin.
    pub async fn network_create_many(
        &self,
        caller: &Caller,
        project: &ProjectId,
        specs: Vec<(NetworkSpec, bool)>,
        opts: &WriteOptions,
    ) -> Result<Vec<NetworkDetail>> {
        rules::bulk_bound("networks", specs.len())?;
        if specs.iter().any(|(_, shared)| *shared) {
            crate::require_cloud_admin(caller)?;
        }
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let mut out = Vec::with_capacity(specs.len());
            for (spec, shared) in &specs {
                let owner = if *shared { None } else { Some(p) };
                let n = crate::network::network_create_tx(tx, owner, spec, *shared)?;
                emit(
                    tx,
                    Kind::Network,
                    n.network.id,
                    owner,
                    Action::Create,
                    Some(&n),
                )?;
                out.push(n);
            }
            Ok(out)
        })
        .await
    }

    /// `subnet_add`: add a subnet; an L2 network becomes routed (see
    /// [`subnet_add_tx`]).
    pub async fn subnet_add(
        &self,
        caller: &Caller,
        project: &ProjectId,
        network: NetworkId,
        spec: SubnetSpec,
        opts: &WriteOptions,
    ) -> Result<Subnet> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let s = subnet_add_tx(tx, p, network, &spec, cloud_admin)?;
            emit(tx, Kind::Subnet, s.id, Some(p), Action::Create, Some(&s))?;
            Ok(s)
        })
        .await
    }

    /// `public_ip_allocate_in`: allocate a public IP from a given data
    /// center's pools, optionally straight onto an interface, which must be
    /// in that data center and, when `fixed_ip` names one, have that IPv4
    /// address (`rules::public_ip_fixed_ip_matches`, checked in the write).
    pub async fn public_ip_allocate_in(
        &self,
        caller: &Caller,
        project: &ProjectId,
        req: PublicIpInRequest,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            if req.address.is_some() {
                rules::public_ip_address_choice_allowed(cloud_admin)?;
            }
            let network = crate::external_network::load(tx, req.network)?;
            if let Some(pool) = req.pool {
                rules::pool_of_external_network(pool, &network)?;
            }
            let mut maps_to = None;
            if let Some(i) = req.interface {
                let iface = owned_interface(tx, p, i)?;
                maps_to = rules::public_ip_fixed_ip_matches(&iface, req.fixed_ip.as_deref())?;
                rules::interface_in_pool_data_center(&iface, network.data_center_id)?;
            }
            let ip = allocate_at_tx(
                tx,
                p,
                &PublicIpSpec {
                    interface_id: req.interface,
                    data_center_id: None,
                    external_network_id: Some(network.id),
                    description: req.description.clone(),
                },
                req.address,
                maps_to,
            )?;
            emit(
                tx,
                Kind::PublicIp,
                ip.id,
                Some(p),
                Action::Create,
                Some(&ip),
            )?;
            Ok(ip)
        })
        .await
    }

    /// The Neutron revision numbers of these objects, for views the caller
    /// was already shown (a revision number tells nothing else).
    pub async fn revisions(
        &self,
        caller: &Caller,
        project: &ProjectId,
        what: Revisioned,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, u64>> {
        self.project_read(caller, project, Need::Read, move |tx, _| {
            tx.revisions(what, &ids)
        })
        .await
    }

    /// The Neutron tags of these objects (networks, subnets, security
    /// groups, floating IPs, trunks), for views the caller was shown.
    pub async fn neutron_tags(
        &self,
        caller: &Caller,
        project: &ProjectId,
        what: Revisioned,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        self.project_read(caller, project, Need::Read, move |tx, _| {
            tx.neutron_tags(what, &ids)
        })
        .await
    }

    /// `identity_domain_list`: whether the caller may list Keystone's
    /// domains (`rules::domain_list_allowed`; nicplane has one, Default).
    pub fn identity_domain_list(&self, caller: &Caller) -> Result<()> {
        nicplane_domain::rules::domain_list_allowed(caller.user.is_cloud_admin)
    }

    /// `neutron_tags_get`: the tags of one object of the project; another
    /// project's or a missing object is `kind`'s 404.
    pub async fn neutron_tags_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        what: Revisioned,
        kind: Kind,
        id: String,
    ) -> Result<Vec<String>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            if tx.revision_lock(what, &id, p)?.is_none() {
                return Err(Error::not_found(kind, &id));
            }
            Ok(tx
                .neutron_tags(what, std::slice::from_ref(&id))?
                .remove(&id)
                .unwrap_or_default())
        })
        .await
    }

    /// `neutron_tags_change`: change the tags of an object of the project
    /// (`rules::neutron_tags_apply` on the locked row), bumping its revision
    /// when they change. Another project's or a missing object is `kind`'s
    /// 404. Tagging a network or subnet takes the Tenant Administrator, as
    /// changing one does; the other objects a Power User. Returns the tags
    /// after the change.
    pub async fn neutron_tags_change(
        &self,
        caller: &Caller,
        project: &ProjectId,
        target: TagTarget,
        change: rules::TagChange,
        opts: &WriteOptions,
    ) -> Result<Vec<String>> {
        let TagTarget {
            what,
            kind,
            label,
            id,
        } = target;
        let need = match what {
            Revisioned::Network | Revisioned::Subnet => Need::Administer,
            _ => Need::Write,
        };
        self.project_write(caller, project, need, opts, move |tx, p| {
            if tx.revision_lock(what, &id, p)?.is_none() {
                return Err(Error::not_found(kind, &id));
            }
            let ids = [id.clone()];
            let current = tx.neutron_tags(what, &ids)?.remove(&id).unwrap_or_default();
            let new = rules::neutron_tags_apply(label, &id, &current, &change)?;
            if new != current {
                tx.neutron_tags_set(what, &id, &new)?;
                tx.revision_bump(what, &id)?;
            }
            let body = serde_json::json!({ "tags": new });
            emit(tx, kind, &id, Some(p), Action::Update, Some(&body))?;
            Ok(new)
        })
        .await
    }

    /// `security_group_update`: rename or re-describe a security group.
    pub async fn security_group_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SecurityGroupId,
        name: Option<String>,
        description: Option<String>,
        opts: &WriteOptions,
    ) -> Result<SecurityGroup> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let sg = security_group_update_tx(tx, p, id, name.as_deref(), description.as_deref())?;
            emit(
                tx,
                Kind::SecurityGroup,
                sg.id,
                Some(p),
                Action::Update,
                Some(&sg),
            )?;
            Ok(sg)
        })
        .await
    }
}
