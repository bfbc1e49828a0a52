//! Supplementary (VLAN) interfaces through the native API: batch create,
//! migrate and tags (issue 15), with the typed client the CLI uses. Each
//! refusal is checked for status, code and exact message, and that it
//! changed nothing.

mod common;

use common::*;
use serde_json::json;

/// A tenant with a running VM, two elastic interfaces on a standard
/// network (the primary on the Default Network, one on `app`) and the
/// network's id.
struct Parents {
    t: Tenant,
    network: String,
    first: String,
    second: String,
}

fn parents(s: &Server, name: &str, octet: u8) -> Parents {
    let t = tenant(s, name);
    let network = t.standard_network("app", &format!("10.{octet}.1.0/24"));
    let vm = t.vm("web", "linux", true);
    let first = t
        .power
        .interface_attach(&t.project, &vm, &network, None)
        .expect("first parent")
        .id
        .to_string();
    let second = t
        .power
        .interface_attach(&t.project, &vm, &network, None)
        .expect("second parent")
        .id
        .to_string();
    Parents {
        t,
        network,
        first,
        second,
    }
}

fn vlans(items: &[nicplane_client::Supplementary]) -> Vec<u16> {
    items
        .iter()
        .map(|s| s.interface.vlan_id.map(|v| v.get()).expect("a VLAN id"))
        .collect()
}

#[test]
fn a_batch_create_makes_all_or_none_with_the_lowest_free_vlans() {
    let s = Server::start(&[]);
    let Parents {
        t, network, first, ..
    } = parents(&s, "batch", 61);
    let p = &t.project;
    let spec = json!({"network_id": network, "description": "tenant-a"});
    let made = t
        .power
        .supplementary_batch_create(p, &first, 3, &spec)
        .expect("batch");
    assert_eq!(vlans(&made), vec![1, 2, 3]);
    assert!(made.iter().all(|m| m.interface.description == "tenant-a"
        && m.interface.parent_id.map(|x| x.to_string()) == Some(first.clone())));
    let mut addresses: Vec<String> = made
        .iter()
        .map(|m| m.interface.fixed_ips[0].ip_address.to_string())
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 3, "three different addresses");

    assert_api_error(
        t.power.supplementary_batch_create(p, &first, 21, &spec),
        400,
        "InvalidValue",
        "Invalid value for count: 21 is outside the range 1-20.",
    );
    assert_api_error(
        t.power.supplementary_batch_create(p, &first, 0, &spec),
        400,
        "InvalidValue",
        "Invalid value for count: 0 is outside the range 1-20.",
    );
    assert_api_error(
        t.power.supplementary_batch_create(
            p,
            &first,
            2,
            &json!({"network_id": network, "vlan_id": 7}),
        ),
        400,
        "InvalidRequest",
        "A batch create assigns VLAN ids and addresses itself; do not give vlan_id, ip_address or ipv6_address.",
    );
    assert_api_error(
        t.reader.supplementary_batch_create(p, &first, 1, &spec),
        403,
        "Forbidden",
        "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
    );
    // A batch that cannot finish (the /28 below has 11 free addresses)
    // leaves nothing behind.
    let small = t.standard_network("small", "10.161.2.0/28");
    let before = t.power.supplementary_list(p, &first).expect("list");
    assert_api_error(
        t.power
            .supplementary_batch_create(p, &first, 20, &json!({"network_id": small})),
        409,
        "CapacityExhausted",
        "Subnet small-v4 has no free IP address left.",
    );
    assert_eq!(
        t.power.supplementary_list(p, &first).expect("list").len(),
        before.len(),
        "a refused batch creates none"
    );
    // A dry run answers what would be made, and makes nothing.
    let r = t
        .power
        .raw(
            reqwest::Method::POST,
            &format!(
                "/v1/projects/{p}/interfaces/{first}/supplementary-interfaces/batch?dry_run=true"
            ),
            Some(&json!({"count": 2, "interface": spec})),
            &[],
        )
        .expect("dry run");
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(t.power.supplementary_list(p, &first).unwrap().len(), 3);
}

