//! Several nicplane servers, each its own process on its own loopback port,
//! sharing one PostgreSQL database, with concurrent clients spread across
//! them. Every invariant must hold across processes: nothing in the servers
//! coordinates them but the database.
//!
//! Runs only when `NICPLANE_TEST_POSTGRES_URL` names a PostgreSQL server (see
//! `scripts/test-postgres`); otherwise every test prints a note and returns.
//! The outage test also needs `NICPLANE_TEST_POSTGRES_DIR`, the directory
//! `scripts/pg-start.sh` was given, to stop and restart that server.
//!
//! The tests run one at a time (see [`serial`]): the outage test stops the
//! shared PostgreSQL, and two cores do not run several clusters well at once.
//! Every load loop is bounded in count and in time.

mod common;

use common::*;
use nicplane_client::{Client, ClientError};
use nicplane_domain::model::{Interface, PublicIp};
use reqwest::Method;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Servers in a cluster.
const SERVERS: usize = 3;
/// Names the directory of the PostgreSQL cluster (for the outage test).
const POSTGRES_DIR_VAR: &str = "NICPLANE_TEST_POSTGRES_DIR";
/// The longest any load phase may run before the test gives up.
const LOAD_DEADLINE: Duration = Duration::from_secs(120);

static SERIAL: Mutex<()> = Mutex::new(());

/// Run the tests of this file one at a time (a failed test must not block
/// the others, hence the poison recovery).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `n` servers on one fresh PostgreSQL database (the first one bootstraps
/// it with `extra`), or None with a note when the tests run on SQLite.
fn cluster(n: usize, extra: &[&str]) -> Vec<Server> {
    assert!(
        postgres_admin_url().is_some(),
        "{POSTGRES_URL_VAR} is not set: the multi-process tests need PostgreSQL (run scripts/test-postgres)"
    );
    let first = Server::start(extra);
    let mut servers = vec![first];
    for _ in 1..n {
        let s = Server::start_sharing(&servers[0], extra);
        servers.push(s);
    }
    let ports: HashSet<_> = servers.iter().map(|s| s.url.clone()).collect();
    assert_eq!(ports.len(), n, "each server on its own port");
    servers
}

/// The same user as `c`, talking to `server`.
fn on(server: &Server, c: &Client) -> Client {
    Client::new(&server.url).with_token(c.token().expect("logged in"))
}

/// Run `jobs` calls of `f(job)` on `threads` threads, spreading the jobs
/// over the threads as they free up; stops taking jobs at the deadline.
/// Returns the results in job order; panics if the deadline cut the run short.
fn run_parallel<T: Send>(threads: usize, jobs: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let deadline = Instant::now() + LOAD_DEADLINE;
    let barrier = std::sync::Barrier::new(threads);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let mut mine = Vec::new();
                    while Instant::now() < deadline {
                        let j = next.fetch_add(1, Ordering::SeqCst);
                        if j >= jobs {
                            break;
                        }
                        mine.push((j, f(j)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("load thread"))
            .collect()
    });
    assert_eq!(
        out.len(),
        jobs,
        "the load did not finish within {LOAD_DEADLINE:?}"
    );
    out.sort_by_key(|(j, _)| *j);
    out.into_iter().map(|(_, r)| r).collect()
}

/// True for an error that is a clean API answer with this status and code.
fn is_api(e: &ClientError, status: u16, code: &str) -> bool {
    e.status() == Some(status) && e.code() == Some(code)
}

