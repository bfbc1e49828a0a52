//! The CLI, run as a user would, against the real server.

mod common;

use common::*;
use std::process::{Command, Output};

struct Cli {
    url: String,
    config: std::path::PathBuf,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nicplane"))
            .args(args)
            .env("NICPLANE_URL", &self.url)
            .env("NICPLANE_CONFIG", &self.config)
            .env_remove("NICPLANE_PROJECT")
            .env_remove("NICPLANE_TOKEN")
            .output()
            .expect("run cli")
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        err
    }
}

#[test]
fn the_cli_walks_through_the_console_guide() {
    let s = Server::start(&["--demo"]);
    let cli = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("cli.json"),
    };
    let out = cli.ok(&["login", "-u", "bob", "--password", "demo-password"]);
    assert!(out.contains("demo"), "{out}");
    let vms = cli.ok(&["vm", "list"]);
    assert!(vms.contains("web-1") && vms.contains("win-1"), "{vms}");

    cli.ok(&[
        "nic",
        "add",
        "web-1",
        "--network",
        "db-net",
        "--ip",
        "10.20.0.99",
    ]);
    let shown = cli.ok(&["vm", "show", "web-1"]);
    assert!(
        shown.contains("10.20.0.99") && shown.contains("Default Network"),
        "{shown}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "nic", "list", "web-1"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let dry = cli.ok(&["nic", "add", "web-1", "--network", "db-net", "--dry-run"]);
    assert!(dry.contains("db-net"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&cli.ok(&["--json", "nic", "list", "web-1"]))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let err = cli.fails(&["nic", "add", "win-1", "--network", "db-net"]);
    assert_eq!(
        err,
        "error: VM win-1 runs Windows and is running: stop the VM before adding or removing network interfaces.\n"
    );
    cli.ok(&["vm", "stop", "win-1"]);
    cli.ok(&["nic", "add", "win-1", "--network", "db-net"]);

    let err = cli.fails(&[
        "nic",
        "add",
        "web-1",
        "--network",
        "db-net",
        "--ip",
        "10.20.0.99",
    ]);
    assert_eq!(
        err,
        "error: The IP address 10.20.0.99 is already in use on subnet db-net-v4.\n"
    );

    let first = cli.ok(&["public-ip", "allocate", "web-1", "10.20.0.99"]);
    cli.ok(&["public-ip", "release", "web-1", "10.20.0.99"]);
    let second = cli.ok(&["public-ip", "allocate", "web-1", "10.20.0.99"]);
    assert_ne!(
        first.lines().nth(1),
        second.lines().nth(1),
        "a different address"
    );

    cli.ok(&["nic", "add", "web-1", "--network", "storage-l2"]);
    let l2 =
        serde_json::from_str::<serde_json::Value>(&cli.ok(&["--json", "nic", "list", "web-1"]))
            .unwrap();
    let l2_id = l2
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["network_name"] == "storage-l2")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let err = cli.fails(&["public-ip", "allocate", "web-1", &l2_id]);
    assert_eq!(
        err,
        "error: Network storage-l2 is a custom (L2) network; public IPs can only be allocated on interfaces of standard (L3) networks.\n"
    );

    let primary = l2
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["primary"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let err = cli.fails(&["nic", "remove", "web-1", &primary]);
    assert_eq!(
        err,
        format!("error: Network interface {primary} is the primary interface of its VM and cannot be removed.\n")
    );
    cli.ok(&["nic", "remove", "web-1", "10.20.0.99"]);

    let nets = cli.ok(&["network", "list"]);
    assert!(
        nets.contains("custom (L2)") && nets.contains("standard (L3)"),
        "{nets}"
    );

    cli.ok(&["login", "-u", "carol", "--password", "demo-password"]);
    let err = cli.fails(&["vm", "create", "x"]);
    assert_eq!(
        err,
        "error: The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.\n"
    );
    let err = cli.fails(&["login", "-u", "carol", "--password", "wrong"]);
    assert_eq!(err, "error: The user name or password is wrong.\n");
}

#[test]
fn quota_show_and_set_through_the_cli() {
    let s = Server::start(&["--demo"]);
    let admin = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("admin.json"),
    };
    admin.ok(&["login", "-u", "admin", "--password", ADMIN_PASSWORD]);
    let out = admin.ok(&[
        "quota",
        "set",
        "--ports",
        "3",
        "--floating-ips",
        "-1",
        "--project",
        "demo",
    ]);
    let port_line = out
        .lines()
        .find(|l| l.starts_with("port "))
        .unwrap_or_else(|| panic!("no port row: {out}"));
    assert!(port_line.trim_end().ends_with(" 3"), "{port_line}");
    let fip_line = out.lines().find(|l| l.starts_with("floatingip ")).unwrap();
    assert!(fip_line.trim_end().ends_with("unlimited"), "{fip_line}");

    let bob = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("bob.json"),
    };
    bob.ok(&["login", "-u", "bob", "--password", "demo-password"]);
    let json: serde_json::Value =
        serde_json::from_str(&bob.ok(&["quota", "show", "--json"])).expect("json");
    let port = json["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["resource"] == "port")
        .cloned()
        .unwrap();
    assert_eq!(port["limit"], 3);
    assert!(
        port["used"].as_i64().unwrap() >= 3,
        "the demo VMs' interfaces count: {port}"
    );
    let err = bob.fails(&["quota", "set", "--ports", "1000"]);
    assert_eq!(err, "error: Only the cloud admin can change quotas.\n");
    let err = admin.fails(&["quota", "set", "--project", "demo"]);
    assert_eq!(
        err,
        "error: Nothing to set: pass --ports, --networks, --subnets, --floating-ips, --secgroups, --secgroup-rules or --routers.\n"
    );
    let err = bob.fails(&["quota", "reset"]);
    assert_eq!(err, "error: Only the cloud admin can change quotas.\n");
    let out = admin.ok(&["quota", "reset", "--project", "demo"]);
    let port_line = out.lines().find(|l| l.starts_with("port ")).unwrap();
    assert!(port_line.trim_end().ends_with(" 500"), "{port_line}");
}

