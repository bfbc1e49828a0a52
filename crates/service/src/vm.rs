//! VMs: create (with a primary interface on the Default Network), start,
//! stop, rename, delete.

use crate::feed::{emit, emit_deleted};
use crate::interface::{
    attach_to_vm, create_interface, delete_counted_interface_row, derived_status, owned_interface,
    owned_vm, AttachSpec, Plug,
};
use crate::ipam::FixedIpRequest;
use crate::network::{create_default_network, visible_network};
use crate::PortPolicy;
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{rules, Error, Kind, Result};
use nicplane_store::{InterfaceFilter, PageRequest, Tx, VmFilter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A VM to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    #[serde(default = "default_os")]
    pub os_type: OsType,
    /// Defaults to running.
    #[serde(default)]
    pub power_state: Option<PowerState>,
    #[serde(default)]
    pub image_ref: String,
    #[serde(default)]
    pub flavor_ref: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Nova's `accessIPv4`: an address the owner reaches the VM at.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub access_ipv4: Option<std::net::IpAddr>,
    /// Nova's `accessIPv6`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub access_ipv6: Option<std::net::IpAddr>,
    /// The host (name or id) to place the VM on (cloud admin only); by
    /// default the least loaded live host of the data center, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

fn default_os() -> OsType {
    OsType::Linux
}

/// Changes to a VM.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VmPatch {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A VM with its interfaces (the detail page's Network section).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VmDetail {
    #[serde(flatten)]
    pub vm: Vm,
    pub interfaces: Vec<Interface>,
}

/// Order a VM's interfaces as the detail page shows them: primary first,
/// then by creation.
fn sort_interfaces(interfaces: &mut [Interface]) {
    interfaces.sort_by(|a, b| {
        b.primary
            .cmp(&a.primary)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
}

pub(crate) fn vm_detail(tx: &mut dyn Tx, vm: Vm) -> Result<VmDetail> {
    let mut interfaces = tx.interface_list(
        &InterfaceFilter {
            vm_id: Some(Some(vm.id)),
            ..Default::default()
        },
        &PageRequest::all(),
    )?;
    sort_interfaces(&mut interfaces);
    Ok(VmDetail { vm, interfaces })
}

/// An interface of a VM being created: a new one on the project's Default
/// Network in the VM's data center, a new one on a network (with optional
/// fixed IPs), or an existing unattached interface.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum NicRequest {
    DefaultNetwork,
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
    fn attach_spec(&self, device_owner: &str) -> AttachSpec {
        let spec = AttachSpec {
            device_owner: Some(device_owner.to_string()),
            ..Default::default()
        };
        match self {
            NicRequest::DefaultNetwork => AttachSpec {
                default_network: true,
                ..spec
            },
            NicRequest::Network {
                network_id,
                fixed_ips,
                tag,
            } => AttachSpec {
                network_id: Some(*network_id),
                fixed_ips: fixed_ips.clone(),
                tag: tag.clone(),
                ..spec
            },
            NicRequest::Interface { interface_id, tag } => AttachSpec {
                interface_id: Some(*interface_id),
                tag: tag.clone(),
                ..spec
            },
        }
    }
}

/// Create a VM with its interfaces (inside a transaction), the one VM create
/// of every dialect. The first NIC (the project's Default Network, created
/// if missing, when none is requested) becomes the primary interface; the
/// further ones are attached under the attach rules (data center, interface
/// limit) but not the hot-plug rule, which is about changing a running VM,
/// not creating one: a Windows VM can be created with several interfaces.
/// `device_owner` labels the bindings (the dialect's choice).
pub fn vm_create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &VmSpec,
    nics: &[NicRequest],
    device_owner: &str,
    limit: u32,
    policy: PortPolicy,
) -> Result<VmDetail> {
    let name = Name::parse("name", &spec.name)?;
    rules::list_bound("networks", nics.len(), rules::BULK_CREATE_MAX)?;
    rules::check_metadata(&spec.metadata)?;
    rules::access_ips_valid(spec.access_ipv4, spec.access_ipv6)?;
    tx.data_center_get(spec.data_center_id)?.ok_or_else(|| {
        Error::invalid(format!(
            "Data center {} does not exist.",
            spec.data_center_id
        ))
    })?;
    let default_network = create_default_network(tx, project, spec.data_center_id)?;
    let host_id = crate::host::place_vm_tx(tx, spec.data_center_id, spec.host.as_deref())?;
    let t = now();
    let mut vm = Vm {
        id: VmId::new(),
        project_id: project.clone(),
        data_center_id: spec.data_center_id,
        name: name.to_string(),
        os_type: spec.os_type,
        power_state: spec.power_state.unwrap_or(PowerState::Running),
        image_ref: spec.image_ref.clone(),
        flavor_ref: spec.flavor_ref.clone(),
        metadata: spec.metadata.clone(),
        interface_count: 1,
        access_ipv4: spec.access_ipv4,
        access_ipv6: spec.access_ipv6,
        host_id,
        created_at: t,
        updated_at: t,
    };
    tx.vm_insert(&vm)?;
    let status = derived_status(Some(&vm));
    let bind = |i: &mut Interface, tag: Option<String>| {
        i.vm_id = Some(vm.id);
        i.primary = true;
        i.status = status;
        if tag.is_some() {
            i.tag = tag;
        }
        i.device_owner = device_owner.to_string();
    };
    let new_primary =
        |tx: &mut dyn Tx, network: &Network, fixed_ips: &[FixedIpRequest], tag: Option<String>| {
            rules::network_in_vm_data_center(&vm, network)?;
            create_interface(
                tx,
                project,
                network,
                fixed_ips,
                &None,
                None,
                policy,
                |i| {
                    bind(i, tag);
                    Ok(())
                },
                true,
            )
        };
    let primary = match nics.first().unwrap_or(&NicRequest::DefaultNetwork) {
        NicRequest::DefaultNetwork => new_primary(tx, &default_network, &[], None)?,
        NicRequest::Network {
            network_id,
            fixed_ips,
            tag,
        } => {
            let network = crate::network::network_for_port(tx, project, *network_id)?;
            new_primary(tx, &network, fixed_ips, tag.clone())?
        }
        NicRequest::Interface { interface_id, tag } => {
            let mut iface = owned_interface(tx, project, *interface_id)?;
            rules::interface_attachable(&iface)?;
            rules::router_port_not_attachable(&iface)?;
            let network = visible_network(tx, project, iface.network_id)?;
            rules::network_in_vm_data_center(&vm, &network)?;
            bind(&mut iface, tag.clone());
            iface.updated_at = now();
            tx.interface_update(&iface)?;
            iface
        }
    };
    let mut interfaces = vec![primary];
    for nic in nics.iter().skip(1) {
        let spec = nic.attach_spec(device_owner);
        interfaces.push(attach_to_vm(
            tx,
            project,
            &mut vm,
            &spec,
            limit,
            policy,
            Plug::AtCreate,
        )?);
    }
    sort_interfaces(&mut interfaces);
    Ok(VmDetail { vm, interfaces })
}

