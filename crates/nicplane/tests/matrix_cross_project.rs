//! Cross-project matrix of the native API (issue 10): the Tenant
//! Administrator of project A gets the native not-found answer (404,
//! `NotFound`, "<Kind> <id> could not be found.") for every object of
//! project B, by id in the path and in every body field that names an
//! object; B's objects never show in A's lists or filters; and none of A's
//! attempts changes anything in B.

mod common;

use common::fixture::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// One attempt by A on one of B's objects, and the object the answer names.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    label: &'static str,
    id: String,
    /// The answer when it is not the not-found one: status, code and the
    /// message with `{id}` for the object's id.
    other: Option<(u16, &'static str, &'static str)>,
}

impl Case {
    /// The expected status, code and message for the object id `id`.
    fn expected(&self, id: &str) -> (u16, &'static str, String) {
        match self.other {
            Some((status, code, message)) => (status, code, message.replace("{id}", id)),
            None => (404, "NotFound", not_found(self.label, id)),
        }
    }

    /// The same attempt on an object that does not exist at all.
    fn on_missing(&self) -> (String, Option<Value>) {
        let missing = self.missing_id();
        let body = self.body.as_ref().map(|b| {
            serde_json::from_str(&b.to_string().replace(&self.id, missing)).expect("json")
        });
        (self.path.replace(&self.id, missing), body)
    }

    fn missing_id(&self) -> &'static str {
        if self.label == PROJECT {
            MISSING_PROJECT
        } else if self.label == CREDENTIAL {
            MISSING_CREDENTIAL
        } else {
            MISSING_ID
        }
    }
}

/// Ids no object has.
const MISSING_ID: &str = "00000000-0000-4000-8000-000000000000";
const MISSING_PROJECT: &str = "00000000000040008000000000000000";
const MISSING_CREDENTIAL: &str = "AKNOSUCHKEY0000000000";

/// A tenant user's quota change.
const QUOTAS_CLOUD_ADMIN_ONLY: (u16, &str, &str) =
    (403, "Forbidden", "Only the cloud admin can change quotas.");

/// The answer to a security group of another project in an interface body:
/// the same as for a group that does not exist (400, not 404).
const SG_NOT_IN_PROJECT: (u16, &str, &str) = (
    400,
    "InvalidRequest",
    "Security group {id} does not exist in the project.",
);

fn case(
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    label: &'static str,
    id: &str,
) -> Case {
    Case {
        name,
        method,
        path,
        body,
        label,
        id: id.to_string(),
        other: None,
    }
}

/// A case whose answer is not the not-found one.
fn answered(mut c: Case, other: (u16, &'static str, &'static str)) -> Case {
    c.other = Some(other);
    c
}

const PROJECT: &str = "Project";
const VM: &str = "VM";
const IFACE: &str = "Network interface";
const NETWORK: &str = "Network";
const SUBNET: &str = "Subnet";
const PUBLIC_IP: &str = "Public IP";
const SG: &str = "Security group";
const RULE: &str = "Security group rule";
const USER: &str = "User";
const CREDENTIAL: &str = "Credential";