#[test]
fn supplementary_batch_create_migrate_and_tags_through_the_cli() {
    let s = Server::start(&["--demo"]);
    let cli = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("sni.json"),
    };
    cli.ok(&["login", "-u", "bob", "--password", "demo-password"]);
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&cli.ok(&all)).expect("json")
    };
    let primary = json(&["nic", "list", "web-1"])[0]["id"]
        .as_str()
        .expect("primary id")
        .to_string();
    let second = json(&["nic", "add", "web-1", "--network", "db-net"])["id"]
        .as_str()
        .expect("second id")
        .to_string();

    let made = json(&["supplementary", "batch-create", &primary, "--count", "2"]);
    let vlans: Vec<&serde_json::Value> = made
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["vlan_id"])
        .collect();
    assert_eq!(vlans, [1, 2]);
    let id = made[1]["id"].as_str().expect("id").to_string();
    let err = cli.fails(&["supplementary", "batch-create", &primary, "--count", "21"]);
    assert_eq!(
        err,
        "error: Invalid value for count: 21 is outside the range 1-20.\n"
    );

    let moved = json(&["supplementary", "migrate", &id, "--parent", &second]);
    assert_eq!(moved[0]["parent_id"], second.as_str());
    assert_eq!(moved[0]["vlan_id"], 2);

    cli.ok(&["supplementary", "tag", &id, "env", "prod"]);
    assert_eq!(
        json(&["supplementary", "tags"]),
        serde_json::json!({"env": ["prod"]})
    );
    cli.ok(&["supplementary", "untag", &id, "env"]);
    let err = cli.fails(&["supplementary", "untag", &id, "env"]);
    assert_eq!(
        err,
        format!("error: Network interface {id} tag 'env' could not be found.\n")
    );
}