/// Look at the database directly: every interface has all of its addresses
/// and nothing more, every VM's interface count is its interfaces, exactly one
/// primary per VM, every subnet's counter matches its allocations, and no
/// allocated address is also listed as free. Returns the violations found.
fn database_violations(database: &str) -> Vec<String> {
    let mut c =
        postgres::Client::connect(database, postgres::NoTls).expect("connect to the test database");
    let checks = [
        (
            "interface whose addresses differ from its ip_allocations rows",
            "SELECT i.id FROM interfaces i \
             WHERE (SELECT count(*) FROM ip_allocations a WHERE a.interface_id = i.id) \
                   <> json_array_length(i.fixed_ips::json)",
        ),
        (
            "interface without an address on a network with subnets",
            "SELECT i.id FROM interfaces i \
             WHERE EXISTS (SELECT 1 FROM subnets s WHERE s.network_id = i.network_id) \
               AND NOT EXISTS (SELECT 1 FROM ip_allocations a WHERE a.interface_id = i.id)",
        ),
        (
            "VM whose interface count differs from its interfaces",
            "SELECT v.id FROM vms v \
             WHERE v.nic_count <> (SELECT count(*) FROM interfaces i WHERE i.vm_id = v.id)",
        ),
        (
            "VM without exactly one primary interface",
            "SELECT v.id FROM vms v \
             WHERE (SELECT count(*) FROM interfaces i WHERE i.vm_id = v.id AND i.is_primary) <> 1",
        ),
        (
            "subnet whose pool_used differs from its allocations",
            "SELECT s.id FROM subnets s \
             WHERE s.pool_used + COALESCE((SELECT sum(u.used) FROM subnet_use_shards u WHERE u.subnet_id = s.id), 0) \
                   <> (SELECT count(*) FROM ip_allocations a WHERE a.subnet_id = s.id AND a.in_pool)",
        ),
        (
            "allocated address still listed as free",
            "SELECT a.subnet_id || ' ' || a.address FROM ip_allocations a JOIN ip_free_ranges f \
               ON f.subnet_id = a.subnet_id AND a.offset_key BETWEEN f.start_key AND f.end_key",
        ),
    ];
    let mut found = Vec::new();
    for (what, sql) in checks {
        for row in c.query(sql, &[]).expect("consistency query") {
            let id: String = row.get(0);
            found.push(format!("{what}: {id}"));
        }
    }
    found
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn a_user_disabled_on_one_server_is_refused_on_another_at_once() {
    let _serial = serial();
    let servers = cluster(2, &[]);
    let t = tenant(&servers[0], "mp-disable");
    let on_second = on(&servers[1], &t.power);
    on_second
        .security_groups(&t.project)
        .expect("the token works on server 2");
    let who = t.power.whoami().unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    servers[0]
        .admin()
        .user_set_enabled(&who, false)
        .expect("disable on server 1");
    let e = on_second.security_groups(&t.project).unwrap_err();
    assert!(is_api(&e, 401, "Unauthenticated"), "{e}");
    assert_eq!(e.message(), "The token is not valid; log in again.");
    // And a login on server 2 is refused too.
    let mut again = servers[1].client();
    let e = again.login("mp-disable-power", PASSWORD).unwrap_err();
    assert!(is_api(&e, 401, "Unauthenticated"), "{e}");
    assert_eq!(e.message(), "The user mp-disable-power is disabled.");
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn two_hundred_parallel_adds_on_twenty_vms_across_servers_leave_exactly_five_each() {
    let _serial = serial();
    let servers = cluster(SERVERS, &[]);
    let t = tenant(&servers[0], "mp-limit");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vms: Vec<String> = (0..20)
        .map(|i| t.vm(&format!("vm-{i}"), "linux", true))
        .collect();
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();

    let results = run_parallel(200, 200, |j| {
        clients[j % SERVERS].interface_attach(&t.project, &vms[j % vms.len()], &net, None)
    });

    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert!(
                is_api(e, 409, "InterfaceLimitReached"),
                "not a clean 409: {e}"
            );
        }
    }
    assert_eq!(ok, 20 * 4, "four adds per VM on top of its primary");
    let mut macs = HashSet::new();
    let mut addrs = HashSet::new();
    for vm in &vms {
        let c = &clients[macs.len() % SERVERS];
        let d = c.vm(&t.project, vm).unwrap();
        assert_eq!(d.interfaces.len(), 5, "VM {vm}");
        assert_eq!(d.vm.interface_count, 5, "VM {vm}");
        for i in &d.interfaces {
            assert!(
                macs.insert(i.mac_address),
                "MAC {} handed out twice",
                i.mac_address
            );
            for f in &i.fixed_ips {
                assert!(
                    addrs.insert(f.ip_address),
                    "address {} handed out twice",
                    f.ip_address
                );
            }
        }
    }
    let db = servers[0].database.clone().expect("PostgreSQL");
    assert_eq!(database_violations(&db), Vec::<String>::new());
}