/// Start or stop a VM and report its interfaces' link state accordingly.
pub fn vm_power_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: VmId,
    state: PowerState,
) -> Result<VmDetail> {
    let mut vm = owned_vm(tx, project, id)?;
    vm.power_state = state;
    vm.updated_at = now();
    tx.vm_update(&vm)?;
    let status = derived_status(Some(&vm));
    let detail = vm_detail(tx, vm)?;
    for mut i in detail.interfaces.clone() {
        if i.status != status {
            i.status = status;
            tx.interface_update(&i)?;
        }
    }
    vm_detail(tx, detail.vm)
}

/// Delete a VM: the interfaces it created go (releasing their addresses and
/// public IPs); interfaces attached from outside are unbound and kept.
pub fn vm_delete_tx(tx: &mut dyn Tx, project: &ProjectId, id: VmId) -> Result<()> {
    let vm = owned_vm(tx, project, id)?;
    let detail = vm_detail(tx, vm)?;
    for mut i in detail.interfaces {
        let (auto_delete, children) = tx.interface_auto_delete(i.id)?;
        if auto_delete {
            delete_counted_interface_row(tx, &i, children)?;
            emit_deleted(tx, Kind::Interface, i.id, Some(project))?;
        } else {
            i.vm_id = None;
            i.primary = false;
            i.status = InterfaceStatus::Down;
            i.device_owner = String::new();
            i.updated_at = now();
            tx.interface_update(&i)?;
            emit(
                tx,
                Kind::Interface,
                i.id,
                Some(project),
                Action::Detach,
                Some(&i),
            )?;
        }
    }
    tx.vm_delete(id)?;
    emit_deleted(tx, Kind::Vm, id, Some(project))
}