/// `nicplane network create` takes several subnets, `nicplane subnet`
/// adds, changes and deletes them; an overlap is refused with the API's
/// message.
#[test]
fn the_cli_manages_several_subnets_per_network() {
    let s = Server::start(&["--demo"]);
    let cli = Cli {
        url: s.url.clone(),
        config: temp_dir("cli-subnets").join("cli.json"),
    };
    cli.ok(&["login", "-u", "alice", "--password", "demo-password"]);
    cli.ok(&[
        "network",
        "create",
        "multi",
        "--cidr",
        "10.70.0.0/24",
        "--cidr",
        "10.71.0.0/24",
        "--ipv6-cidr",
        "fd00:70::/64",
    ]);
    let added: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "--json",
        "subnet",
        "add",
        "multi",
        "fd00:71::/64",
        "--name",
        "extra",
        "--dns-nameserver",
        "2001:db8::53",
    ]))
    .unwrap();
    assert_eq!(
        added["dns_nameservers"],
        serde_json::json!(["2001:db8::53"])
    );
    let list = cli.ok(&["network", "list"]);
    let line = list
        .lines()
        .find(|l| l.contains("multi"))
        .expect("multi listed");
    assert!(
        line.contains("10.70.0.0/24, 10.71.0.0/24, fd00:70::/64, fd00:71::/64"),
        "{line}"
    );
    let set: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "--json",
        "subnet",
        "set",
        "extra",
        "--description",
        "second v6",
        "--dns-nameserver",
        "9.9.9.9",
        "--dns-nameserver",
        "1.1.1.1",
    ]))
    .unwrap();
    assert_eq!(set["description"], "second v6");
    assert_eq!(
        set["dns_nameservers"],
        serde_json::json!(["9.9.9.9", "1.1.1.1"])
    );
    let err = cli.fails(&["subnet", "add", "multi", "10.70.0.128/25"]);
    assert!(
        err.starts_with("error: Invalid input for operation: Requested subnet with cidr: 10.70.0.128/25 for network: ")
            && err.trim_end().ends_with(" overlaps with another subnet."),
        "{err}"
    );
    cli.ok(&["subnet", "delete", "extra"]);
    let list = cli.ok(&["network", "list"]);
    assert!(
        list.contains("10.70.0.0/24, 10.71.0.0/24, fd00:70::/64") && !list.contains("fd00:71::/64"),
        "{list}"
    );
}

#[test]
fn the_cli_prints_the_change_feed() {
    let s = Server::start(&["--demo"]);
    let admin = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("admin.json"),
    };
    admin.ok(&["login", "-u", "admin", "--password", ADMIN_PASSWORD]);
    admin.ok(&["quota", "set", "--ports", "7", "--project", "demo"]);
    let bob = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("bob.json"),
    };
    bob.ok(&["login", "-u", "bob", "--password", "demo-password"]);
    // On PostgreSQL the event is numbered in the background: read again
    // (a bounded number of times) until it is there.
    let mut page = serde_json::Value::Null;
    for _ in 0..50 {
        page = serde_json::from_str(&bob.ok(&["events", "--json"])).expect("json");
        if page["events"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let events = page["events"].as_array().expect("events");
    let last = events.last().expect("the quota change");
    assert_eq!(last["kind"], "quota");
    assert_eq!(last["action"], "update");
    assert_eq!(last["actor"]["user_name"], "admin");
    assert_eq!(last["actor"]["dialect"], "native");
    let table = bob.ok(&["events"]);
    assert!(
        table.contains("quota") && table.contains("admin"),
        "{table}"
    );
    let seq = last["seq"].as_u64().expect("seq").to_string();
    let after: serde_json::Value =
        serde_json::from_str(&bob.ok(&["events", "--after", &seq, "--json"])).expect("json");
    assert_eq!(after["events"], serde_json::json!([]));
    let err = bob.fails(&["events", "--limit", "5000"]);
    assert_eq!(
        err,
        "error: Invalid value for limit: 5000 is not between 1 and 1000.\n"
    );
}

#[test]
fn project_delete_through_the_cli_refuses_a_project_that_holds_objects() {
    let s = Server::start(&["--demo"]);
    let admin = Cli {
        url: s.url.clone(),
        config: temp_dir("cli").join("admin.json"),
    };
    admin.ok(&["login", "-u", "admin", "--password", ADMIN_PASSWORD]);
    admin.ok(&["project", "create", "cli-gone"]);
    let out = admin.ok(&["project", "delete", "cli-gone", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["deleted"].as_str().is_some_and(|id| id.len() == 32),
        "{out}"
    );
    let err = admin.fails(&["project", "delete", "cli-gone"]);
    assert_eq!(err, "error: Project cli-gone could not be found.\n");
    let err = admin.fails(&["project", "delete", "demo"]);
    assert_eq!(
        err,
        "error: Project demo still has 3 VMs, 4 network interfaces, 2 networks; delete them first.\n"
    );
}