/// B's objects by id in the path: under B's project (A is no member), and
/// under A's own project.
fn path_cases(a: &Objects, b: &Objects) -> Vec<Case> {
    use Method as M;
    let pb = format!("/v1/projects/{}", b.project);
    let pa = format!("/v1/projects/{}", a.project);
    let bp = b.project.as_str();
    let body = |v: Value| Some(v);
    vec![
        // B's project itself, for every route under it.
        case("project get", M::GET, pb.clone(), None, PROJECT, bp),
        case(
            "member list",
            M::GET,
            format!("{pb}/members"),
            None,
            PROJECT,
            bp,
        ),
        case(
            "member set",
            M::PUT,
            format!("{pb}/members/{}", a.admin_user),
            body(json!({"role": "reader"})),
            PROJECT,
            bp,
        ),
        case(
            "member remove",
            M::DELETE,
            format!("{pb}/members/{}", b.reader_user),
            None,
            PROJECT,
            bp,
        ),
        case(
            "quota show",
            M::GET,
            format!("{pb}/quotas"),
            None,
            PROJECT,
            bp,
        ),
        // Quota changes are the cloud admin's alone: refused before any
        // lookup, the same for B's project as for a missing one.
        answered(
            case(
                "quota set",
                M::PUT,
                format!("{pb}/quotas"),
                Some(json!({"port": 1})),
                PROJECT,
                bp,
            ),
            QUOTAS_CLOUD_ADMIN_ONLY,
        ),
        answered(
            case(
                "quota reset",
                M::DELETE,
                format!("{pb}/quotas"),
                None,
                PROJECT,
                bp,
            ),
            QUOTAS_CLOUD_ADMIN_ONLY,
        ),
        case(
            "network list",
            M::GET,
            format!("{pb}/networks"),
            None,
            PROJECT,
            bp,
        ),
        case(
            "network create",
            M::POST,
            format!("{pb}/networks"),
            body(json!({"name": "x", "data_center_id": b.dc, "kind": "custom"})),
            PROJECT,
            bp,
        ),
        case("vm list", M::GET, format!("{pb}/vms"), None, PROJECT, bp),
        case(
            "vm create",
            M::POST,
            format!("{pb}/vms"),
            body(json!({"name": "x", "data_center_id": b.dc})),
            PROJECT,
            bp,
        ),
        case(
            "vm get under B",
            M::GET,
            format!("{pb}/vms/{}", b.vm),
            None,
            PROJECT,
            bp,
        ),
        case(
            "vm stop under B",
            M::POST,
            format!("{pb}/vms/{}/stop", b.vm),
            None,
            PROJECT,
            bp,
        ),
        case(
            "interface list",
            M::GET,
            format!("{pb}/interfaces"),
            None,
            PROJECT,
            bp,
        ),
        case(
            "interface create",
            M::POST,
            format!("{pb}/interfaces"),
            body(json!({"network_id": b.network})),
            PROJECT,
            bp,
        ),
        case(
            "interface delete under B",
            M::DELETE,
            format!("{pb}/interfaces/{}", b.spare),
            None,
            PROJECT,
            bp,
        ),
        case(
            "public ip list",
            M::GET,
            format!("{pb}/public-ips"),
            None,
            PROJECT,
            bp,
        ),
        case(
            "public ip allocate",
            M::POST,
            format!("{pb}/public-ips"),
            body(json!({"data_center_id": b.dc})),
            PROJECT,
            bp,
        ),
        case(
            "public ip release under B",
            M::DELETE,
            format!("{pb}/public-ips/{}", b.public_ip),
            None,
            PROJECT,
            bp,
        ),
        case(
            "security group list",
            M::GET,
            format!("{pb}/security-groups"),
            None,
            PROJECT,
            bp,
        ),
        case(
            "security group create",
            M::POST,
            format!("{pb}/security-groups"),
            body(json!({"name": "x"})),
            PROJECT,
            bp,
        ),
        case(
            "supplementary list under B",
            M::GET,
            format!("{pb}/interfaces/{}/supplementary-interfaces", b.attached),
            None,
            PROJECT,
            bp,
        ),
        case(
            "supplementary delete under B",
            M::DELETE,
            format!("{pb}/supplementary-interfaces/{}", b.supplementary),
            None,
            PROJECT,
            bp,
        ),
        case(
            "supplementary batch create under B",
            M::POST,
            format!(
                "{pb}/interfaces/{}/supplementary-interfaces/batch",
                b.attached
            ),
            body(json!({"count": 1, "interface": {"network_id": b.network}})),
            PROJECT,
            bp,
        ),
        case(
            "supplementary tag summary under B",
            M::GET,
            format!("{pb}/supplementary-interface-tags"),
            None,
            PROJECT,
            bp,
        ),
        // B's objects addressed under A's project.
        case(
            "vm get",
            M::GET,
            format!("{pa}/vms/{}", b.vm),
            None,
            VM,
            &b.vm,
        ),
        case(
            "vm update",
            M::PATCH,
            format!("{pa}/vms/{}", b.vm),
            body(json!({"name": "stolen"})),
            VM,
            &b.vm,
        ),
        case(
            "vm delete",
            M::DELETE,
            format!("{pa}/vms/{}", b.spare_vm),
            None,
            VM,
            &b.spare_vm,
        ),
        case(
            "vm start",
            M::POST,
            format!("{pa}/vms/{}/start", b.spare_vm),
            None,
            VM,
            &b.spare_vm,
        ),
        case(
            "vm stop",
            M::POST,
            format!("{pa}/vms/{}/stop", b.vm),
            None,
            VM,
            &b.vm,
        ),
        case(
            "vm interface list",
            M::GET,
            format!("{pa}/vms/{}/interfaces", b.vm),
            None,
            VM,
            &b.vm,
        ),
        case(
            "interface attach to B's vm",
            M::POST,
            format!("{pa}/vms/{}/interfaces", b.vm),
            body(json!({"network_id": a.network})),
            VM,
            &b.vm,
        ),
        case(
            "interface detach of B's interface",
            M::DELETE,
            format!("{pa}/vms/{}/interfaces/{}", a.vm, b.attached),
            None,
            IFACE,
            &b.attached,
        ),
        case(
            "interface detach from B's vm",
            M::DELETE,
            format!("{pa}/vms/{}/interfaces/{}", b.vm, b.attached),
            None,
            VM,
            &b.vm,
        ),
        case(
            "interface get",
            M::GET,
            format!("{pa}/interfaces/{}", b.spare),
            None,
            IFACE,
            &b.spare,
        ),
        case(
            "interface update",
            M::PATCH,
            format!("{pa}/interfaces/{}", b.spare),
            body(json!({"description": "x"})),
            IFACE,
            &b.spare,
        ),
        case(
            "interface delete",
            M::DELETE,
            format!("{pa}/interfaces/{}", b.spare),
            None,
            IFACE,
            &b.spare,
        ),
        case(
            "public ip allocate on interface",
            M::POST,
            format!("{pa}/interfaces/{}/public-ip", b.spare),
            body(json!({})),
            IFACE,
            &b.spare,
        ),
        case(
            "public ip release on interface",
            M::DELETE,
            format!("{pa}/interfaces/{}/public-ip", b.attached),
            None,
            IFACE,
            &b.attached,
        ),
        case(
            "public ip get",
            M::GET,
            format!("{pa}/public-ips/{}", b.public_ip),
            None,
            PUBLIC_IP,
            &b.public_ip,
        ),
        case(
            "public ip associate",
            M::PATCH,
            format!("{pa}/public-ips/{}", b.free_public_ip),
            body(json!({"interface_id": a.spare})),
            PUBLIC_IP,
            &b.free_public_ip,
        ),
        case(
            "public ip release",
            M::DELETE,
            format!("{pa}/public-ips/{}", b.public_ip),
            None,
            PUBLIC_IP,
            &b.public_ip,
        ),
        case(
            "network get",
            M::GET,
            format!("{pa}/networks/{}", b.network),
            None,
            NETWORK,
            &b.network,
        ),
        case(
            "network update",
            M::PATCH,
            format!("{pa}/networks/{}", b.network),
            body(json!({"description": "x"})),
            NETWORK,
            &b.network,
        ),
        case(
            "network delete",
            M::DELETE,
            format!("{pa}/networks/{}", b.custom_network),
            None,
            NETWORK,
            &b.custom_network,
        ),
        case(
            "subnet create",
            M::POST,
            format!("{pa}/networks/{}/subnets", b.custom_network),
            body(json!({"cidr": "10.99.0.0/24"})),
            NETWORK,
            &b.custom_network,
        ),
        case(
            "subnet get",
            M::GET,
            format!("{pa}/subnets/{}", b.subnet),
            None,
            SUBNET,
            &b.subnet,
        ),
        case(
            "subnet delete",
            M::DELETE,
            format!("{pa}/subnets/{}", b.spare_subnet),
            None,
            SUBNET,
            &b.spare_subnet,
        ),
        case(
            "security group get",
            M::GET,
            format!("{pa}/security-groups/{}", b.sg),
            None,
            SG,
            &b.sg,
        ),
        case(
            "security group delete",
            M::DELETE,
            format!("{pa}/security-groups/{}", b.spare_sg),
            None,
            SG,
            &b.spare_sg,
        ),
        case(
            "security group rule create",
            M::POST,
            format!("{pa}/security-groups/{}/rules", b.sg),
            body(json!({"direction": "ingress"})),
            SG,
            &b.sg,
        ),
        case(
            "security group rule delete",
            M::DELETE,
            format!("{pa}/security-group-rules/{}", b.rule),
            None,
            RULE,
            &b.rule,
        ),
        case(
            "supplementary list",
            M::GET,
            format!("{pa}/interfaces/{}/supplementary-interfaces", b.attached),
            None,
            IFACE,
            &b.attached,
        ),
        case(
            "supplementary create",
            M::POST,
            format!("{pa}/interfaces/{}/supplementary-interfaces", b.attached),
            body(json!({"network_id": a.network})),
            IFACE,
            &b.attached,
        ),
        case(
            "supplementary get",
            M::GET,
            format!("{pa}/supplementary-interfaces/{}", b.supplementary),
            None,
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary update",
            M::PATCH,
            format!("{pa}/supplementary-interfaces/{}", b.supplementary),
            body(json!({"description": "x"})),
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary delete",
            M::DELETE,
            format!("{pa}/supplementary-interfaces/{}", b.supplementary),
            None,
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary detach",
            M::POST,
            format!("{pa}/supplementary-interfaces/{}/detach", b.supplementary),
            None,
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary attach",
            M::POST,
            format!("{pa}/supplementary-interfaces/{}/attach", b.supplementary),
            body(json!({"parent_id": a.attached})),
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary batch create",
            M::POST,
            format!(
                "{pa}/interfaces/{}/supplementary-interfaces/batch",
                b.attached
            ),
            body(json!({"count": 2, "interface": {"network_id": a.network}})),
            IFACE,
            &b.attached,
        ),
        case(
            "supplementary migrate to B's parent",
            M::POST,
            format!(
                "{pa}/interfaces/{}/supplementary-interfaces/migrate",
                b.attached
            ),
            body(json!({"ids": [a.supplementary]})),
            IFACE,
            &b.attached,
        ),
        case(
            "supplementary tag set",
            M::PUT,
            format!("{pa}/supplementary-interfaces/{}/tags/env", b.supplementary),
            body(json!({"value": "prod"})),
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary tag delete",
            M::DELETE,
            format!("{pa}/supplementary-interfaces/{}/tags/env", b.supplementary),
            None,
            IFACE,
            &b.supplementary,
        ),
        // A user's access keys belong to that user alone.
        case(
            "credential list",
            M::GET,
            format!("/v1/users/{}/credentials", b.admin_user),
            None,
            USER,
            &b.admin_user,
        ),
        case(
            "credential create",
            M::POST,
            format!("/v1/users/{}/credentials", b.admin_user),
            body(json!({})),
            USER,
            &b.admin_user,
        ),
        case(
            "credential delete",
            M::DELETE,
            format!("/v1/users/{}/credentials/{}", b.admin_user, b.credential),
            None,
            USER,
            &b.admin_user,
        ),
        case(
            "credential delete of B's key as mine",
            M::DELETE,
            format!("/v1/users/{}/credentials/{}", a.admin_user, b.credential),
            None,
            CREDENTIAL,
            &b.credential,
        ),
    ]
}

