//! `GET /metrics` and the JSON log (issue 15, "Operating it"): the real
//! server after a known sequence of requests, its scrape read back sample by
//! sample, its log read back line by line.

mod common;

use common::*;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One scrape in the Prometheus text format, as samples.
struct Scrape {
    text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Read the samples of a scrape (label values here never hold a quote
    /// or a comma, so a split on `",` is a full parse of them).
    fn parse(text: String) -> Scrape {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value.parse().expect("a numeric sample value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}').expect("labels end with }")),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").expect("label=\"value\"");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            samples.push((name.to_string(), labels, value));
        }
        Scrape { text, samples }
    }

    /// Every sample of a metric, by its labels.
    fn all(&self, name: &str) -> BTreeMap<Vec<(String, String)>, f64> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone().into_iter().collect(), *v))
            .collect()
    }

    /// The value of one series (its labels exactly), if it exists.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| *v)
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in:\n{}", self.text))
    }
}

fn scrape(s: &Server) -> Scrape {
    let url = s
        .metrics_url
        .as_ref()
        .expect("started with --metrics-listen");
    let r = Http::new().get(url).send().expect("scrape");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scrape::parse(r.text().expect("scrape body"))
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

fn request(dialect: &str, method: &str, route: &str, status: &str) -> Vec<(String, String)> {
    labels(&[
        ("dialect", dialect),
        ("method", method),
        ("route", route),
        ("status", status),
    ])
}

const METRICS: &[&str] = &["--metrics-listen", "127.0.0.1:0"];

#[test]
fn requests_are_counted_by_dialect_route_template_and_status() {
    let s = Server::start(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--huawei-listen",
        "127.0.0.1:0",
    ]);
    let http = Http::new();
    let send = |method: &str, url: String| {
        http.request(Method::from_bytes(method.as_bytes()).unwrap(), url)
            .send()
            .expect("request")
            .status()
            .as_u16()
    };
    for _ in 0..3 {
        assert_eq!(send("GET", format!("{}/healthz", s.url)), 200);
    }
    // Twenty different unknown paths are one series, not twenty.
    for i in 0..20 {
        assert_eq!(send("GET", format!("{}/v1/no-such-{i}", s.url)), 404);
    }
    // The tenant listener has no /metrics.
    assert_eq!(send("GET", format!("{}/metrics", s.url)), 404);
    // A made-up method on a known route: the method label is `other`.
    assert_eq!(send("BREW", format!("{}/healthz", s.url)), 405);
    assert_eq!(send("GET", format!("{}/network/v2.0/ports", s.url)), 401);
    for id in ["a", "b"] {
        assert_eq!(
            send("GET", format!("{}/network/v2.0/ports/{id}", s.url)),
            401
        );
    }
    assert_eq!(send("GET", format!("{}/compute/v2.1/servers", s.url)), 401);
    let huawei = s.huawei_url.as_ref().expect("huawei listener");
    assert_eq!(
        send("GET", format!("{huawei}/v1/{}/ports", "0".repeat(32))),
        401
    );

    let m = scrape(&s);
    let expected: BTreeMap<_, _> = [
        (request("native", "GET", "/healthz", "200"), 3.0),
        (request("none", "GET", "unmatched", "404"), 21.0),
        (request("native", "other", "/healthz", "405"), 1.0),
        (request("neutron", "GET", "/network/v2.0/ports", "401"), 1.0),
        (
            request("neutron", "GET", "/network/v2.0/ports/{id}", "401"),
            2.0,
        ),
        (request("nova", "GET", "/compute/v2.1/servers", "401"), 1.0),
        (
            request("huawei", "GET", "/v1/{project_id}/ports", "401"),
            1.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(m.all("nicplane_http_requests_total"), expected);
    assert!(!m.text.contains("no-such"), "a raw path became a label");
    // One latency histogram per dialect, method and route.
    let count = |dialect, method, route| {
        m.get(
            "nicplane_http_request_duration_seconds_count",
            &[("dialect", dialect), ("method", method), ("route", route)],
        )
    };
    assert_eq!(count("native", "GET", "/healthz"), 3.0);
    assert_eq!(count("none", "GET", "unmatched"), 21.0);
    assert_eq!(count("neutron", "GET", "/network/v2.0/ports/{id}"), 2.0);
    assert_eq!(
        m.get(
            "nicplane_http_request_duration_seconds_bucket",
            &[
                ("dialect", "native"),
                ("method", "GET"),
                ("route", "/healthz"),
                ("le", "+Inf")
            ]
        ),
        3.0
    );
    assert_eq!(
        m.all("nicplane_http_request_duration_seconds_count").len(),
        7
    );

    // Anything but /metrics on the metrics listener is a plain 404.
    let other = s
        .metrics_url
        .as_ref()
        .unwrap()
        .replace("/metrics", "/v1/projects");
    assert_eq!(send("GET", other), 404);
    // OpenMetrics when the scraper asks for it.
    let r = http
        .get(s.metrics_url.as_ref().unwrap())
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(r.text().unwrap().ends_with("# EOF\n"));
}

#[test]
fn the_store_metrics_count_each_commit() {
    let s = Server::start(METRICS);
    let t = tenant(&s, "commits");
    let before = scrape(&s);
    for i in 0..4 {
        t.standard_network(&format!("n{i}"), &format!("10.7{i}.0.0/24"));
    }
    let after = scrape(&s);
    let delta = |name: &str| after.get(name, &[]) - before.get(name, &[]);
    // Four writes, one after the other: four commits.
    assert_eq!(delta("nicplane_store_commit_duration_seconds_count"), 4.0);
    match postgres_admin_url() {
        None => {
            assert_eq!(
                after.get("nicplane_store_info", &[("backend", "sqlite")]),
                1.0
            );
            // Nothing else was queued, so each commit was a group of one.
            assert_eq!(delta("nicplane_sqlite_group_size_count"), 4.0);
            assert_eq!(delta("nicplane_sqlite_group_size_sum"), 4.0);
            assert!(after
                .value("nicplane_postgres_retries_total", &[("reason", "conflict")])
                .is_none());
            assert!(after
                .value("nicplane_postgres_round_trips_total", &[])
                .is_none());
        }
        Some(_) => {
            assert_eq!(
                after.get("nicplane_store_info", &[("backend", "postgres")]),
                1.0
            );
            for reason in ["conflict", "connection"] {
                assert_eq!(
                    after.get("nicplane_postgres_retries_total", &[("reason", reason)]),
                    0.0
                );
            }
            assert_eq!(after.get("nicplane_postgres_pool_timeouts_total", &[]), 0.0);
            assert_eq!(after.get("nicplane_postgres_gave_up_total", &[]), 0.0);
            // Each write took at least one round trip to the database.
            assert!(delta("nicplane_postgres_round_trips_total") >= 4.0);
            // Within the pool (--db-pool-size 8): at least the one that served.
            let open = after.get("nicplane_postgres_connections_open", &[]);
            assert!((1.0..=8.0).contains(&open), "{open} connections open");
            assert!(after
                .value("nicplane_sqlite_group_size_count", &[])
                .is_none());
        }
    }
}

#[test]
fn the_store_counts_the_statements_its_use_cases_run() {
    // The hourly purge runs once at start, before the tenant is made; it
    // must not run again between the scrapes.
    let s = Server::start(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--purge-interval",
        "3600",
    ]);
    let t = tenant(&s, "statements");
    const NAME: &str = "nicplane_store_statements_total";
    let first = scrape(&s).get(NAME, &[]);
    let second = scrape(&s).get(NAME, &[]);
    // A scrape reads the capacity series from the store: its own statements.
    let per_scrape = second - first;
    assert!(per_scrape > 0.0, "a scrape runs statements");
    // The health check touches no store.
    for _ in 0..3 {
        let r = Http::new()
            .get(format!("{}/healthz", s.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let third = scrape(&s).get(NAME, &[]);
    assert_eq!(third - second, per_scrape);
    // A network create runs statements of its own.
    t.standard_network("counted", "10.77.0.0/24");
    let fourth = scrape(&s).get(NAME, &[]);
    assert!(
        fourth - third > per_scrape,
        "{} statements for a scrape and a network create",
        fourth - third
    );
}

#[test]
fn capacity_gauges_follow_addresses_public_ips_and_quotas() {
    let mut s = Server::start(METRICS);
    let t = tenant(&s, "cap");
    let net = t.standard_network("app", "10.60.0.0/28");
    let subnet = t.admin.networks(&t.project).unwrap();
    let subnet = subnet
        .iter()
        .find(|n| n.network.id.to_string() == net)
        .unwrap()
        .subnets[0]
        .id
        .to_string();
    let series = [
        ("subnet_id", subnet.as_str()),
        ("network_id", net.as_str()),
        ("project_id", t.project.as_str()),
        ("cidr", "10.60.0.0/28"),
    ];
    let m = scrape(&s);
    // A /28 without its network, broadcast and gateway addresses.
    assert_eq!(m.get("nicplane_subnet_pool_addresses", &series), 13.0);
    assert_eq!(m.get("nicplane_subnet_free_addresses", &series), 13.0);

    let vm = t.vm("web", "linux", true);
    let a = t
        .power
        .interface_attach(&t.project, &vm, &net, None)
        .unwrap();
    t.power
        .interface_attach(&t.project, &vm, &net, None)
        .unwrap();
    t.power
        .public_ip_allocate(&t.project, &a.id.to_string())
        .unwrap();
    let pool = &s.admin().pools().unwrap()[0];
    let pool_series = [
        ("pool", "public"),
        ("pool_id", &pool.id.to_string()),
        ("data_center", "dc1"),
        ("cidr", "203.0.113.0/24"),
    ];
    let quota = |m: &Scrape, name: &str, resource: &str| {
        m.get(name, &[("project_id", &t.project), ("resource", resource)])
    };

    let m = scrape(&s);
    assert_eq!(m.get("nicplane_subnet_free_addresses", &series), 11.0);
    assert_eq!(m.get("nicplane_subnet_pool_addresses", &series), 13.0);
    // 203.0.113.0/24: 254 hosts, the first one kept back; one is taken.
    assert_eq!(m.get("nicplane_public_pool_addresses", &pool_series), 253.0);
    assert_eq!(
        m.get("nicplane_public_pool_free_addresses", &pool_series),
        252.0
    );
    // The primary interface (Default Network) and the two attached.
    assert_eq!(quota(&m, "nicplane_quota_in_use", "port"), 3.0);
    assert_eq!(quota(&m, "nicplane_quota_limit", "port"), 500.0);
    assert_eq!(quota(&m, "nicplane_quota_in_use", "floatingip"), 1.0);
    // The Default Network and app.
    assert_eq!(quota(&m, "nicplane_quota_in_use", "network"), 2.0);
    for kind in ["subnet", "public_pool", "project"] {
        assert_eq!(m.get("nicplane_capacity_omitted", &[("kind", kind)]), 0.0);
    }
    assert_eq!(m.get("nicplane_capacity_up", &[]), 1.0);

    // A limit of the project's own shows, and makes it the project nearest
    // a limit (3 of 4 ports).
    s.admin()
        .quota_set(&t.project, &json!({"port": 4}))
        .unwrap();
    let m = scrape(&s);
    assert_eq!(quota(&m, "nicplane_quota_limit", "port"), 4.0);
    let subnets = m.all("nicplane_subnet_free_addresses").len();
    let projects = m
        .samples
        .iter()
        .filter(|(n, _, _)| n == "nicplane_quota_in_use")
        .map(|(_, l, _)| l["project_id"].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(
        subnets >= 2 && projects >= 2,
        "{subnets} subnets, {projects} projects"
    );

    // With room for one object of each kind, a scrape keeps the fullest:
    // app (2 of 13 addresses) and this project (3 of 4 ports).
    let dir = s.dir.clone();
    s.stop();
    let s = Server::start_in(
        dir,
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--metrics-max-objects",
            "1",
        ],
    );
    let m = scrape(&s);
    let kept: Vec<_> = m
        .all("nicplane_subnet_free_addresses")
        .into_keys()
        .collect();
    assert_eq!(kept, vec![labels(&series)]);
    assert_eq!(
        m.get("nicplane_capacity_omitted", &[("kind", "subnet")]),
        (subnets - 1) as f64
    );
    assert_eq!(
        m.get("nicplane_capacity_omitted", &[("kind", "project")]),
        (projects - 1) as f64
    );
    assert_eq!(quota(&m, "nicplane_quota_in_use", "port"), 3.0);
    assert_eq!(
        m.all("nicplane_quota_in_use")
            .keys()
            .filter(|l| !l.contains(&("project_id".to_string(), t.project.clone())))
            .count(),
        0
    );
}

/// Every line of a log file, each parsed as JSON.
fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("log file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "the log is empty");
    lines
}

#[test]
fn json_logs_have_one_object_per_line_with_each_requests_fields() {
    let dir = temp_dir("jsonlog");
    let log = dir.join("server.log");
    let mut s = Server::start_logging(
        &[],
        &[
            ("NICPLANE_LOG_FORMAT", Some("json")),
            ("NICPLANE_LOG", Some("info")),
        ],
        &log,
    );
    let t = tenant(&s, "logs");
    let user = t.admin.whoami().unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let native = t
        .admin
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/networks", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(native.status, 200);
    let anonymous = s
        .client()
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/networks", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(anonymous.status, 401);
    // Neutron: the project comes from the Keystone token's scope.
    let token = s
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "logs-admin", "domain": {"name": "Default"}, "password": PASSWORD}}},
                "scope": {"project": {"id": t.project}}}})),
            &[],
        )
        .unwrap();
    assert_eq!(token.status, 201, "{:?}", token.body);
    let token = token.header("x-subject-token").unwrap().to_string();
    let neutron = s
        .client()
        .raw(
            Method::GET,
            "/network/v2.0/networks",
            None,
            &[("X-Auth-Token", &token)],
        )
        .unwrap();
    assert_eq!(neutron.status, 200);
    s.stop();

    let lines = json_lines(&log);
    let line_of = |r: &nicplane_client::Response| {
        let id = r.header("x-request-id").expect("x-request-id");
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["request_id"] == id && l["target"] == "nicplane::request")
            .collect();
        assert_eq!(found.len(), 1, "one line for request {id}");
        let mut line = found[0].clone();
        let latency = line["latency_ms"].as_f64().expect("latency_ms is a number");
        assert!(latency >= 0.0);
        assert!(line["timestamp"].is_string());
        assert!(line["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
        for k in ["latency_ms", "timestamp", "peer"] {
            line.as_object_mut().unwrap().remove(k);
        }
        (id.to_string(), line)
    };
    let (id, line) = line_of(&native);
    assert_eq!(
        line,
        json!({"level": "INFO", "target": "nicplane::request", "message": "request",
               "request_id": id, "dialect": "native", "method": "GET",
               "route": "/v1/projects/{project_id}/networks", "status": 200,
               "user": format!("logs-admin ({user})"), "project": t.project})
    );
    let (id, line) = line_of(&anonymous);
    assert_eq!(
        line,
        json!({"level": "INFO", "target": "nicplane::request", "message": "request",
               "request_id": id, "dialect": "native", "method": "GET",
               "route": "/v1/projects/{project_id}/networks", "status": 401,
               "user": "-", "project": t.project})
    );
    let (id, line) = line_of(&neutron);
    assert_eq!(
        line,
        json!({"level": "INFO", "target": "nicplane::request", "message": "request",
               "request_id": id, "dialect": "neutron", "method": "GET",
               "route": "/network/v2.0/networks", "status": 200,
               "user": format!("logs-admin ({user})"), "project": t.project})
    );
}

