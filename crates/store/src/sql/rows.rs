//! The column lists and their row mappers, one per table or join: a mapper
//! reads the columns of its list, in order, from either engine's row.

use super::Row;
use crate::credential_job::{CredentialRow, JobRow};
use crate::trunk::TrunkRow;
use nicplane_domain::ipam::{from_key, Range};
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::Result;
use std::net::IpAddr;

pub const DC_COLS: &str = "id, name, created_at";
pub fn dc_row(r: &dyn Row) -> Result<DataCenter> {
    Ok(DataCenter {
        id: r.parse(0, "id")?,
        name: r.string(1)?,
        created_at: r.time(2)?,
    })
}

pub const PROJECT_COLS: &str = "id, name, description, created_at";
pub fn project_row(r: &dyn Row) -> Result<Project> {
    Ok(Project {
        id: r.parse(0, "id")?,
        name: r.string(1)?,
        description: r.string(2)?,
        created_at: r.time(3)?,
    })
}

/// Column 4 is the password hash, read by [`crate::Tx::user_by_name`] only.
pub const USER_COLS: &str = "id, name, is_cloud_admin, created_at, password_hash, enabled";
pub fn user_row(r: &dyn Row) -> Result<User> {
    Ok(User {
        id: r.parse(0, "id")?,
        name: r.string(1)?,
        is_cloud_admin: r.bool(2)?,
        created_at: r.time(3)?,
        enabled: r.bool(5)?,
    })
}

pub const MEMBERSHIP_SQL: &str = "SELECT m.user_id, u.name, m.project_id, p.name, m.role \
     FROM memberships m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id";
pub fn membership_row(r: &dyn Row) -> Result<Membership> {
    Ok(Membership {
        user_id: r.parse(0, "id")?,
        user_name: r.string(1)?,
        project_id: r.parse(2, "id")?,
        project_name: r.string(3)?,
        role: r.parse(4, "role")?,
    })
}

pub const NETWORK_COLS: &str =
    "id, project_id, data_center_id, name, description, kind, shared, is_default, created_at, updated_at";
pub fn network_row(r: &dyn Row) -> Result<Network> {
    Ok(Network {
        id: r.parse(0, "id")?,
        project_id: r.opt_parse(1, "project")?,
        data_center_id: r.parse(2, "id")?,
        name: r.string(3)?,
        description: r.string(4)?,
        kind: r.parse(5, "kind")?,
        shared: r.bool(6)?,
        is_default: r.bool(7)?,
        created_at: r.time(8)?,
        updated_at: r.time(9)?,
    })
}

/// A subnet's in-pool use: `pool_used` and its shards (read the header of
/// `migrations/postgres/0016_subnet_use.sql`). `SUBNET_SQL` repeats it.
pub const SUBNET_USED: &str = "(s.pool_used + CAST(COALESCE((SELECT SUM(u.used) \
     FROM subnet_use_shards u WHERE u.subnet_id = s.id), 0) AS BIGINT))";

pub const SUBNET_SQL: &str =
    "SELECT s.id, s.network_id, n.project_id, s.name, s.ip_version, s.cidr, \
     s.gateway_ip, s.allocation_pools, s.pool_size, (s.pool_used + CAST(COALESCE((SELECT SUM(u.used) \
     FROM subnet_use_shards u WHERE u.subnet_id = s.id), 0) AS BIGINT)), s.created_at, \
     s.description, s.enable_dhcp, s.dns_nameservers, s.host_routes, s.ipv6_ra_mode, \
     s.ipv6_address_mode, s.updated_at \
     FROM subnets s JOIN networks n ON n.id = s.network_id";
