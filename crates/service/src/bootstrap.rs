//! First start: the cloud admin with its project `admin`, one data center
//! with a shared public IP pool. `--demo` adds a demo project with users and VMs.

use crate::admin::{data_center_create, pool_create, project_create, PoolTarget};
use crate::auth::hash_password;
use crate::network::{subnet_insert, SubnetSpec};
use crate::vm::{vm_create_tx, NicRequest, VmSpec};
use crate::PortPolicy;
use crate::Service;
use ipnet::IpNet;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{Error, Result};
use std::collections::BTreeMap;

/// What the first start creates.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    pub admin_password: Option<String>,
    pub data_center: String,
    pub public_cidr: IpNet,
    pub demo: bool,
    /// The `device_owner` of the demo VMs' interfaces (the native API's).
    pub demo_device_owner: String,
}

/// What bootstrap did, for the start-up log.
#[derive(Debug, Clone, Default)]
pub struct BootstrapReport {
    /// Set when the admin was created with a generated password.
    pub generated_password: Option<String>,
    pub created_admin: bool,
    pub demo_users: Vec<(String, String, Role)>,
}

/// Name of the cloud admin's project, created on first start.
pub const ADMIN_PROJECT: &str = "admin";

/// Password of the demo users.
pub const DEMO_PASSWORD: &str = "demo-password";

impl Service {
    /// Create the admin, data center and pool when the store is empty; with
    /// `demo`, seed a demo project once.
    pub async fn bootstrap(&self, opts: &BootstrapOptions) -> Result<BootstrapReport> {
        let mut report = BootstrapReport::default();
        let (password, generated) = match &opts.admin_password {
            Some(p) if !p.is_empty() => (p.clone(), false),
            _ => {
                use rand::Rng;
                let p: String = rand::thread_rng()
                    .sample_iter(&rand::distributions::Alphanumeric)
                    .take(20)
                    .map(char::from)
                    .collect();
                (p, true)
            }
        };
        let hash = hash_password(&password)?;
        let demo_hash = hash_password(DEMO_PASSWORD)?;
        let o = opts.clone();
        let policy = crate::PortPolicy::system(&self.config);
        let (created, demo_users) = self
            .store
            .write(move |tx| {
                let mut created = false;
                if tx.user_by_name("admin")?.is_none() {
                    let admin = User {
                        id: UserId::new(),
                        name: "admin".into(),
                        is_cloud_admin: true,
                        enabled: true,
                        created_at: now(),
                    };
                    tx.user_insert(&admin, &hash)?;
                    created = true;
                }
                let dc = match tx.data_center_list()?.into_iter().next() {
                    Some(dc) => dc,
                    None => {
                        let dc = DataCenter {
                            id: DataCenterId::new(),
                            name: o.data_center.clone(),
                            created_at: now(),
                        };
                        data_center_create(tx, &dc)?;
                        pool_create(
                            tx,
                            PoolTarget {
                                data_center_id: Some(dc.id),
                                ..PoolTarget::default()
                            },
                            "public",
                            o.public_cidr,
                        )?;
                        dc
                    }
                };
                // As on a devstack cloud, the cloud admin can log in to
                // Keystone as user admin in project admin: the one project
                // bootstrap creates besides the demo.
                if tx.project_by_name(ADMIN_PROJECT)?.is_none() {
                    let admin = tx
                        .user_by_name("admin")?
                        .ok_or_else(|| Error::internal("the admin user is missing"))?;
                    let project = Project {
                        id: ProjectId::new(),
                        name: ADMIN_PROJECT.into(),
                        description: "The cloud admin's project".into(),
                        created_at: now(),
                    };
                    project_create(tx, &project)?;
                    tx.membership_set(admin.user.id, &project.id, Role::Admin)?;
                }
                let mut users = Vec::new();
                if o.demo && tx.project_by_name("demo")?.is_none() {
                    users = seed_demo(tx, dc.id, &demo_hash, &o.demo_device_owner, policy)?;
                }
                Ok((created, users))
            })
            .await?;
        report.created_admin = created;
        if created && generated {
            report.generated_password = Some(password);
        }
        report.demo_users = demo_users;
        Ok(report)
    }
}

fn seed_demo(
    tx: &mut dyn nicplane_store::Tx,
    dc: DataCenterId,
    hash: &str,
    device_owner: &str,
    policy: PortPolicy,
) -> Result<Vec<(String, String, Role)>> {
    let project = Project {
        id: ProjectId::new(),
        name: "demo".into(),
        description: "Demo project".into(),
        created_at: now(),
    };
    project_create(tx, &project)?;
    let mut users = Vec::new();
    for (name, role) in [
        ("alice", Role::Admin),
        ("bob", Role::PowerUser),
        ("carol", Role::Reader),
    ] {
        let u = User {
            id: UserId::new(),
            name: name.into(),
            is_cloud_admin: false,
            enabled: true,
            created_at: now(),
        };
        if tx.user_by_name(name)?.is_none() {
            tx.user_insert(&u, hash)?;
            tx.membership_set(u.id, &project.id, role)?;
            users.push((name.to_string(), DEMO_PASSWORD.to_string(), role));
        }
    }
    let t = now();
    let mk = |name: &str, kind: NetworkKind| Network {
        id: NetworkId::new(),
        project_id: Some(project.id.clone()),
        data_center_id: dc,
        name: name.into(),
        description: String::new(),
        kind,
        shared: false,
        is_default: false,
        created_at: t,
        updated_at: t,
    };
    let db = mk("db-net", NetworkKind::Standard);
    tx.network_insert(&db)?;
    subnet_insert(
        tx,
        &db,
        &SubnetSpec {
            cidr: "10.20.0.0/24"
                .parse()
                .map_err(|_| Error::internal("cidr"))?,
            ..Default::default()
        },
    )?;
    let storage = mk("storage-l2", NetworkKind::Custom);
    tx.network_insert(&storage)?;
    for (name, os) in [
        ("web-1", OsType::Linux),
        ("db-1", OsType::Linux),
        ("win-1", OsType::Windows),
    ] {
        // db-1 also gets an interface on db-net.
        let nics = if name == "db-1" {
            vec![
                NicRequest::DefaultNetwork,
                NicRequest::Network {
                    network_id: db.id,
                    fixed_ips: vec![],
                    tag: None,
                },
            ]
        } else {
            vec![]
        };
        vm_create_tx(
            tx,
            &project.id,
            &VmSpec {
                name: name.into(),
                data_center_id: dc,
                os_type: os,
                power_state: None,
                image_ref: String::new(),
                flavor_ref: String::new(),
                metadata: BTreeMap::new(),
                access_ipv4: None,
                access_ipv6: None,
                host: None,
            },
            &nics,
            device_owner,
            u32::MAX,
            policy,
        )?;
    }
    Ok(users)
}
