//! Request metrics, the per-request log line, and `GET /metrics`
//! (docs/operations.md, "Metrics" and "Logs").
//!
//! [`track`] runs on every route of every dialect, inside
//! `request_id::middleware` (so it knows the request id and the user the
//! dialect authenticated). It counts the request and its latency by dialect,
//! method, route *template* and status, and logs one `nicplane::request`
//! event with the request id, user and project.
//!
//! Labels are bounded whatever a client sends: the route is the template
//! the router matched (`/v1/projects/{project_id}/vms`, axum's
//! `MatchedPath`), never the path; a path no route matches is `unmatched`;
//! a method outside the standard ones is `other`; the status is one the
//! server chose. The Neutron and Nova dialects route inside a `{*rest}`
//! catch-all: their inner router reports its own template through
//! [`inner_route`], so their requests are labelled as precisely as the
//! others.
//!
//! [`metrics_router`] serves the scrape on the listener `--metrics-listen`
//! names and nowhere else: the main and Huawei listeners have no
//! `/metrics` route (docs/security.md says why). Each scrape builds a
//! registry from the shared request metrics, the store's metrics and the
//! capacity gauges read at that moment (`Service::capacity_report`), and
//! encodes it with `prometheus-client`: the Prometheus text format 0.0.4,
//! or OpenMetrics when the scraper asks for it in `Accept`.

use crate::request_id;
use crate::AppState;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use nicplane_domain::capacity::CapacityReport;
use nicplane_domain::ids::ProjectId;
use nicplane_service::Service;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

/// Target of the per-request log events (`NICPLANE_LOG=nicplane::request=info`).
pub const REQUEST_TARGET: &str = "nicplane::request";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Default of `--metrics-max-objects`: subnets, pools and projects each
/// given their own capacity series on one scrape.
pub const DEFAULT_MAX_OBJECTS: usize = 100;

/// Labels of `nicplane_http_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    dialect: &'static str,
    method: &'static str,
    route: String,
    status: u16,
}

/// Labels of `nicplane_http_request_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    dialect: &'static str,
    method: &'static str,
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Latency buckets: 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Labels of the listener counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

/// The request metrics every listener records into (one set per server).
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    refused: Family<ListenerLabels, Counter>,
    timeouts: Family<ListenerLabels, Counter>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            refused: Family::default(),
            timeouts: Family::default(),
        }
    }
}

impl HttpMetrics {
    /// A listener serves: its counters exist from now on, at 0.
    pub fn listener_started(&self, listener: &'static str) {
        let labels = ListenerLabels { listener };
        let _ = self.refused.get_or_create(&labels);
        let _ = self.timeouts.get_or_create(&labels);
    }

    /// A connection over `--max-connections` was answered 503 and closed.
    pub fn connection_refused(&self, listener: &'static str) {
        self.refused
            .get_or_create(&ListenerLabels { listener })
            .inc();
    }

    /// A request was answered 503 by `--request-timeout` (its handler was
    /// cancelled, so it is in no other request metric).
    pub fn request_timed_out(&self, listener: &'static str) {
        self.timeouts
            .get_or_create(&ListenerLabels { listener })
            .inc();
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_connections_refused",
            "Connections answered 503 and closed because the listener had --max-connections open, by listener",
            self.refused.clone(),
        );
        registry.register(
            "http_request_timeouts",
            "Requests answered 503 after --request-timeout (counted here only), by listener",
            self.timeouts.clone(),
        );
        registry.register(
            "http_requests",
            "Requests answered, by dialect, method, route template and status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from routing a request to its answer, by dialect, method and route template",
            Unit::Seconds,
            self.duration.clone(),
        );
    }
}

/// What [`track`] needs: where to record, and the dialect when a listener
/// serves one only (the Huawei listener).
#[derive(Debug, Clone)]
pub struct Tracker {
    metrics: Arc<HttpMetrics>,
    dialect: Option<&'static str>,
}

impl Tracker {
    /// A tracker of the main listener: the dialect follows from the route.
    pub fn main(metrics: Arc<HttpMetrics>) -> Self {
        Tracker {
            metrics,
            dialect: None,
        }
    }