pub fn subnet_row(r: &dyn Row) -> Result<Subnet> {
    let size: u128 = r.parse(8, "pool size")?;
    let used = r.int(9)?;
    Ok(Subnet {
        id: r.parse(0, "id")?,
        network_id: r.parse(1, "id")?,
        project_id: r.opt_parse(2, "project")?,
        name: r.string(3)?,
        ip_version: r.small(4, "IP version")?,
        cidr: r.parse(5, "cidr")?,
        gateway_ip: r.opt_parse(6, "gateway")?,
        allocation_pools: r.json(7)?,
        free_addresses: size.saturating_sub(used.max(0) as u128).to_string(),
        created_at: r.time(10)?,
        description: r.string(11)?,
        enable_dhcp: r.bool(12)?,
        dns_nameservers: r.json(13)?,
        host_routes: r.json(14)?,
        ipv6_ra_mode: r.opt_parse(15, "IPv6 mode")?,
        ipv6_address_mode: r.opt_parse(16, "IPv6 mode")?,
        updated_at: r.time(17)?,
    })
}

pub const VM_COLS: &str = "id, project_id, data_center_id, name, os_type, power_state, image_ref, \
     flavor_ref, metadata, nic_count, created_at, updated_at, access_ipv4, access_ipv6, host_id";
pub fn vm_row(r: &dyn Row) -> Result<Vm> {
    Ok(Vm {
        id: r.parse(0, "id")?,
        project_id: r.parse(1, "project")?,
        data_center_id: r.parse(2, "id")?,
        name: r.string(3)?,
        os_type: r.parse(4, "os")?,
        power_state: r.parse(5, "power")?,
        image_ref: r.string(6)?,
        flavor_ref: r.string(7)?,
        metadata: r.json(8)?,
        interface_count: r.small(9, "interface count")?,
        created_at: r.time(10)?,
        updated_at: r.time(11)?,
        access_ipv4: r.opt_parse(12, "address")?,
        access_ipv6: r.opt_parse(13, "address")?,
        host_id: r.opt_parse(14, "host")?,
    })
}

/// The columns an interface is written with (`INSERT`), in order.
pub const IFACE_INSERT_COLS: &str = "id, project_id, network_id, vm_id, name, mac_address, \
     is_primary, status, admin_state_up, description, tag, security_groups, port_security_enabled, \
     allowed_address_pairs, tags, device_owner, fixed_ips, auto_delete, parent_id, vlan_id, \
     supplementary, created_at, updated_at, extra_dhcp_opts";

/// The status an interface shows: on a VM placed on a host, what the host's
/// agent last reported for it on that VM (`interface_observed` of 0015),
/// `build` until it reports; otherwise the status the core keeps
/// (`interfaces.status`, from the VM's power state). A supplementary
/// interface (no `vm_id`) is on its parent's VM. Refers to `i` only, so it
/// serves the list's `WHERE` and the count as well.
macro_rules! iface_status_expr {
    () => {
        "(CASE WHEN EXISTS (SELECT 1 FROM vms hv \
         WHERE hv.id = COALESCE(i.vm_id, (SELECT sp.vm_id FROM interfaces sp WHERE sp.id = i.parent_id)) \
         AND hv.host_id IS NOT NULL) \
         THEN COALESCE((SELECT o.status FROM interface_observed o \
         WHERE o.interface_id = i.id AND o.vm_id = COALESCE(i.vm_id, \
         (SELECT sp.vm_id FROM interfaces sp WHERE sp.id = i.parent_id))), 'build') \
         ELSE i.status END)"
    };
}
pub const IFACE_STATUS_EXPR: &str = iface_status_expr!();

