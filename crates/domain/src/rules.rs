//! The business rules, one named function each. The service layer calls them
//! inside the transaction that writes the change, on data read in that same
//! transaction; the database constraints named in each doc comment back them.

use crate::error::{ConflictReason, Error, Kind, Result};
use crate::ids::{ProjectId, UserId};
use crate::ipam::{AddressSpace, Range};
use crate::model::{Interface, Network, Vm};
use crate::types::{NetworkKind, OsType, PowerState, Role};
use std::net::IpAddr;

/// A VM has at most `limit` elastic interfaces (5 by default, a deployment
/// setting). Backed by the VM row lock and `CHECK (nic_count >= 0)`.
pub fn interface_limit(vm: &Vm, current: u32, limit: u32) -> Result<()> {
    if current >= limit {
        return Err(Error::conflict(
            ConflictReason::InterfaceLimitReached,
            format!(
                "VM {} already has {current} network interfaces, the maximum is {limit}.",
                vm.name
            ),
        ));
    }
    Ok(())
}

/// The network must be in the VM's data center.
pub fn network_in_vm_data_center(vm: &Vm, network: &Network) -> Result<()> {
    if vm.data_center_id != network.data_center_id {
        return Err(Error::invalid(format!(
            "Network {} is in another data center than VM {}; a VM can only use networks of its own data center.",
            network.name, vm.name
        )));
    }
    Ok(())
}

/// Hot-plug policy: Linux VMs may add or remove interfaces while running;
/// Windows VMs must be stopped first.
pub fn hot_plug_allowed(vm: &Vm) -> Result<()> {
    if vm.os_type == OsType::Windows && vm.power_state == PowerState::Running {
        return Err(Error::conflict(
            ConflictReason::VmMustBeStopped,
            format!(
                "VM {} runs Windows and is running: stop the VM before adding or removing network interfaces.",
                vm.name
            ),
        ));
    }
    Ok(())
}

/// The primary interface cannot be removed (nor detached from its VM).
/// Backed by the partial unique index `interfaces_one_primary`.
pub fn primary_not_removable(iface: &Interface) -> Result<()> {
    if iface.primary {
        return Err(Error::conflict(
            ConflictReason::PrimaryInterface,
            format!(
                "Network interface {} is the primary interface of its VM and cannot be removed.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// A requested fixed IP must lie in the subnet and must not be the network,
/// broadcast (IPv4) or gateway address. Returns its offset. Whether it is free
/// is decided by the allocation itself (unique index on `(subnet_id, offset)`).
pub fn fixed_ip_allowed(
    space: &AddressSpace,
    gateway: Option<IpAddr>,
    subnet_name: &str,
    ip: IpAddr,
) -> Result<u64> {
    let Some(offset) = space.offset_of(ip) else {
        return Err(Error::invalid(format!(
            "The IP address {ip} is not in subnet {subnet_name} ({}).",
            space.cidr()
        )));
    };
    if offset == 0 {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the network address of subnet {subnet_name} and cannot be assigned."
        )));
    }
    if space.is_v4() && offset == space.last_offset() {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the broadcast address of subnet {subnet_name} and cannot be assigned."
        )));
    }
    if gateway == Some(ip) {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the gateway of subnet {subnet_name} and cannot be assigned."
        )));
    }
    Ok(offset)
}

/// The message for a requested address that is already allocated.
pub fn address_in_use(ip: IpAddr, subnet_name: &str) -> Error {
    Error::conflict(
        ConflictReason::AddressInUse,
        format!("The IP address {ip} is already in use on subnet {subnet_name}."),
    )
}

/// The message for a subnet without a free address.
pub fn subnet_exhausted(subnet_name: &str) -> Error {
    Error::exhausted(format!("Subnet {subnet_name} has no free IP address left."))
}

/// Public IPs only on interfaces of standard (L3) networks.
pub fn public_ip_network_allowed(network: &Network) -> Result<()> {
    if network.kind != NetworkKind::Standard {
        return Err(Error::conflict(
            ConflictReason::NetworkNotRoutable,
            format!(
                "Network {} is a custom (L2) network; public IPs can only be allocated on interfaces of standard (L3) networks.",
                network.name
            ),
        ));
    }
    Ok(())
}