#[test]
fn the_human_log_format_stays_the_default() {
    let dir = temp_dir("humanlog");
    let log = dir.join("server.log");
    let mut s = Server::start_logging(
        &[],
        &[
            ("NICPLANE_LOG_FORMAT", None),
            ("NICPLANE_LOG", Some("info")),
        ],
        &log,
    );
    let r = s.client().raw(Method::GET, "/healthz", None, &[]).unwrap();
    assert_eq!(r.status, 200);
    s.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    let id = r.header("x-request-id").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("request_id={id}")))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(serde_json::from_str::<Value>(lines[0]).is_err());
    let fields = lines[0]
        .split_once("nicplane::request: request ")
        .expect("the request event")
        .1;
    let fields = fields.split(" latency_ms=").next().unwrap();
    assert_eq!(
        fields,
        format!("request_id={id} dialect=\"native\" method=\"GET\" route=/healthz status=200")
    );
}

#[test]
fn an_unknown_log_format_is_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nicplane"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("NICPLANE_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().next(),
        Some("error: invalid value 'xml' for '--log-format <LOG_FORMAT>'")
    );
}

#[test]
fn connections_refused_over_the_cap_are_counted_per_listener() {
    use std::io::{Read, Write};
    let s = Server::start(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--max-connections",
        "1",
        "--idle-timeout",
        "60",
    ]);
    let addr = s.url.trim_start_matches("http://").to_string();
    // One kept-alive connection holds the main listener's only slot.
    let mut held = std::net::TcpStream::connect(&addr).unwrap();
    held.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    held.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = held.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    for _ in 0..2 {
        let mut refused = std::net::TcpStream::connect(&addr).unwrap();
        refused
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut got = String::new();
        let _ = refused.read_to_string(&mut got);
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    }
    // The metrics listener has slots of its own.
    let m = scrape(&s);
    assert_eq!(
        m.get(
            "nicplane_http_connections_refused_total",
            &[("listener", "main")]
        ),
        2.0
    );
    assert_eq!(
        m.get(
            "nicplane_http_request_timeouts_total",
            &[("listener", "main")]
        ),
        0.0
    );
    assert_eq!(
        m.all("nicplane_http_requests_total"),
        [(request("native", "GET", "/healthz", "200"), 1.0)]
            .into_iter()
            .collect()
    );
    drop(held);
}