pub const IFACE_SQL: &str = concat!(
    "SELECT i.id, i.project_id, i.network_id, n.name, n.data_center_id, \
     i.vm_id, i.name, i.mac_address, i.fixed_ips, i.is_primary, ",
    iface_status_expr!(),
    ", i.admin_state_up, \
     i.description, i.tag, i.security_groups, i.port_security_enabled, i.allowed_address_pairs, \
     i.tags, i.device_owner, p.address, i.parent_id, i.vlan_id, i.supplementary, i.created_at, \
     i.updated_at, i.extra_dhcp_opts, i.router_id, \
     (SELECT o.reason FROM interface_observed o WHERE o.interface_id = i.id \
     AND o.status = 'error' AND o.vm_id = COALESCE(i.vm_id, \
     (SELECT sp.vm_id FROM interfaces sp WHERE sp.id = i.parent_id))) \
     FROM interfaces i JOIN networks n ON n.id = i.network_id \
     LEFT JOIN public_ips p ON p.interface_id = i.id"
);
pub fn iface_row(r: &dyn Row) -> Result<Interface> {
    Ok(Interface {
        id: r.parse(0, "id")?,
        project_id: r.parse(1, "project")?,
        network_id: r.parse(2, "id")?,
        network_name: r.string(3)?,
        data_center_id: r.parse(4, "id")?,
        vm_id: r.opt_parse(5, "vm")?,
        name: r.string(6)?,
        mac_address: r.parse(7, "mac")?,
        fixed_ips: r.json(8)?,
        primary: r.bool(9)?,
        status: r.parse(10, "status")?,
        admin_state_up: r.bool(11)?,
        description: r.string(12)?,
        tag: r.opt_string(13)?,
        security_groups: r.json(14)?,
        port_security_enabled: r.bool(15)?,
        allowed_address_pairs: r.json(16)?,
        extra_dhcp_opts: r.json(25)?,
        tags: r.json(17)?,
        device_owner: r.string(18)?,
        public_ip: r.opt_parse(19, "address")?,
        parent_id: r.opt_parse(20, "parent")?,
        vlan_id: r.opt_int(21)?.and_then(|v| VlanId::new(v).ok()),
        supplementary: r.bool(22)?,
        created_at: r.time(23)?,
        updated_at: r.time(24)?,
        router_id: r.opt_parse(26, "router")?,
        status_reason: r.opt_string(27)?,
    })
}

pub const POOL_COLS: &str =
    "id, data_center_id, name, cidr, free_count, created_at, external_network_id";
pub fn pool_row(r: &dyn Row) -> Result<PublicIpPool> {
    Ok(PublicIpPool {
        id: r.parse(0, "id")?,
        data_center_id: r.parse(1, "id")?,
        external_network_id: r.parse(6, "id")?,
        name: r.string(2)?,
        cidr: r.parse(3, "cidr")?,
        free_addresses: r.int(4)?.max(0) as u64,
        created_at: r.time(5)?,
    })
}

pub const PUBLIC_IP_SQL: &str =
    "SELECT p.id, p.project_id, p.pool_id, pl.data_center_id, p.address, \
     p.interface_id, i.vm_id, i.fixed_ips, p.description, p.created_at, p.offset_key, p.fixed_ip, \
     pl.external_network_id \
     FROM public_ips p JOIN public_ip_pools pl ON pl.id = p.pool_id \
     LEFT JOIN interfaces i ON i.id = p.interface_id";
/// A public IP and its offset in its pool.
pub fn public_ip_row(r: &dyn Row) -> Result<(PublicIp, u64)> {
    // The chosen IPv4 address while the interface still has it, else its
    // first IPv4 address.
    let chosen: Option<IpAddr> = r.opt_parse(11, "address")?;
    let fixed_ip = match r.get_str(7)? {
        Some(s) => {
            let v4: Vec<IpAddr> = super::json::<Vec<FixedIp>>(s)?
                .into_iter()
                .map(|f| f.ip_address)
                .filter(IpAddr::is_ipv4)
                .collect();
            chosen
                .filter(|c| v4.contains(c))
                .or_else(|| v4.first().copied())
        }
        None => None,
    };
    Ok((
        PublicIp {
            id: r.parse(0, "id")?,
            project_id: r.parse(1, "project")?,
            pool_id: r.parse(2, "id")?,
            data_center_id: r.parse(3, "id")?,
            external_network_id: r.parse(12, "id")?,
            address: r.parse(4, "address")?,
            interface_id: r.opt_parse(5, "interface")?,
            vm_id: r.opt_parse(6, "vm")?,
            fixed_ip,
            description: r.string(8)?,
            created_at: r.time(9)?,
        },
        from_key(r.int(10)?),
    ))
}

