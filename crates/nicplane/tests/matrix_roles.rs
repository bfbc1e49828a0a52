//! Role matrix of the native API (issue 10), both ways, over every write
//! route (`fixture::write_routes`):
//!
//! | route kind                                   | reader | power user | tenant admin | cloud admin |
//! |----------------------------------------------|--------|------------|--------------|-------------|
//! | VMs, interfaces, public IPs, security groups, supplementary interfaces | 403 | allowed | allowed | allowed |
//! | networks, subnets, members                   | 403    | 403        | allowed      | allowed     |
//! | projects, users, data centers, pools, shared networks, quotas | 403 | 403 | 403 | allowed |
//!
//! The console guide (seed 000, "Network Interfaces") gives adding and
//! removing interfaces and allocating and releasing public IPs to "the
//! Tenant Administrator or Tenant Power User role"; managing networks is the
//! Tenant Administrator's. Every refusal is checked for status, code and
//! exact message, and the whole state is compared before and after.

mod common;

use common::fixture::*;
use common::*;
use nicplane_client::Client;

/// The refusal a tenant role gets on a route, or None when it is allowed.
fn refusal(role: &str, r: &Route) -> Option<&'static str> {
    match (role, r.need) {
        ("reader", Need::Write) => Some(READER_WRITE),
        ("reader", Need::Administer) => Some(READER_ADMINISTER),
        ("power", Need::Administer) => Some(POWER_ADMINISTER),
        (_, Need::CloudAdmin) if r.name.starts_with("quota_") => Some(QUOTAS_CLOUD_ADMIN_ONLY),
        (_, Need::CloudAdmin) => Some(CLOUD_ADMIN_ONLY),
        _ => None,
    }
}

/// The 403 of a cloud admin's action asked by a tenant user.
const CLOUD_ADMIN_ONLY: &str =
    "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.";
/// The 403 of a quota change asked by a tenant user.
const QUOTAS_CLOUD_ADMIN_ONLY: &str = "Only the cloud admin can change quotas.";

fn users(o: &Objects) -> [&str; 3] {
    [
        o.admin_user.as_str(),
        o.power_user.as_str(),
        o.reader_user.as_str(),
    ]
}

/// Every route `role` may not call is refused, and nothing changes.
fn refused_everywhere(s: &Server, role: &str, who: &Client, o: &Objects, octet: u8) -> usize {
    let cloud = s.admin();
    let before = snapshot(&cloud, &o.project, &users(o));
    let mut refused = 0;
    for r in write_routes(o, octet) {
        let Some(message) = refusal(role, &r) else {
            continue;
        };
        let got = call(who, r.method.clone(), &r.path, r.body.as_ref());
        expect_error(
            &format!("{role}: {} ({} {})", r.name, r.method, r.path),
            &got,
            403,
            "Forbidden",
            message,
        );
        refused += 1;
    }
    assert_unchanged(
        &format!("{role}'s refused writes"),
        &before,
        &snapshot(&cloud, &o.project, &users(o)),
    );
    refused
}

/// The routes of `need` succeed, in order, for `who`.
fn allowed(role: &str, who: &Client, o: &Objects, octet: u8, need: Need) -> usize {
    let mut n = 0;
    for r in write_routes(o, octet)
        .into_iter()
        .filter(|r| r.need == need)
    {
        ok(
            &format!("{role}: {} ({} {})", r.name, r.method, r.path),
            call(who, r.method.clone(), &r.path, r.body.as_ref()),
            r.status,
        );
        n += 1;
    }
    n
}

#[test]
fn a_reader_is_refused_every_write_and_nothing_changes() {
    let s = Server::start(&[]);
    let t = tenant(&s, "roles-r");
    let o = populate(&t, 41);
    let n = refused_everywhere(&s, "reader", &t.reader, &o, 41);
    assert_eq!(n, write_routes(&o, 41).len(), "every write route was tried");
}

#[test]
fn a_power_user_does_what_the_guide_allows_and_nothing_reserved_to_the_tenant_administrator() {
    let s = Server::start(&[]);
    let t = tenant(&s, "roles-p");
    let o = populate(&t, 42);
    let refused = refused_everywhere(&s, "power", &t.power, &o, 42);
    let refused_admin = refused_everywhere(&s, "admin", &t.admin, &o, 42);
    // Then, for real: the power user's routes, the tenant admin's, the cloud admin's.
    let done_power = allowed("power", &t.power, &o, 42, Need::Write);
    let done_admin = allowed("admin", &t.admin, &o, 42, Need::Administer);
    let done_cloud = allowed("cloud admin", &s.admin(), &o, 42, Need::CloudAdmin);
    let routes = write_routes(&o, 42);
    let count = |need| routes.iter().filter(|r| r.need == need).count();
    assert_eq!(refused, count(Need::Administer) + count(Need::CloudAdmin));
    assert_eq!(refused_admin, count(Need::CloudAdmin));
    assert_eq!(done_power, count(Need::Write));
    assert_eq!(done_admin, count(Need::Administer));
    assert_eq!(done_cloud, count(Need::CloudAdmin));
}

#[test]
fn a_tenant_administrator_may_also_do_the_power_users_writes() {
    let s = Server::start(&[]);
    let t = tenant(&s, "roles-a");
    let o = populate(&t, 43);
    let n = allowed("admin", &t.admin, &o, 43, Need::Write);
    assert_eq!(
        n,
        write_routes(&o, 43)
            .iter()
            .filter(|r| r.need == Need::Write)
            .count()
    );
}