    /// A tracker of a listener serving one dialect.
    pub fn dialect(metrics: Arc<HttpMetrics>, dialect: &'static str) -> Self {
        Tracker {
            metrics,
            dialect: Some(dialect),
        }
    }
}

/// The dialect a route template of the main listener belongs to.
pub fn dialect_of(route: &str) -> &'static str {
    let first = route
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    match first {
        _ if route == UNMATCHED => "none",
        "v1" | "healthz" | "readyz" => "native",
        "identity" => "keystone",
        "compute" => "nova",
        "network" => "neutron",
        "image" => "glance",
        "" | "console" => "console",
        _ => "none",
    }
}

/// The method label: the standard methods by name, any other `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route template an inner router (Neutron, Nova) matched, with its
/// outer prefix; set on the response by [`inner_route`].
#[derive(Debug, Clone)]
struct InnerRoute(String);

/// Middleware of an inner router mounted under `prefix` through a
/// `{*rest}` catch-all: reports the template it matched to [`track`].
pub fn inner_route(router: Router, prefix: &'static str) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| async move {
            let matched = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| format!("{prefix}{}", m.as_str()));
            let mut resp = next.run(req).await;
            if let Some(route) = matched {
                resp.extensions_mut().insert(InnerRoute(route));
            }
            resp
        },
    ))
}

/// Count, time and log one request (see the module documentation).
pub async fn track(State(t): State<Tracker>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let (mut parts, body) = req.into_parts();
    let path_project = match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(params) => params
            .iter()
            .find(|(k, _)| *k == "project_id")
            .and_then(|(_, v)| v.parse::<ProjectId>().ok()),
        Err(_) => None,
    };
    // The dialect the events of this request's writes name (the Neutron and
    // Nova catch-alls name theirs by their outer prefix).
    let origin = nicplane_service::feed::Origin {
        dialect: t
            .dialect
            .unwrap_or_else(|| dialect_of(matched.as_deref().unwrap_or(UNMATCHED))),
        request_id: request_id::current(),
    };
    let resp =
        nicplane_service::feed::with_origin(origin, next.run(Request::from_parts(parts, body)))
            .await;
    let route = resp
        .extensions()
        .get::<InnerRoute>()
        .map(|r| r.0.clone())
        .or(matched)
        .unwrap_or_else(|| UNMATCHED.to_string());
    let dialect = t.dialect.unwrap_or_else(|| dialect_of(&route));
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    t.metrics
        .requests
        .get_or_create(&RequestLabels {
            dialect,
            method,
            route: route.clone(),
            status,
        })
        .inc();
    t.metrics
        .duration
        .get_or_create(&RouteLabels {
            dialect,
            method,
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let project = request_id::project()
        .or(path_project)
        .map_or_else(|| "-".to_string(), |p| p.to_string());
    tracing::info!(
        target: REQUEST_TARGET,
        request_id = %request_id::current(),
        dialect,
        method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user = %request_id::user(),
        project = %project,
        peer = %request_id::peer(),
        "request"
    );
    resp
}

/// State of the metrics listener.
#[derive(Clone)]
struct Scrape {
    service: Service,
    http: Arc<HttpMetrics>,
    max_objects: usize,
}

/// The metrics listener's routes: `GET /metrics` only; anything else is a
/// plain 404.
pub fn metrics_router(state: AppState, max_objects: usize) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found; try /metrics.\n") })
        .with_state(Scrape {
            service: state.service,
            http: state.metrics,
            max_objects,
        })
}

/// Whether the scraper asked for OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

async fn scrape(State(s): State<Scrape>, headers: HeaderMap) -> Response {
    let mut registry = Registry::with_prefix("nicplane");
    s.http.register(&mut registry);
    s.service.register_store_metrics(&mut registry);
    let capacity = s.service.capacity_report(s.max_objects).await;
    let up = Gauge::<i64>::default();
    match capacity {
        Ok(report) => {
            up.set(1);
            register_capacity(&mut registry, &report);
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the capacity gauges for a scrape"),
    }
    registry.register(
        "capacity_up",
        "1 when this scrape could read the capacity gauges from the store, else 0",
        up,
    );
    let mut text = String::new();
    let (encoded, content_type) = if wants_openmetrics(&headers) {
        (
            prometheus_client::encoding::text::encode(&mut text, &registry),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry),
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )
    };
    if let Err(e) = encoded {
        tracing::error!(error = %e, "cannot encode the metrics");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot encode the metrics.\n",
        )
            .into_response();
    }
    let mut resp = text.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A float gauge (free addresses of an IPv6 subnet exceed any integer gauge).
