//! VMs: create (with a primary interface on the Default Network), start,
//! stop, rename, delete.

use crate::interface::{create_interface, delete_interface_row, derived_status, owned_vm};
use crate::network::create_default_network;
use crate::PortPolicy;
use crate::{authorize, Caller, Need, Service, WriteOptions};
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{InterfaceFilter, PageRequest, Tx, VmFilter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A VM to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
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
}

fn default_os() -> OsType {
    OsType::Linux
}

/// Changes to a VM.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VmPatch {
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

fn vm_detail(tx: &mut dyn Tx, vm: Vm) -> Result<VmDetail> {
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

/// Create a VM and its primary interface (inside a transaction).
pub fn vm_create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &VmSpec,
    policy: PortPolicy,
) -> Result<VmDetail> {
    let name = Name::parse("name", &spec.name)?;
    nicplane_domain::rules::check_metadata(&spec.metadata)?;
    tx.data_center_get(spec.data_center_id)?.ok_or_else(|| {
        Error::invalid(format!(
            "Data center {} does not exist.",
            spec.data_center_id
        ))
    })?;
    let network = create_default_network(tx, project, spec.data_center_id)?;
    let t = now();
    let vm = Vm {
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
        created_at: t,
        updated_at: t,
    };
    tx.vm_insert(&vm)?;
    let status = derived_status(Some(&vm));
    let primary = create_interface(
        tx,
        project,
        &network,
        &[],
        &None,
        None,
        policy,
        |i| {
            i.vm_id = Some(vm.id);
            i.primary = true;
            i.status = status;
            i.device_owner = "compute:nova".into();
            Ok(())
        },
        true,
    )?;
    Ok(VmDetail {
        vm,
        interfaces: vec![primary],
    })
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
        if tx.interface_auto_delete(i.id)? {
            delete_interface_row(tx, &i)?;
        } else {
            i.vm_id = None;
            i.primary = false;
            i.status = InterfaceStatus::Down;
            i.device_owner = String::new();
            i.updated_at = now();
            tx.interface_update(&i)?;
        }
    }
    tx.vm_delete(id)
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
        let c = caller.clone();
        let p = project.clone();
        filter.project_id = Some(p.clone());
        self.store
            .read(move |tx| {
                authorize(tx, &c, &p, Need::Read)?;
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

    /// `vm_create`.
    pub async fn vm_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: VmSpec,
        opts: &WriteOptions,
    ) -> Result<VmDetail> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            vm_create_tx(tx, p, &spec, policy)
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
            vm_power_tx(tx, p, id, state)
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