/// At most one public IP per interface. Backed by the unique index on
/// `public_ips(interface_id)`.
pub fn one_public_ip_per_interface(iface: &Interface) -> Result<()> {
    if let Some(ip) = iface.public_ip {
        return Err(Error::conflict(
            ConflictReason::PublicIpExists,
            format!(
                "Network interface {} already has the public IP {ip}.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// A public IP maps to the interface's IPv4 address: it needs one.
pub fn public_ip_needs_ipv4(iface: &Interface) -> Result<IpAddr> {
    iface.ipv4().ok_or_else(|| {
        Error::conflict(
            ConflictReason::WrongState,
            format!(
                "Network interface {} has no IPv4 address to map a public IP to.",
                iface.id
            ),
        )
    })
}

/// Where a pool's next public IP comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicIpSource {
    /// The lowest never-used address (from the pool's free range).
    Fresh(Range),
    /// The address released longest ago (head of the release queue).
    Released { seq: i64, offset: u64 },
}

/// Releasing a public IP is permanent: a released address goes behind every
/// other free address. So the next address is a never-used one while any is
/// left, else the one released longest ago. An empty pool is exhausted.
pub fn public_ip_release_order(
    fresh: Option<Range>,
    oldest_released: Option<(i64, u64)>,
    pool_name: &str,
) -> Result<PublicIpSource> {
    match (fresh, oldest_released) {
        (Some(r), _) => Ok(PublicIpSource::Fresh(r)),
        (None, Some((seq, offset))) => Ok(PublicIpSource::Released { seq, offset }),
        (None, None) => Err(Error::exhausted(format!(
            "The public IP pool {pool_name} is exhausted: no public IP address is free."
        ))),
    }
}

/// Readers may look but not change anything.
pub fn role_may_write(role: Role) -> Result<()> {
    if !role.can_write() {
        return Err(Error::forbidden(format!(
            "The {} role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
            role.title()
        )));
    }
    Ok(())
}

/// Only the Tenant Administrator manages a project's networks and members.
pub fn role_may_administer(role: Role) -> Result<()> {
    if role != Role::Admin {
        return Err(Error::forbidden(format!(
            "The {} role cannot do this; it needs the Tenant Administrator role.",
            role.title()
        )));
    }
    Ok(())
}

/// A token scoped to a project (Keystone's project-scoped tokens) acts only
/// in that project; any other project looks missing, as projects the caller
/// cannot see do. The cloud admin's token keeps its cloud-wide reach (the
/// admin role is global in OpenStack's default policy).
pub fn token_scope_allows(
    scope: Option<&ProjectId>,
    project: &ProjectId,
    is_cloud_admin: bool,
) -> Result<()> {
    match scope {
        Some(s) if s != project && !is_cloud_admin => Err(Error::not_found(Kind::Project, project)),
        _ => Ok(()),
    }
}

/// A password has at least `min` characters (`--password-min-length`).
pub fn password_long_enough(password: &str, min: usize) -> Result<()> {
    if password.chars().count() < min {
        return Err(Error::invalid_value(
            "password",
            format!("must be at least {min} characters."),
        ));
    }
    Ok(())
}

/// The last enabled cloud admin can be neither disabled nor deleted: nobody
/// could administer the cloud any more. `enabled_admins` are read with their
/// rows locked, so two servers cannot each remove "the other" last admin.
pub fn last_cloud_admin_kept(target: UserId, name: &str, enabled_admins: &[UserId]) -> Result<()> {
    if enabled_admins == [target] {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "User {name} is the last enabled cloud admin; it cannot be disabled or deleted."
            ),
        ));
    }
    Ok(())
}

/// A user changing their own password proves they know the current one; the
/// cloud admin resets another user's password without it (Keystone's
/// `PATCH /v3/users/{id}` versus `POST /v3/users/{id}/password`).
pub fn password_change_needs_original(
    is_self: bool,
    is_cloud_admin: bool,
    original: Option<&str>,
) -> Result<()> {
    if original.is_none() && (is_self || !is_cloud_admin) {
        return Err(Error::invalid_value(
            "original_password",
            "is required to change your own password.",
        ));
    }
    Ok(())
}

/// A supplementary interface's VLAN id is unique among its parent's
/// supplementary interfaces. Backed by the unique index
/// `interfaces_parent_vlan` on `(parent_id, vlan_id)`.
pub fn vlan_in_use(vlan: u16, parent: &str) -> Error {
    Error::conflict(
        ConflictReason::VlanInUse,
        format!("VLAN {vlan} is already used on parent interface {parent}."),
    )
}

/// A supplementary interface must hang off an elastic interface.
pub fn parent_must_be_elastic(parent: &Interface) -> Result<()> {
    if parent.supplementary {
        return Err(Error::invalid(format!(
            "Network interface {} is a supplementary interface and cannot be a parent.",
            parent.id
        )));
    }
    Ok(())
}

/// A parent interface that still carries supplementary interfaces cannot be
/// removed: detach or delete them first.
pub fn parent_has_no_children(iface: &Interface, children: u64) -> Result<()> {
    if children > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Network interface {} still carries {children} supplementary interfaces; detach or delete them first.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// An object of another project looks like a missing one.
pub fn not_found_in_project(kind: Kind, id: impl std::fmt::Display) -> Error {
    Error::not_found(kind, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::model::now;
    use crate::types::InterfaceStatus;
    use std::collections::BTreeMap;

    fn vm(os: OsType, power: PowerState) -> Vm {
        Vm {
            id: VmId::new(),
            project_id: ProjectId::new(),
            data_center_id: DataCenterId::new(),
            name: "web-1".into(),
            os_type: os,
            power_state: power,
            image_ref: String::new(),
            flavor_ref: String::new(),
            metadata: BTreeMap::new(),
            interface_count: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn network(kind: NetworkKind, dc: DataCenterId) -> Network {
        Network {
            id: NetworkId::new(),
            project_id: None,
            data_center_id: dc,
            name: "db-net".into(),
            description: String::new(),
            kind,
            shared: false,
            is_default: false,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn iface(primary: bool) -> Interface {
        Interface {
            id: InterfaceId::new(),
            project_id: ProjectId::new(),
            network_id: NetworkId::new(),
            network_name: "n".into(),
            data_center_id: DataCenterId::new(),
            vm_id: None,
            name: String::new(),
            mac_address: "fa:16:3e:00:00:01".parse().unwrap(),
            fixed_ips: vec![],
            primary,
            status: InterfaceStatus::Build,
            admin_state_up: true,
            description: String::new(),
            tag: None,
            security_groups: vec![],
            port_security_enabled: true,
            allowed_address_pairs: vec![],
            tags: vec![],
            device_owner: String::new(),
            public_ip: None,
            parent_id: None,
            vlan_id: None,
            supplementary: false,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn interface_limit_refuses_the_sixth() {
        let v = vm(OsType::Linux, PowerState::Running);
        assert!(interface_limit(&v, 4, 5).is_ok());
        let e = interface_limit(&v, 5, 5).unwrap_err();
        assert_eq!(
            e.conflict_reason(),
            Some(ConflictReason::InterfaceLimitReached)
        );
        assert!(e.to_string().contains("maximum is 5"));
        assert!(interface_limit(&v, 7, 8).is_ok());
    }

    #[test]
    fn network_must_be_in_the_vms_data_center() {
        let v = vm(OsType::Linux, PowerState::Running);
        assert!(
            network_in_vm_data_center(&v, &network(NetworkKind::Standard, v.data_center_id))
                .is_ok()
        );
        let e = network_in_vm_data_center(&v, &network(NetworkKind::Standard, DataCenterId::new()))
            .unwrap_err();
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn windows_must_be_stopped_linux_may_run() {
        assert!(hot_plug_allowed(&vm(OsType::Linux, PowerState::Running)).is_ok());
        assert!(hot_plug_allowed(&vm(OsType::Windows, PowerState::Stopped)).is_ok());
        let e = hot_plug_allowed(&vm(OsType::Windows, PowerState::Running)).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::VmMustBeStopped));
        assert!(e.to_string().contains("stop the VM"));
    }

    #[test]
    fn primary_cannot_be_removed() {
        assert!(primary_not_removable(&iface(false)).is_ok());
        assert_eq!(
            primary_not_removable(&iface(true))
                .unwrap_err()
                .conflict_reason(),
            Some(ConflictReason::PrimaryInterface)
        );
    }

    #[test]
    fn fixed_ip_checks_name_the_address() {
        let s = AddressSpace::new("10.0.0.0/24".parse().unwrap()).unwrap();
        let gw = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            fixed_ip_allowed(&s, gw, "app", "10.0.0.5".parse().unwrap()).unwrap(),
            5
        );
        for (ip, word) in [
            ("10.0.1.5", "not in subnet"),
            ("10.0.0.0", "network address"),
            ("10.0.0.255", "broadcast"),
            ("10.0.0.1", "gateway"),
        ] {
            let e = fixed_ip_allowed(&s, gw, "app", ip.parse().unwrap()).unwrap_err();
            assert!(e.to_string().contains(ip), "{e}");
            assert!(e.to_string().contains(word), "{e}");
            assert_eq!(e.http_status(), 400);
        }
        assert!(address_in_use("10.0.0.5".parse().unwrap(), "app")
            .to_string()
            .contains("10.0.0.5 is already in use"));
    }

    #[test]
    fn public_ips_only_on_standard_networks() {
        let dc = DataCenterId::new();
        assert!(public_ip_network_allowed(&network(NetworkKind::Standard, dc)).is_ok());
        let e = public_ip_network_allowed(&network(NetworkKind::Custom, dc)).unwrap_err();
        assert!(e.to_string().contains("L2"));
    }

    #[test]
    fn one_public_ip_per_interface_refuses_a_second() {
        let mut i = iface(false);
        assert!(one_public_ip_per_interface(&i).is_ok());
        i.public_ip = Some("203.0.113.5".parse().unwrap());
        assert!(one_public_ip_per_interface(&i).is_err());
    }

    #[test]
    fn released_public_ips_go_behind_fresh_ones() {
        let fresh = Range::new(7, 20);
        assert_eq!(
            public_ip_release_order(fresh, Some((1, 3)), "p").unwrap(),
            PublicIpSource::Fresh(fresh.unwrap())
        );
        assert_eq!(
            public_ip_release_order(None, Some((1, 3)), "p").unwrap(),
            PublicIpSource::Released { seq: 1, offset: 3 }
        );
        let e = public_ip_release_order(None, None, "p").unwrap_err();
        assert_eq!(e.http_status(), 409);
    }

    #[test]
    fn a_scoped_token_acts_only_in_its_project() {
        let a = ProjectId::new();
        let b = ProjectId::new();
        assert!(token_scope_allows(Some(&a), &a, false).is_ok());
        assert!(token_scope_allows(None, &b, false).is_ok());
        assert!(token_scope_allows(Some(&a), &b, true).is_ok());
        let e = token_scope_allows(Some(&a), &b, false).unwrap_err();
        assert_eq!(e.http_status(), 404);
        assert_eq!(e.to_string(), format!("Project {b} could not be found."));
    }

    #[test]
    fn passwords_have_a_minimum_length_in_characters() {
        assert!(password_long_enough("12345678", 8).is_ok());
        assert!(password_long_enough("éééééééé", 8).is_ok());
        let e = password_long_enough("1234567", 8).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            e.to_string(),
            "Invalid value for password: must be at least 8 characters."
        );
    }

    #[test]
    fn the_last_enabled_cloud_admin_is_kept() {
        let a = UserId::new();
        let b = UserId::new();
        assert!(last_cloud_admin_kept(a, "a", &[a, b]).is_ok());
        assert!(last_cloud_admin_kept(a, "a", &[b]).is_ok());
        let e = last_cloud_admin_kept(a, "admin", &[a]).unwrap_err();
        assert_eq!(e.http_status(), 409);
    }

    #[test]
    fn only_the_cloud_admin_resets_without_the_original_password() {
        assert!(password_change_needs_original(false, true, None).is_ok());
        assert!(password_change_needs_original(true, false, Some("x")).is_ok());
        assert_eq!(
            password_change_needs_original(true, true, None)
                .unwrap_err()
                .http_status(),
            400
        );
    }

    #[test]
    fn readers_cannot_write() {
        assert!(role_may_write(Role::Admin).is_ok());
        assert!(role_may_write(Role::PowerUser).is_ok());
        assert_eq!(role_may_write(Role::Reader).unwrap_err().http_status(), 403);
        assert!(role_may_administer(Role::PowerUser).is_err());
    }

    #[test]
    fn supplementary_rules() {
        let mut p = iface(false);
        assert!(parent_must_be_elastic(&p).is_ok());
        p.supplementary = true;
        assert!(parent_must_be_elastic(&p).is_err());
        assert!(parent_has_no_children(&p, 0).is_ok());
        assert_eq!(
            parent_has_no_children(&p, 2).unwrap_err().http_status(),
            409
        );
        assert_eq!(
            vlan_in_use(7, "x").conflict_reason(),
            Some(ConflictReason::VlanInUse)
        );
    }
}