/// Three servers, parallel port creates against a quota of K: exactly K
/// succeed, the others get 409 OverQuota, and the usage equals the rows.
#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn parallel_port_creates_across_servers_stop_exactly_at_the_quota() {
    const K: i64 = 25;
    const JOBS: usize = 120;
    let _serial = serial();
    let servers = cluster(SERVERS, &[]);
    let t = tenant(&servers[0], "mp-quota");
    let net = t.standard_network("app", "10.20.0.0/24");
    let cloud = servers[0].admin();
    cloud
        .quota_set(&t.project, &json!({ "port": K }))
        .expect("quota set");
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();
    let results = run_parallel(48, JOBS, |j| {
        clients[j % SERVERS].post::<serde_json::Value>(
            &format!("/v1/projects/{}/interfaces", t.project),
            &json!({ "network_id": net }),
        )
    });
    let ok = results.iter().filter(|r| r.is_ok()).count() as i64;
    for r in &results {
        if let Err(e) = r {
            assert!(is_api(e, 409, "OverQuota"), "not a clean 409: {e}");
            assert_eq!(e.message(), "Quota exceeded for resources: ['port'].");
        }
    }
    assert_eq!(ok, K);
    let report = clients[1].quota_show(&t.project).expect("quota show");
    let port = report
        .quotas
        .iter()
        .find(|q| q.resource.as_str() == "port")
        .expect("port");
    assert_eq!((port.used, port.limit), (K, K));
    let db = servers[0].database.clone().expect("PostgreSQL");
    let mut c = postgres::Client::connect(&db, postgres::NoTls).expect("connect");
    let rows: i64 = c
        .query_one(
            "SELECT count(*) FROM interfaces WHERE project_id = $1",
            &[&t.project],
        )
        .expect("count")
        .get(0);
    assert_eq!(rows, K);
    assert_eq!(database_violations(&db), Vec::<String>::new());
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn two_thousand_parallel_allocations_from_one_subnet_across_servers_never_repeat_an_address() {
    let _serial = serial();
    // 2,045 ports in one project: above the default port quota of 500.
    let servers = cluster(SERVERS, &["--quota-default", "port=-1"]);
    let t = tenant(&servers[0], "mp-ipam");
    // A /21 holds 2,045 addresses (2,048 minus network, broadcast and the
    // gateway): 2,100 requests take them all and 55 find none.
    let net = t.standard_network("big", "10.96.0.0/21");
    let subnet: ipnet::IpNet = "10.96.0.0/21".parse().unwrap();
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();
    let path = format!("/v1/projects/{}/interfaces", t.project);

    let results = run_parallel(48, 2_100, |j| {
        clients[j % SERVERS].post::<Interface>(&path, &json!({"network_id": net}))
    });

    let mut addrs = HashSet::new();
    for r in &results {
        match r {
            Ok(i) => {
                let a = i.ipv4().expect("an IPv4 address");
                assert!(subnet.contains(&a), "{a} outside {subnet}");
                assert!(addrs.insert(a), "address {a} handed out twice");
            }
            Err(e) => assert!(is_api(e, 409, "CapacityExhausted"), "not a clean 409: {e}"),
        }
    }
    assert_eq!(
        addrs.len(),
        2_045,
        "every address of the /21 handed out once"
    );
    let listed = clients[1]
        .all::<Interface>(&format!("{path}?network_id={net}"))
        .unwrap();
    assert_eq!(listed.len(), 2_045);
    let listed: HashSet<IpAddr> = listed.iter().filter_map(Interface::ipv4).collect();
    assert_eq!(
        listed, addrs,
        "the stored addresses are the acknowledged ones"
    );
    let db = servers[0].database.clone().expect("PostgreSQL");
    assert_eq!(database_violations(&db), Vec::<String>::new());
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn a_public_ip_pool_drained_from_all_servers_hands_out_each_address_once() {
    let _serial = serial();
    // 253 public IPs in one project: above the default floatingip quota of 50.
    let servers = cluster(
        SERVERS,
        &[
            "--public-cidr",
            "198.51.100.0/24",
            "--quota-default",
            "floatingip=-1",
        ],
    );
    let t = tenant(&servers[0], "mp-pool");
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();
    let path = format!("/v1/projects/{}/public-ips", t.project);

    let results = run_parallel(48, 400, |j| {
        clients[j % SERVERS].post::<PublicIp>(&path, &json!({"data_center_id": t.dc}))
    });

    let mut addrs = HashSet::new();
    for r in &results {
        match r {
            Ok(p) => assert!(
                addrs.insert(p.address),
                "public IP {} handed out twice",
                p.address
            ),
            Err(e) => assert!(is_api(e, 409, "CapacityExhausted"), "not a clean 409: {e}"),
        }
    }
    assert_eq!(
        addrs.len(),
        253,
        "a /24 minus network, gateway and broadcast"
    );
    let listed: HashSet<IpAddr> = clients[2]
        .public_ips(&t.project)
        .unwrap()
        .iter()
        .map(|p| p.address)
        .collect();
    assert_eq!(listed, addrs);
}

/// What the clients of the restart test were told.
#[derive(Default)]
struct Ledger {
    /// Interfaces whose attach was acknowledged (and no detach sent since):
    /// id → (VM, addresses as acknowledged).
    attached: HashMap<String, (String, Vec<IpAddr>)>,
    /// Interfaces whose detach was acknowledged.
    detached: HashSet<String>,
    /// Interfaces whose detach got no answer (the server died): either way.
    uncertain: HashSet<String>,
    /// Acknowledged writes after the kill.
    acked_after_kill: usize,
    /// Requests that got no answer (sent to the killed server).
    unanswered: usize,
    /// Clean refusals (the interface limit).
    refused: usize,
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn a_server_killed_mid_load_loses_nothing_acknowledged_and_leaves_no_half_written_interface() {
    let _serial = serial();
    let mut servers = cluster(SERVERS, &[]);
    let t = tenant(&servers[0], "mp-kill");
    let net = t.standard_network("app", "10.30.0.0/20");
    let vms: Vec<String> = (0..20)
        .map(|i| t.vm(&format!("vm-{i}"), "linux", true))
        .collect();
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();
    let victim = SERVERS - 1;

    const THREADS: usize = 24;
    const OPS_PER_THREAD: usize = 60;
    // Each thread keeps about this many interfaces attached and churns
    // through the rest, so that many acknowledged interfaces remain to check.
    const HELD_PER_THREAD: usize = 3;
    let ledger = Mutex::new(Ledger::default());
    let acked = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    let deadline = Instant::now() + LOAD_DEADLINE;
    let book = || ledger.lock().unwrap_or_else(|e| e.into_inner());

    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (clients, vms, net, t) = (&clients, &vms, &net, &t);
            let (acked, killed) = (&acked, &killed);
            s.spawn(move || {
                let mut server = th % SERVERS;
                let mut mine: Vec<(String, String)> = Vec::new();
                for op in 0..OPS_PER_THREAD {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let after_kill = killed.load(Ordering::SeqCst);
                    let c = &clients[server];
                    if op % 2 == 1 && mine.len() >= HELD_PER_THREAD {
                        let (vm, id) = mine.swap_remove(op % mine.len());
                        match c.interface_detach(&t.project, &vm, &id) {
                            Ok(()) => {
                                acked.fetch_add(1, Ordering::SeqCst);
                                let mut l = book();
                                l.attached.remove(&id);
                                l.detached.insert(id);
                                l.acked_after_kill += usize::from(after_kill);
                            }
                            Err(ClientError::Transport(_)) => {
                                let mut l = book();
                                l.attached.remove(&id);
                                l.uncertain.insert(id);
                                l.unanswered += 1;
                                server = (server + 1) % SERVERS;
                            }
                            Err(e) => panic!("detach failed: {e}"),
                        }
                    } else {
                        let vm = vms[(th * 7 + op) % vms.len()].clone();
                        match c.interface_attach(&t.project, &vm, net, None) {
                            Ok(i) => {
                                acked.fetch_add(1, Ordering::SeqCst);
                                let id = i.id.to_string();
                                let addrs = i.fixed_ips.iter().map(|f| f.ip_address).collect();
                                let mut l = book();
                                l.attached.insert(id.clone(), (vm.clone(), addrs));
                                l.acked_after_kill += usize::from(after_kill);
                                mine.push((vm, id));
                            }
                            Err(e) if is_api(&e, 409, "InterfaceLimitReached") => {
                                book().refused += 1
                            }
                            Err(ClientError::Transport(_)) => {
                                book().unanswered += 1;
                                server = (server + 1) % SERVERS;
                            }
                            Err(e) => panic!("attach failed: {e}"),
                        }
                    }
                }
            });
        }
        // Kill one server once the load is well under way.
        let wait_until = Instant::now() + Duration::from_secs(60);
        while acked.load(Ordering::SeqCst) < 150 && Instant::now() < wait_until {
            std::thread::sleep(Duration::from_millis(10));
        }
        killed.store(true, Ordering::SeqCst);
        servers[victim].stop(); // SIGKILL
    });

    let l = ledger.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "restart test: {} attached, {} detached, {} uncertain, {} refused, {} unanswered, {} acknowledged after the kill",
        l.attached.len(),
        l.detached.len(),
        l.uncertain.len(),
        l.refused,
        l.unanswered,
        l.acked_after_kill
    );
    assert!(
        l.acked_after_kill >= 100,
        "the other servers keep serving after the kill"
    );
    assert!(!l.attached.is_empty());

    // Nothing acknowledged is lost: every acknowledged interface is there, on
    // its VM, with the addresses it was acknowledged with.
    let survivor = &clients[0];
    for (id, (vm, addrs)) in &l.attached {
        let i: Interface = survivor
            .get(&format!("/v1/projects/{}/interfaces/{id}", t.project))
            .unwrap_or_else(|e| panic!("acknowledged interface {id} is lost: {e}"));
        assert_eq!(i.vm_id.map(|v| v.to_string()).as_deref(), Some(vm.as_str()));
        let now: Vec<IpAddr> = i.fixed_ips.iter().map(|f| f.ip_address).collect();
        assert_eq!(&now, addrs, "interface {id} kept its addresses");
    }
    for id in &l.detached {
        let r = survivor.get::<Interface>(&format!("/v1/projects/{}/interfaces/{id}", t.project));
        assert!(
            matches!(&r, Err(e) if e.status() == Some(404)),
            "detached {id} is gone: {r:?}"
        );
    }
    // No half-written interface, through the API and in the tables.
    for vm in &vms {
        let d = clients[1].vm(&t.project, vm).unwrap();
        assert_eq!(d.vm.interface_count as usize, d.interfaces.len(), "VM {vm}");
        assert!(d.interfaces.len() <= 5);
        assert_eq!(d.interfaces.iter().filter(|i| i.primary).count(), 1);
        assert!(
            d.interfaces.iter().all(|i| i.ipv4().is_some()),
            "every interface has its address"
        );
    }
    let db = servers[0].database.clone().expect("PostgreSQL");
    assert_eq!(database_violations(&db), Vec::<String>::new());

    // The killed server comes back on the same database and sees the same data.
    let back = Server::start_sharing(&servers[0], &[]);
    let c = on(&back, &t.power);
    for vm in &vms {
        let a = c.vm(&t.project, vm).unwrap();
        let b = clients[0].vm(&t.project, vm).unwrap();
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::to_value(&b).unwrap()
        );
    }
    let i: Interface = c
        .post(
            &format!("/v1/projects/{}/interfaces", t.project),
            &json!({"network_id": net}),
        )
        .expect("the restarted server writes");
    assert!(i.ipv4().is_some());
}