pub const SG_COLS: &str = "id, project_id, name, description, is_default, created_at";
/// A security group without its rules.
pub fn sg_row(r: &dyn Row) -> Result<SecurityGroup> {
    Ok(SecurityGroup {
        id: r.parse(0, "id")?,
        project_id: r.parse(1, "project")?,
        name: r.string(2)?,
        description: r.string(3)?,
        is_default: r.bool(4)?,
        rules: vec![],
        created_at: r.time(5)?,
    })
}

pub const RULE_COLS: &str =
    "id, security_group_id, direction, ethertype, protocol, port_range_min, \
     port_range_max, remote_ip_prefix, remote_group_id, description";
pub fn rule_row(r: &dyn Row) -> Result<SecurityGroupRule> {
    Ok(SecurityGroupRule {
        id: r.parse(0, "id")?,
        security_group_id: r.parse(1, "id")?,
        direction: r.string(2)?,
        ethertype: r.string(3)?,
        protocol: r.opt_string(4)?,
        port_range_min: r.opt_small(5, "port")?,
        port_range_max: r.opt_small(6, "port")?,
        remote_ip_prefix: r.opt_string(7)?,
        remote_group_id: r.opt_parse(8, "group")?,
        description: r.string(9)?,
    })
}

/// `start_key, end_key` of a free range, as offsets.
pub fn range_row(r: &dyn Row) -> Result<Range> {
    Ok(Range {
        start: from_key(r.int(0)?),
        end: from_key(r.int(1)?),
    })
}

pub const CREDENTIAL_COLS: &str =
    "access_key, user_id, secret, description, status, created_at, slot";
pub fn credential_row(r: &dyn Row) -> Result<CredentialRow> {
    Ok(CredentialRow {
        access: r.string(0)?,
        user_id: r.parse(1, "user id")?,
        secret: r.string(2)?,
        description: r.string(3)?,
        status: r.string(4)?,
        created_at: r.time(5)?,
        slot: r.opt_small(6, "credential slot")?,
    })
}

pub const JOB_COLS: &str =
    "id, project_id, job_type, status, entities, error_code, fail_reason, begin_time, end_time";
pub fn job_row(r: &dyn Row) -> Result<JobRow> {
    Ok(JobRow {
        id: r.parse(0, "job id")?,
        project_id: r.parse(1, "project")?,
        job_type: r.string(2)?,
        status: r.string(3)?,
        entities: r.string(4)?,
        error_code: r.opt_string(5)?,
        fail_reason: r.opt_string(6)?,
        begin_time: r.time(7)?,
        end_time: r.opt_int(8)?.map(super::from_ts),
    })
}

pub const TRUNK_COLS: &str =
    "id, project_id, parent_id, name, description, admin_state_up, created_at, updated_at";
pub fn trunk_row(r: &dyn Row) -> Result<TrunkRow> {
    Ok(TrunkRow {
        id: r.string(0)?,
        project_id: r.parse(1, "project")?,
        parent_id: r.parse(2, "interface id")?,
        name: r.string(3)?,
        description: r.string(4)?,
        admin_state_up: r.bool(5)?,
        created_at: r.time(6)?,
        updated_at: r.time(7)?,
    })
}

pub const EXTERNAL_NETWORK_COLS: &str =
    "id, data_center_id, project_id, name, description, created_at, updated_at";
/// An external network row (its `pool_ids` are read apart).
pub fn external_network_row(r: &dyn Row) -> Result<ExternalNetwork> {
    Ok(ExternalNetwork {
        id: r.parse(0, "id")?,
        data_center_id: r.parse(1, "id")?,
        project_id: r.opt_parse(2, "project")?,
        name: r.string(3)?,
        description: r.string(4)?,
        pool_ids: vec![],
        created_at: r.time(5)?,
        updated_at: r.time(6)?,
    })
}