/// Record a VM's creation and the interfaces it was created with.
pub(crate) fn emit_vm_created(tx: &mut dyn Tx, project: &ProjectId, vm: &VmDetail) -> Result<()> {
    emit(
        tx,
        Kind::Vm,
        vm.vm.id,
        Some(project),
        Action::Create,
        Some(&vm.vm),
    )?;
    for i in &vm.interfaces {
        emit(
            tx,
            Kind::Interface,
            i.id,
            Some(project),
            Action::Attach,
            Some(i),
        )?;
    }
    Ok(())
}

impl Service {
    /// `vm_list`.
    pub async fn vm_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        mut filter: VmFilter,
        page: PageRequest,
    ) -> Result<Vec<VmDetail>> {
        filter.project_id = Some(project.clone());
        self.project_read(caller, project, Need::Read, move |tx, _| {
            let vms = tx.vm_list(&filter, &page)?;
            vms.into_iter().map(|v| vm_detail(tx, v)).collect()
        })
        .await
    }

    /// `vm_get`: a VM with its interfaces.
    pub async fn vm_get(&self, caller: &Caller, project: &ProjectId, id: VmId) -> Result<VmDetail> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let vm = owned_vm(tx, p, id)?;
            vm_detail(tx, vm)
        })
        .await
    }

    /// `vm_interface_list`: a VM's interfaces, in [`vm_get`]'s order. One
    /// statement when the VM has any (its interfaces, if its VM is in
    /// `project`); the VM is read only when none came back, to tell a VM
    /// without interfaces from one this project does not have.
    ///
    /// [`vm_get`]: Service::vm_get
    pub async fn vm_interfaces(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
    ) -> Result<Vec<Interface>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let filter = InterfaceFilter {
                vm_id: Some(Some(id)),
                vm_in_project: Some(p.clone()),
                ..Default::default()
            };
            let mut interfaces = tx.interface_list(&filter, &PageRequest::all())?;
            if interfaces.is_empty() {
                owned_vm(tx, p, id)?;
            }
            sort_interfaces(&mut interfaces);
            Ok(interfaces)
        })
        .await
    }

    /// `vm_create`: a VM with its interfaces ([`vm_create_tx`]).
    pub async fn vm_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: VmSpec,
        nics: Vec<NicRequest>,
        device_owner: &str,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        if spec.host.is_some() {
            rules::host_pin_allowed(caller.user.is_cloud_admin)?;
        }
        let policy = self.port_policy(caller);
        let limit = self.config.interface_limit;
        let owner = device_owner.to_string();
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let vm = vm_create_tx(tx, p, &spec, &nics, &owner, limit, policy)?;
            emit_vm_created(tx, p, &vm)?;
            Ok(vm)
        })
        .await
    }

    /// `vm_update`.
    pub async fn vm_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
        patch: VmPatch,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let mut vm = owned_vm(tx, p, id)?;
            if let Some(n) = &patch.name {
                vm.name = Name::parse("name", n)?.to_string();
            }
            if let Some(m) = &patch.metadata {
                nicplane_domain::rules::check_metadata(m)?;
                vm.metadata = m.clone();
            }
            vm.updated_at = now();
            tx.vm_update(&vm)?;
            emit(tx, Kind::Vm, vm.id, Some(p), Action::Update, Some(&vm))?;
            vm_detail(tx, vm)
        })
        .await
    }

    /// `vm_start`.
    pub async fn vm_start(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        self.vm_power(caller, project, id, PowerState::Running, opts)
            .await
    }

    /// `vm_stop`.
    pub async fn vm_stop(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        self.vm_power(caller, project, id, PowerState::Stopped, opts)
            .await
    }

    async fn vm_power(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
        state: PowerState,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let vm = vm_power_tx(tx, p, id, state)?;
            let action = match state {
                PowerState::Running => Action::Start,
                PowerState::Stopped => Action::Stop,
            };
            emit(tx, Kind::Vm, vm.vm.id, Some(p), action, Some(&vm.vm))?;
            Ok(vm)
        })
        .await
    }

    /// `vm_delete`.
    pub async fn vm_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: VmId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            vm_delete_tx(tx, p, id)
        })
        .await
    }
}

/// "not found" for a VM id.
pub fn vm_not_found(id: VmId) -> Error {
    Error::not_found(Kind::Vm, id)
}