/// B's objects named in the body of A's writes on A's own objects.
fn body_cases(a: &Objects, b: &Objects) -> Vec<Case> {
    use Method as M;
    let pa = format!("/v1/projects/{}", a.project);
    vec![
        case(
            "attach: network_id",
            M::POST,
            format!("{pa}/vms/{}/interfaces", a.vm),
            Some(json!({"network_id": b.network})),
            NETWORK,
            &b.network,
        ),
        case(
            "attach: interface_id",
            M::POST,
            format!("{pa}/vms/{}/interfaces", a.vm),
            Some(json!({"interface_id": b.spare})),
            IFACE,
            &b.spare,
        ),
        answered(
            case(
                "attach: security_groups",
                M::POST,
                format!("{pa}/vms/{}/interfaces", a.vm),
                Some(json!({"network_id": a.network, "security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        case(
            "interface create: network_id",
            M::POST,
            format!("{pa}/interfaces"),
            Some(json!({"network_id": b.network})),
            NETWORK,
            &b.network,
        ),
        answered(
            case(
                "interface create: security_groups",
                M::POST,
                format!("{pa}/interfaces"),
                Some(json!({"network_id": a.network, "security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        answered(
            case(
                "interface update: security_groups",
                M::PATCH,
                format!("{pa}/interfaces/{}", a.spare),
                Some(json!({"security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        case(
            "public ip allocate: interface_id",
            M::POST,
            format!("{pa}/public-ips"),
            Some(json!({"interface_id": b.spare})),
            IFACE,
            &b.spare,
        ),
        case(
            "public ip associate: interface_id",
            M::PATCH,
            format!("{pa}/public-ips/{}", a.free_public_ip),
            Some(json!({"interface_id": b.spare})),
            IFACE,
            &b.spare,
        ),
        case(
            "supplementary create: network_id",
            M::POST,
            format!("{pa}/interfaces/{}/supplementary-interfaces", a.attached),
            Some(json!({"network_id": b.network})),
            NETWORK,
            &b.network,
        ),
        answered(
            case(
                "supplementary create: security_groups",
                M::POST,
                format!("{pa}/interfaces/{}/supplementary-interfaces", a.attached),
                Some(json!({"network_id": a.network, "security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        answered(
            case(
                "supplementary update: security_groups",
                M::PATCH,
                format!("{pa}/supplementary-interfaces/{}", a.supplementary),
                Some(json!({"security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        case(
            "supplementary batch create: network_id",
            M::POST,
            format!(
                "{pa}/interfaces/{}/supplementary-interfaces/batch",
                a.attached
            ),
            Some(json!({"count": 2, "interface": {"network_id": b.network}})),
            NETWORK,
            &b.network,
        ),
        case(
            "supplementary migrate: ids",
            M::POST,
            format!(
                "{pa}/interfaces/{}/supplementary-interfaces/migrate",
                a.primary
            ),
            Some(json!({"ids": [b.supplementary]})),
            IFACE,
            &b.supplementary,
        ),
        case(
            "supplementary attach: parent_id",
            M::POST,
            format!("{pa}/supplementary-interfaces/{}/attach", a.supplementary),
            Some(json!({"parent_id": b.attached})),
            IFACE,
            &b.attached,
        ),
        answered(
            case(
                "supplementary attach: security_groups",
                M::POST,
                format!("{pa}/supplementary-interfaces/{}/attach", a.supplementary),
                Some(json!({"parent_id": a.attached, "security_groups": [b.sg]})),
                SG,
                &b.sg,
            ),
            SG_NOT_IN_PROJECT,
        ),
        answered(
            case(
                "rule create: remote_group_id",
                M::POST,
                format!("{pa}/security-groups/{}/rules", a.sg),
                Some(json!({"direction": "ingress", "remote_group_id": b.sg})),
                SG,
                &b.sg,
            ),
            (404, "NotFound", "Security group {id} could not be found."),
        ),
    ]
}

/// A's attempt on B's object gets the expected answer, and the same attempt
/// on an object that does not exist gets the same answer: B's object is
/// indistinguishable from a missing one.
fn check(a: &nicplane_client::Client, part: &str, c: &Case) {
    let name = format!("{part}: {} ({} {})", c.name, c.method, c.path);
    let (status, code, message) = c.expected(&c.id);
    expect_error(
        &name,
        &call(a, c.method.clone(), &c.path, c.body.as_ref()),
        status,
        code,
        &message,
    );
    let (path, body) = c.on_missing();
    let (status, code, message) = c.expected(c.missing_id());
    expect_error(
        &format!("{name}, on a missing object"),
        &call(a, c.method.clone(), &path, body.as_ref()),
        status,
        code,
        &message,
    );
}

/// What a list of A's answers.
enum Listed {
    /// Some of A's own objects.
    Some,
    /// Nothing.
    None,
    /// The not-found answer for the filter's object.
    Missing(&'static str, String),
}

fn ids_in(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_member_of_one_project_finds_nothing_of_another_and_changes_nothing() {
    let s = Server::start(&[]);
    let ta = tenant(&s, "alpha");
    let tb = tenant(&s, "bravo");
    let a = populate(&ta, 21);
    let b = populate(&tb, 22);
    let cloud = s.admin();
    let b_users = [
        b.admin_user.as_str(),
        b.power_user.as_str(),
        b.reader_user.as_str(),
    ];
    let before = snapshot(&cloud, &b.project, &b_users);

    for c in path_cases(&a, &b) {
        check(&ta.admin, "path", &c);
    }

    // The supplementary attach cases need A's supplementary interface unbound.
    ok(
        "detach A's supplementary interface",
        call(
            &ta.admin,
            Method::POST,
            &format!(
                "/v1/projects/{}/supplementary-interfaces/{}/detach",
                a.project, a.supplementary
            ),
            None,
        ),
        200,
    );
    for c in body_cases(&a, &b) {
        check(&ta.admin, "body", &c);
    }

    assert_unchanged(
        "B after A's attempts",
        &before,
        &snapshot(&cloud, &b.project, &b_users),
    );
}

#[test]
fn another_projects_objects_never_appear_in_lists_or_filters() {
    let s = Server::start(&[]);
    let ta = tenant(&s, "alpha");
    let tb = tenant(&s, "bravo");
    let a = populate(&ta, 31);
    let b = populate(&tb, 32);
    let cloud = s.admin();
    let b_snapshot = snapshot(&cloud, &b.project, &[]);
    // Every id B owns, from its own snapshot.
    let mut b_ids: Vec<String> = vec![b.project.clone()];
    for list in ["networks", "vms", "interfaces", "public_ips"] {
        b_ids.extend(ids_in(b_snapshot[list].as_array().expect("list")));
    }
    b_ids.extend(ids_in(
        b_snapshot["security_groups"].as_array().expect("groups"),
    ));
    b_ids.push(b.supplementary.clone());
    b_ids.push(b.subnet.clone());
    // Shared objects (none here) would be visible to both: none is B's.
    let b_ids: std::collections::BTreeSet<String> = b_ids.into_iter().collect();
    let b_iface: Value = ok(
        "B's attached interface",
        call(
            &tb.admin,
            Method::GET,
            &format!("/v1/projects/{}/interfaces/{}", b.project, b.attached),
            None,
        ),
        200,
    );
    let b_mac = b_iface["mac_address"].as_str().expect("mac").to_string();
    let b_ip = b_iface["fixed_ips"][0]["ip_address"]
        .as_str()
        .expect("ip")
        .to_string();

    let pa = format!("/v1/projects/{}", a.project);
    // (case, path, whether A's own objects make the answer non-empty, or
    // the object whose not-found answer a filter on it gets)
    let lists: Vec<(&str, String, Listed)> = vec![
        ("projects", "/v1/projects".into(), Listed::Some),
        ("networks", format!("{pa}/networks"), Listed::Some),
        (
            "networks by name",
            format!("{pa}/networks?name=app"),
            Listed::Some,
        ),
        (
            "networks by kind",
            format!("{pa}/networks?kind=custom"),
            Listed::Some,
        ),
        ("vms", format!("{pa}/vms"), Listed::Some),
        ("vms by name", format!("{pa}/vms?name=web"), Listed::Some),
        ("interfaces", format!("{pa}/interfaces"), Listed::Some),
        (
            "interfaces of B's vm",
            format!("{pa}/interfaces?vm_id={}", b.vm),
            Listed::Missing("VM", b.vm.clone()),
        ),
        (
            "interfaces on B's network",
            format!("{pa}/interfaces?network_id={}", b.network),
            Listed::None,
        ),
        (
            "interfaces under B's parent",
            format!("{pa}/interfaces?parent_id={}", b.attached),
            Listed::None,
        ),
        (
            "interfaces with B's MAC",
            format!("{pa}/interfaces?mac_address={b_mac}"),
            Listed::None,
        ),
        (
            "interfaces with B's address",
            format!("{pa}/interfaces?ip_address={b_ip}"),
            Listed::None,
        ),
        (
            "unattached interfaces",
            format!("{pa}/interfaces?unattached=true"),
            Listed::Some,
        ),
        (
            "attached interfaces",
            format!("{pa}/interfaces?unattached=false"),
            Listed::Some,
        ),
        ("public ips", format!("{pa}/public-ips"), Listed::Some),
        (
            "security groups",
            format!("{pa}/security-groups"),
            Listed::Some,
        ),
        ("members", format!("{pa}/members"), Listed::Some),
        (
            "vm interfaces",
            format!("{pa}/vms/{}/interfaces", a.vm),
            Listed::Some,
        ),
        (
            "supplementary",
            format!("{pa}/interfaces/{}/supplementary-interfaces", a.attached),
            Listed::Some,
        ),
    ];
    for (name, path, listed) in lists {
        let r = call(&ta.admin, Method::GET, &path, None);
        let nonempty = match listed {
            Listed::Missing(label, id) => {
                expect_error(name, &r, 404, "NotFound", &not_found(label, &id));
                continue;
            }
            Listed::Some => true,
            Listed::None => false,
        };
        let body = ok(name, r, 200);
        let items = match body.get("items") {
            Some(v) => v.as_array().expect("items").clone(),
            None => body.as_array().expect("a list").clone(),
        };
        assert_eq!(
            !items.is_empty(),
            nonempty,
            "{name}: {path} answered {items:?}"
        );
        for item in &items {
            for field in [
                "id",
                "project_id",
                "vm_id",
                "network_id",
                "parent_id",
                "interface_id",
                "user_id",
            ] {
                if let Some(v) = item[field].as_str() {
                    assert!(
                        !b_ids.contains(v),
                        "{name}: {path} shows B's {field} {v} in {item}"
                    );
                }
            }
        }
    }
}
