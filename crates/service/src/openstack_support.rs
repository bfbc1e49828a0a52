//! Use cases the OpenStack dialect needs beyond the common ones: Keystone's
//! login by user and project name or id, a VM created on chosen networks
//! (Nova's `networks`), atomic bulk port creation, a subnet that turns an L2
//! network into a routed one, a floating IP taken from a chosen data center,
//! and renaming a security group.
//!
//! They follow the same pattern as every use case: authorization and every
//! rule run inside the one transaction that writes.

use crate::auth::Login;
use crate::interface::{
    attach_tx, create_interface, derived_status, interface_create_tx, owned_interface, AttachSpec,
    InterfaceSpec,
};
use crate::ipam::FixedIpRequest;
use crate::network::{
    create_default_network, owned_group, owned_network, subnet_insert, visible_network, SubnetSpec,
    DEFAULT_SECURITY_GROUP,
};
use crate::public_ip::{allocate_tx, PublicIpSpec};
use crate::vm::{vm_power_tx, VmDetail, VmSpec};
use crate::PortPolicy;
use crate::{authorize, Caller, Need, Service, WriteOptions};
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::*;
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::{InterfaceFilter, PageRequest, Tx};
use serde::{Deserialize, Serialize};

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

/// The first interface of a VM being created: a new one on a network (with
/// optional fixed IPs), or an existing unattached interface.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum NicRequest {
    Network {
        network_id: NetworkId,
        fixed_ips: Vec<FixedIpRequest>,
        tag: Option<String>,
    },
    Interface {
        interface_id: InterfaceId,
        tag: Option<String>,
    },
}

impl NicRequest {
    fn attach_spec(&self) -> AttachSpec {
        match self {
            NicRequest::Network {
                network_id,
                fixed_ips,
                tag,
            } => AttachSpec {
                network_id: Some(*network_id),
                fixed_ips: fixed_ips.clone(),
                tag: tag.clone(),
                ..Default::default()
            },
            NicRequest::Interface { interface_id, tag } => AttachSpec {
                interface_id: Some(*interface_id),
                tag: tag.clone(),
                ..Default::default()
            },
        }
    }
}