/// The scripts directory of the workspace.
fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// The port of a PostgreSQL URL.
fn port_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    host.rsplit_once(':')
        .map_or("5432".into(), |(_, p)| p.to_string())
}

fn run_script(name: &str, args: &[&str]) {
    let out = std::process::Command::new(scripts().join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Status of a raw request.
fn status(c: &Client, method: Method, path: &str) -> u16 {
    match c.raw(method, path, None, &[]) {
        Ok(r) => r.status,
        Err(e) => panic!("no answer for {path}: {e}"),
    }
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn with_the_database_down_requests_fail_with_503_and_the_servers_recover_by_themselves() {
    let _serial = serial();
    let servers = cluster(2, &[]);
    let pg_dir = std::env::var(POSTGRES_DIR_VAR)
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| {
            panic!("{POSTGRES_DIR_VAR} is not set: the outage test stops and restarts the PostgreSQL of scripts/test-postgres")
        });
    let port = port_of(&postgres_admin_url().expect("PostgreSQL"));
    let t = tenant(&servers[0], "mp-outage");
    let vm = t.vm("web", "linux", true);
    let net = t.standard_network("app", "10.40.0.0/24");
    let clients: Vec<Client> = servers.iter().map(|s| on(s, &t.power)).collect();
    for s in &servers {
        assert_eq!(status(&s.client(), Method::GET, "/readyz"), 200);
    }

    run_script("pg-stop.sh", &[&pg_dir]);
    // Make sure the database comes back even if an assertion below fails.
    struct Restart<'a>(&'a str, &'a str);
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            run_script("pg-start.sh", &[self.0, self.1]);
        }
    }
    let restart = Restart(&pg_dir, &port);

    for (s, c) in servers.iter().zip(&clients) {
        assert_eq!(
            status(&s.client(), Method::GET, "/healthz"),
            200,
            "alive without the database"
        );
        assert_eq!(
            status(&s.client(), Method::GET, "/readyz"),
            503,
            "not ready without the database"
        );
        let read = c.vm(&t.project, &vm).unwrap_err();
        assert_eq!(read.status(), Some(503), "a read: {read}");
        let write = c.interface_attach(&t.project, &vm, &net, None).unwrap_err();
        assert_eq!(write.status(), Some(503), "a write: {write}");
        let login = s.client().login("mp-outage-power", PASSWORD).unwrap_err();
        assert_eq!(login.status(), Some(503), "a login: {login}");
    }

    drop(restart);
    let deadline = Instant::now() + Duration::from_secs(60);
    for s in &servers {
        while status(&s.client(), Method::GET, "/readyz") != 200 {
            assert!(
                Instant::now() < deadline,
                "{} did not become ready again",
                s.url
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for c in &clients {
        let i = c
            .interface_attach(&t.project, &vm, &net, None)
            .expect("writes work again");
        assert!(i.ipv4().is_some());
        assert_eq!(
            c.vm(&t.project, &vm).unwrap().vm.interface_count,
            c.vm(&t.project, &vm).unwrap().interfaces.len() as u32
        );
    }
    let db = servers[0].database.clone().expect("PostgreSQL");
    assert_eq!(database_violations(&db), Vec::<String>::new());
}