#[test]
fn a_migration_keeps_the_vlans_and_refuses_one_taken_on_the_new_parent() {
    let s = Server::start(&[]);
    let Parents {
        t,
        network,
        first,
        second,
    } = parents(&s, "migrate", 62);
    let p = &t.project;
    let spec = json!({"network_id": network});
    let made = t
        .power
        .supplementary_batch_create(p, &first, 2, &spec)
        .expect("batch");
    let ids: Vec<String> = made.iter().map(|m| m.interface.id.to_string()).collect();
    let moved = t
        .power
        .supplementary_migrate(p, &second, &[&ids[1]])
        .expect("migrate");
    assert_eq!(vlans(&moved), vec![2]);
    assert_eq!(
        moved[0].interface.parent_id.map(|x| x.to_string()),
        Some(second.clone())
    );
    assert_eq!(t.power.supplementary_list(p, &first).unwrap().len(), 1);
    assert_eq!(t.power.supplementary_list(p, &second).unwrap().len(), 1);

    // VLAN 1 is taken on `second` now too. Moving one that could go (VLAN
    // 3) with one whose VLAN 2 is taken there moves neither.
    t.power
        .supplementary_batch_create(p, &second, 1, &spec)
        .expect("vlan 1 on second");
    let more = t
        .power
        .supplementary_batch_create(p, &first, 2, &spec)
        .expect("two more on first");
    assert_eq!(vlans(&more), vec![2, 3]);
    let (taken, free) = (
        more[0].interface.id.to_string(),
        more[1].interface.id.to_string(),
    );
    let before_first = t.power.supplementary_list(p, &first).unwrap();
    let before_second = t.power.supplementary_list(p, &second).unwrap();
    assert_api_error(
        t.power.supplementary_migrate(p, &second, &[&free, &taken]),
        409,
        "VlanInUse",
        &format!("VLAN 2 is already used on parent interface {second}."),
    );
    assert_eq!(t.power.supplementary_list(p, &first).unwrap(), before_first);
    assert_eq!(
        t.power.supplementary_list(p, &second).unwrap(),
        before_second
    );

    assert_api_error(
        t.power.supplementary_migrate(p, &second, &[]),
        400,
        "InvalidRequest",
        "Give at least one supplementary interface to migrate.",
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_api_error(
        t.power.supplementary_migrate(p, &second, &[missing]),
        404,
        "NotFound",
        &format!("Network interface {missing} could not be found."),
    );
    assert_api_error(
        t.power.supplementary_migrate(p, missing, &[&ids[0]]),
        404,
        "NotFound",
        &format!("Network interface {missing} could not be found."),
    );
}

#[test]
fn tags_are_set_changed_summarised_and_removed() {
    let s = Server::start(&[]);
    let Parents {
        t, network, first, ..
    } = parents(&s, "tags", 63);
    let p = &t.project;
    let made = t
        .power
        .supplementary_batch_create(p, &first, 2, &json!({"network_id": network}))
        .expect("batch");
    let (a, b) = (
        made[0].interface.id.to_string(),
        made[1].interface.id.to_string(),
    );
    t.power
        .supplementary_tag_set(p, &a, "env", "prod")
        .expect("tag a");
    let changed = t
        .power
        .supplementary_tag_set(p, &a, "env", "test")
        .expect("retag a");
    assert_eq!(changed.interface.tags.len(), 1);
    assert_eq!(changed.interface.tags[0].value, "test");
    t.power
        .supplementary_tag_set(p, &b, "env", "prod")
        .expect("tag b");
    t.power
        .supplementary_tag_set(p, &b, "team", "")
        .expect("tag b");
    let summary = t.reader.supplementary_tag_summary(p).expect("summary");
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        json!({"env": ["prod", "test"], "team": [""]})
    );

    assert_api_error(
        t.power.supplementary_tag_set(p, &a, "bad key!", "x"),
        400,
        "InvalidValue",
        "Invalid value for tags: the key 'bad key!' must be 1 to 128 letters, digits, '_' or '-'.",
    );
    assert_api_error(
        t.power.supplementary_tag_set(p, &a, "env", "a b"),
        400,
        "InvalidValue",
        "Invalid value for tags: the value 'a b' must be at most 255 letters, digits, '_', '-' or '.'.",
    );
    assert_api_error(
        t.reader.supplementary_tag_set(p, &a, "env", "x"),
        403,
        "Forbidden",
        "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
    );
    t.power
        .supplementary_tag_delete(p, &b, "team")
        .expect("untag");
    assert_api_error(
        t.power.supplementary_tag_delete(p, &b, "team"),
        404,
        "NotFound",
        &format!("Network interface {b} tag 'team' could not be found."),
    );
    // A parent is not a supplementary interface: its tags are not here.
    assert_api_error(
        t.power.supplementary_tag_set(p, &first, "env", "x"),
        404,
        "NotFound",
        &format!("Network interface {first} could not be found."),
    );
    let summary = t.power.supplementary_tag_summary(p).expect("summary");
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        json!({"env": ["prod", "test"]})
    );
}

#[test]
fn concurrent_batches_on_one_parent_get_distinct_vlans() {
    let s = Server::start(&[]);
    let Parents {
        t, network, first, ..
    } = parents(&s, "race", 64);
    let spec = json!({"network_id": network});
    let made: Vec<Vec<u16>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (c, p, first, spec) = (t.power.clone(), &t.project, &first, &spec);
                scope.spawn(move || {
                    vlans(
                        &c.supplementary_batch_create(p, first, 5, spec)
                            .expect("a batch"),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut all: Vec<u16> = made.concat();
    all.sort();
    assert_eq!(all, (1..=20).collect::<Vec<u16>>(), "batches: {made:?}");
    assert_eq!(
        t.power
            .supplementary_list(&t.project, &first)
            .unwrap()
            .len(),
        20
    );
}