type FGauge = Gauge<f64, AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubnetLabels {
    subnet_id: String,
    network_id: String,
    /// Empty for a shared network of the cloud admin.
    project_id: String,
    cidr: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
    pool_id: String,
    data_center: String,
    cidr: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    project_id: String,
    resource: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The capacity gauges of one scrape.
fn register_capacity(registry: &mut Registry, r: &CapacityReport) {
    let subnet_free = Family::<SubnetLabels, FGauge>::default();
    let subnet_size = Family::<SubnetLabels, FGauge>::default();
    for s in &r.subnets {
        let labels = SubnetLabels {
            subnet_id: s.subnet_id.to_string(),
            network_id: s.network_id.to_string(),
            project_id: s
                .project_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            cidr: s.cidr.to_string(),
        };
        subnet_free.get_or_create(&labels).set(s.free() as f64);
        subnet_size.get_or_create(&labels).set(s.size as f64);
    }
    registry.register(
        "subnet_free_addresses",
        "Free addresses in a subnet's allocation pools (the fullest subnets only; see nicplane_capacity_omitted)",
        subnet_free,
    );
    registry.register(
        "subnet_pool_addresses",
        "Addresses in a subnet's allocation pools",
        subnet_size,
    );
    let pool_free = Family::<PoolLabels, Gauge>::default();
    let pool_size = Family::<PoolLabels, Gauge>::default();
    for p in &r.pools {
        let labels = PoolLabels {
            pool: p.name.clone(),
            pool_id: p.pool_id.to_string(),
            data_center: p.data_center.clone(),
            cidr: p.cidr.to_string(),
        };
        pool_free
            .get_or_create(&labels)
            .set(i64::try_from(p.free).unwrap_or(i64::MAX));
        pool_size
            .get_or_create(&labels)
            .set(i64::try_from(p.size).unwrap_or(i64::MAX));
    }
    registry.register(
        "public_pool_free_addresses",
        "Addresses of a public IP pool not held by a public IP",
        pool_free,
    );
    registry.register(
        "public_pool_addresses",
        "Addresses a public IP pool hands out",
        pool_size,
    );
    let in_use = Family::<QuotaLabels, Gauge>::default();
    let limit = Family::<QuotaLabels, Gauge>::default();
    for q in &r.quotas {
        let labels = QuotaLabels {
            project_id: q.project_id.to_string(),
            resource: q.resource.as_str(),
        };
        in_use.get_or_create(&labels).set(q.in_use);
        limit.get_or_create(&labels).set(q.limit);
    }
    registry.register(
        "quota_in_use",
        "Objects a project holds of a quota resource (the projects nearest a limit only)",
        in_use,
    );
    registry.register(
        "quota_limit",
        "A project's limit of a quota resource (-1: unlimited)",
        limit,
    );
    let omitted = Family::<KindLabels, Gauge>::default();
    for (kind, n) in [
        ("subnet", r.subnets_omitted),
        ("public_pool", r.pools_omitted),
        ("project", r.projects_omitted),
    ] {
        omitted
            .get_or_create(&KindLabels { kind })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    registry.register(
        "capacity_omitted",
        "Objects left out of this scrape's capacity series (over --metrics-max-objects), by kind",
        omitted,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_prefix_names_its_dialect() {
        for (route, dialect) in [
            ("/v1/projects/{project_id}/vms", "native"),
            ("/healthz", "native"),
            ("/identity/v3/auth/tokens", "keystone"),
            ("/compute/v2.1/servers/{id}", "nova"),
            ("/network/v2.0/ports/{id}", "neutron"),
            ("/image/v2/images", "glance"),
            ("/console/", "console"),
            ("/", "console"),
            (UNMATCHED, "none"),
        ] {
            assert_eq!(dialect_of(route), dialect, "{route}");
        }
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