/// The VM's interfaces, primary first (as the detail page shows them).
fn detail_of(tx: &mut dyn Tx, vm: Vm) -> Result<VmDetail> {
    let mut interfaces = tx.interface_list(
        &InterfaceFilter {
            vm_id: Some(Some(vm.id)),
            ..Default::default()
        },
        &PageRequest::default(),
    )?;
    interfaces.sort_by(|a, b| {
        b.primary
            .cmp(&a.primary)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(VmDetail { vm, interfaces })
}

/// Create a VM whose primary interface is the first requested one (the
/// project's Default Network when none is requested); the further requests
/// are attached with the usual attach rules (data center, interface limit).
///
/// The VM is inserted stopped and powered on (when asked) after its
/// interfaces exist, so a Windows VM can be created with several interfaces:
/// the hot-plug rule is about changing a running VM, not about creating one.
pub fn vm_create_on_networks_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &VmSpec,
    nics: &[NicRequest],
    limit: u32,
    policy: PortPolicy,
) -> Result<VmDetail> {
    let name = Name::parse("name", &spec.name)?;
    rules::list_bound("networks", nics.len(), rules::BULK_CREATE_MAX)?;
    nicplane_domain::rules::check_metadata(&spec.metadata)?;
    tx.data_center_get(spec.data_center_id)?.ok_or_else(|| {
        Error::invalid(format!(
            "Data center {} does not exist.",
            spec.data_center_id
        ))
    })?;
    let default_network = create_default_network(tx, project, spec.data_center_id)?;
    let t = now();
    let mut vm = Vm {
        id: VmId::new(),
        project_id: project.clone(),
        data_center_id: spec.data_center_id,
        name: name.to_string(),
        os_type: spec.os_type,
        power_state: PowerState::Stopped,
        image_ref: spec.image_ref.clone(),
        flavor_ref: spec.flavor_ref.clone(),
        metadata: spec.metadata.clone(),
        interface_count: 1,
        created_at: t,
        updated_at: t,
    };
    tx.vm_insert(&vm)?;
    let first = nics.first().cloned().unwrap_or(NicRequest::Network {
        network_id: default_network.id,
        fixed_ips: vec![],
        tag: None,
    });
    match first {
        NicRequest::Network {
            network_id,
            fixed_ips,
            tag,
        } => {
            let network = visible_network(tx, project, network_id)?;
            rules::network_in_vm_data_center(&vm, &network)?;
            let status = derived_status(Some(&vm));
            create_interface(
                tx,
                project,
                &network,
                &fixed_ips,
                &None,
                None,
                policy,
                |i| {
                    i.vm_id = Some(vm.id);
                    i.primary = true;
                    i.status = status;
                    i.tag = tag.clone();
                    i.device_owner = "compute:nova".into();
                    Ok(())
                },
                true,
            )?;
        }
        NicRequest::Interface { interface_id, tag } => {
            let mut iface = owned_interface(tx, project, interface_id)?;
            if iface.supplementary {
                return Err(Error::invalid(format!(
                    "Network interface {interface_id} is a supplementary interface and cannot be attached to a VM."
                )));
            }
            if let Some(other) = iface.vm_id {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    format!("Network interface {interface_id} is already attached to VM {other}."),
                ));
            }
            let network = visible_network(tx, project, iface.network_id)?;
            rules::network_in_vm_data_center(&vm, &network)?;
            iface.vm_id = Some(vm.id);
            iface.primary = true;
            iface.status = derived_status(Some(&vm));
            if tag.is_some() {
                iface.tag = tag;
            }
            iface.device_owner = "compute:nova".into();
            iface.updated_at = now();
            tx.interface_update(&iface)?;
        }
    }
    for nic in nics.iter().skip(1) {
        attach_tx(tx, project, vm.id, &nic.attach_spec(), limit, policy)?;
    }
    vm = tx
        .vm_get(vm.id)?
        .ok_or_else(|| Error::not_found(Kind::Vm, vm.id))?;
    match spec.power_state.unwrap_or(PowerState::Running) {
        PowerState::Running => vm_power_tx(tx, project, vm.id, PowerState::Running),
        PowerState::Stopped => detail_of(tx, vm),
    }
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
        if sg.is_default && n.as_str() != DEFAULT_SECURITY_GROUP {
            return Err(Error::conflict(
                ConflictReason::InUse,
                "The default security group cannot be renamed.",
            ));
        }
        if !sg.is_default && n.as_str() == DEFAULT_SECURITY_GROUP {
            return Err(Error::conflict(
                ConflictReason::NameTaken,
                "The name default is reserved for the project's default security group.",
            ));
        }
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
    if n.kind == NetworkKind::Custom {
        n.kind = NetworkKind::Standard;
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

    /// `vm_create_on_networks`: create a VM with its first interface on the
    /// first requested network or interface (the Default Network when none),
    /// and the further ones attached.
    pub async fn vm_create_on_networks(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: VmSpec,
        nics: Vec<NicRequest>,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        let c = caller.clone();
        let p = project.clone();
        let limit = self.config.interface_limit;
        let policy = self.port_policy(caller);
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Write)?;
            vm_create_on_networks_tx(tx, &p, &spec, &nics, limit, policy)
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
        let c = caller.clone();
        let p = project.clone();
        let policy = self.port_policy(caller);
        rules::bulk_bound("ports", specs.len())?;
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Write)?;
            specs
                .iter()
                .map(|s| interface_create_tx(tx, &p, s, policy))
                .collect()
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
        let c = caller.clone();
        let p = project.clone();
        let cloud_admin = caller.user.is_cloud_admin;
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Administer)?;
            subnet_add_tx(tx, &p, network, &spec, cloud_admin)
        })
        .await
    }

    /// `public_ip_allocate_in`: allocate a public IP from a given data
    /// center's pools, optionally straight onto an interface, which must be
    /// in that data center.
    pub async fn public_ip_allocate_in(
        &self,
        caller: &Caller,
        project: &ProjectId,
        data_center: DataCenterId,
        interface: Option<InterfaceId>,
        description: String,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        let c = caller.clone();
        let p = project.clone();
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Write)?;
            tx.data_center_get(data_center)?
                .ok_or_else(|| Error::not_found(Kind::DataCenter, data_center))?;
            if let Some(i) = interface {
                let iface = owned_interface(tx, &p, i)?;
                if iface.data_center_id != data_center {
                    return Err(Error::invalid(format!(
                        "Network interface {i} is in another data center than the public IP pool."
                    )));
                }
            }
            allocate_tx(
                tx,
                &p,
                &PublicIpSpec {
                    interface_id: interface,
                    data_center_id: Some(data_center),
                    description: description.clone(),
                },
            )
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
        let c = caller.clone();
        let p = project.clone();
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Write)?;
            security_group_update_tx(tx, &p, id, name.as_deref(), description.as_deref())
        })
        .await
    }
}
