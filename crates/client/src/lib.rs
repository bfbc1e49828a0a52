//! A typed, blocking client of nicplane's native API. The CLI uses it, and
//! so do the integration tests, which also use [`Client::raw`] to check
//! exact status codes, error codes and messages.

use nicplane_domain::model::*;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// A failure: an answer in the native error shape, or no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    #[error("cannot reach nicplane: {0}")]
    Transport(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// The machine-readable code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
    /// The human message.
    pub fn message(&self) -> String {
        match self {
            ClientError::Api { message, .. } => message.clone(),
            e => e.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A raw answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer of a login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    pub user: User,
    pub memberships: Vec<Membership>,
}

/// A VM with its interfaces.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmDetail {
    #[serde(flatten)]
    pub vm: Vm,
    pub interfaces: Vec<Interface>,
}

/// A network with its subnets.
/// A project's quota limits and usage (`GET /v1/projects/{id}/quotas`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuotaReport {
    pub project_id: String,
    pub quotas: Vec<nicplane_domain::quota::QuotaUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkDetail {
    #[serde(flatten)]
    pub network: Network,
    pub subnets: Vec<Subnet>,
}

/// A supplementary (VLAN) interface with its parent's VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplementary {
    #[serde(flatten)]
    pub interface: Interface,
    #[serde(default)]
    pub parent_vm_id: Option<String>,
}

/// Supplementary interfaces written together (batch create, migrate).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_marker: Option<String>,
}

/// The client.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: Http,
}

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(base: &str) -> Self {
        let http = Http::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_else(|_| Http::new());
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: None,
            http,
        }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Send a request and return whatever came back.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp
            .text()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let r = self.raw(method, path, body, &[])?;
        if r.status >= 400 {
            let e = &r.body["error"];
            return Err(ClientError::Api {
                status: r.status,
                code: e["code"].as_str().unwrap_or("Unknown").to_string(),
                message: e["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| r.body.to_string()),
                request_id: e["request_id"].as_str().unwrap_or_default().to_string(),
            });
        }
        let body = if r.body.is_null() {
            json!(null)
        } else {
            r.body
        };
        serde_json::from_value(body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None)
    }
    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::POST, path, Some(body))
    }
    pub fn patch<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::PATCH, path, Some(body))
    }
    pub fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::PUT, path, Some(body))
    }
    pub fn delete(&self, path: &str) -> Result<()> {
        self.call::<Value>(Method::DELETE, path, None).map(|_| ())
    }

    // ----- typed calls ------------------------------------------------------

    /// `auth_login`: log in and keep the token.
    pub fn login(&mut self, user: &str, password: &str) -> Result<Login> {
        let l: Login = self.post(
            "/v1/auth/login",
            &json!({"username": user, "password": password}),
        )?;
        self.token = Some(l.token.clone());
        Ok(l)
    }
    pub fn logout(&self) -> Result<()> {
        self.call::<Value>(Method::POST, "/v1/auth/logout", None)
            .map(|_| ())
    }
    pub fn whoami(&self) -> Result<Value> {
        self.get("/v1/auth/whoami")
    }
    /// `host_list` (cloud admin).
    pub fn hosts(&self) -> Result<Vec<HostLoad>> {
        self.get("/v1/hosts")
    }
    /// `host_create` (cloud admin): the host and its agent credential.
    pub fn host_create(&self, name: &str, data_center_id: &str) -> Result<Value> {
        self.post(
            "/v1/hosts",
            &json!({"name": name, "data_center_id": data_center_id}),
        )
    }
    pub fn data_centers(&self) -> Result<Vec<DataCenter>> {
        self.get("/v1/data-centers")
    }
    pub fn data_center_create(&self, name: &str) -> Result<DataCenter> {
        self.post("/v1/data-centers", &json!({"name": name}))
    }
    pub fn pools(&self) -> Result<Vec<PublicIpPool>> {
        self.get("/v1/public-ip-pools")
    }
    pub fn pool_create(&self, name: &str, dc: &str, cidr: &str) -> Result<PublicIpPool> {
        self.post(
            "/v1/public-ip-pools",
            &json!({"name": name, "data_center_id": dc, "cidr": cidr}),
        )
    }
    /// `pool_create` in an external network (its data center's).
    pub fn pool_create_in(&self, name: &str, network: &str, cidr: &str) -> Result<PublicIpPool> {
        self.post(
            "/v1/public-ip-pools",
            &json!({"name": name, "external_network_id": network, "cidr": cidr}),
        )
    }
    /// `pool_delete` (cloud admin).
    pub fn pool_delete(&self, id: &str) -> Result<()> {
        self.delete(&format!("/v1/public-ip-pools/{id}"))
    }
    /// `external_network_list`: every external network.
    pub fn external_networks(&self) -> Result<Vec<ExternalNetwork>> {
        self.get("/v1/external-networks")
    }
    /// `external_network_get`.
    pub fn external_network(&self, id: &str) -> Result<ExternalNetwork> {
        self.get(&format!("/v1/external-networks/{id}"))
    }
    /// `external_network_create` (cloud admin).
    pub fn external_network_create(&self, name: &str, dc: &str) -> Result<ExternalNetwork> {
        self.post(
            "/v1/external-networks",
            &json!({"name": name, "data_center_id": dc}),
        )
    }
    /// `external_network_delete` (cloud admin).
    pub fn external_network_delete(&self, id: &str) -> Result<()> {
        self.delete(&format!("/v1/external-networks/{id}"))
    }
    pub fn projects(&self) -> Result<Vec<Project>> {
        self.get("/v1/projects")
    }
    pub fn project_create(&self, name: &str) -> Result<Project> {
        self.post("/v1/projects", &json!({"name": name}))
    }
    /// `project_delete` (cloud admin): refused while the project holds more
    /// than its Default Networks and default security group.
    pub fn project_delete(&self, id: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{id}"))
    }
    pub fn users(&self) -> Result<Vec<User>> {
        self.get("/v1/users")
    }
    pub fn user_create(&self, name: &str, password: &str) -> Result<User> {
        self.post("/v1/users", &json!({"name": name, "password": password}))
    }
    /// `user_update`: enable or disable a user (cloud admin).
    pub fn user_set_enabled(&self, user: &str, enabled: bool) -> Result<User> {
        self.patch(&format!("/v1/users/{user}"), &json!({"enabled": enabled}))
    }
    /// `user_delete` (cloud admin).
    pub fn user_delete(&self, user: &str) -> Result<()> {
        self.delete(&format!("/v1/users/{user}"))
    }
    /// `user_password_change`: the cloud admin's reset (no `original`) or
    /// a user's own change (with `original`).
    pub fn user_set_password(
        &self,
        user: &str,
        password: &str,
        original: Option<&str>,
    ) -> Result<()> {
        let mut body = json!({"password": password});
        if let Some(o) = original {
            body["original_password"] = json!(o);
        }
        self.call::<Value>(
            Method::POST,
            &format!("/v1/users/{user}/password"),
            Some(&body),
        )
        .map(|_| ())
    }
    /// `auth_password_change`: change your own password.
    pub fn password_change(&self, original: &str, password: &str) -> Result<()> {
        self.call::<Value>(
            Method::POST,
            "/v1/auth/password",
            Some(&json!({"original_password": original, "password": password})),
        )
        .map(|_| ())
    }
    pub fn member_set(&self, project: &str, user: &str, role: &str) -> Result<Membership> {
        self.put(
            &format!("/v1/projects/{project}/members/{user}"),
            &json!({"role": role}),
        )
    }
    /// The project's quota limits and usage (`quota_show`).
    pub fn quota_show(&self, project: &str) -> Result<QuotaReport> {
        self.get(&format!("/v1/projects/{project}/quotas"))
    }
    /// Set some of the project's limits, e.g. `{"port": 10}` (cloud admin).
    pub fn quota_set(&self, project: &str, limits: &Value) -> Result<QuotaReport> {
        self.put(&format!("/v1/projects/{project}/quotas"), limits)
    }
    /// Put the project's limits back to the defaults (cloud admin).
    /// `GET /v1/events`: the change feed after `after`; with `wait`, a long
    /// poll of up to that many seconds (keep it under the client's 60 s
    /// request timeout).
    pub fn events(
        &self,
        after: u64,
        limit: Option<u32>,
        wait: Option<u64>,
        project: Option<&str>,
    ) -> Result<nicplane_domain::feed::EventPage> {
        let mut path = format!("/v1/events?after={after}");
        if let Some(l) = limit {
            path.push_str(&format!("&limit={l}"));
        }
        if let Some(w) = wait {
            path.push_str(&format!("&wait={w}"));
        }
        if let Some(p) = project {
            path.push_str(&format!("&project_id={p}"));
        }
        self.get(&path)
    }
    pub fn quota_reset(&self, project: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/quotas"))
    }
    pub fn members(&self, project: &str) -> Result<Vec<Membership>> {
        self.get(&format!("/v1/projects/{project}/members"))
    }
    pub fn networks(&self, project: &str) -> Result<Vec<NetworkDetail>> {
        self.all(&format!("/v1/projects/{project}/networks"))
    }
    pub fn network_create(&self, project: &str, body: &Value) -> Result<NetworkDetail> {
        self.post(&format!("/v1/projects/{project}/networks"), body)
    }
    pub fn network_delete(&self, project: &str, id: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/networks/{id}"))
    }
    pub fn routers(&self, project: &str) -> Result<Vec<Router>> {
        self.all(&format!("/v1/projects/{project}/routers"))
    }
    pub fn router(&self, project: &str, id: &str) -> Result<Router> {
        self.get(&format!("/v1/projects/{project}/routers/{id}"))
    }
    /// Create a router: `{"name", "data_center_id", "gateway"?}`.
    pub fn router_create(&self, project: &str, body: &Value) -> Result<Router> {
        self.post(&format!("/v1/projects/{project}/routers"), body)
    }
    pub fn router_delete(&self, project: &str, id: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/routers/{id}"))
    }
    /// Set the gateway: `{"enable_snat"?, "external_fixed_ips"?}`.
    pub fn router_set_gateway(&self, project: &str, id: &str, body: &Value) -> Result<Router> {
        self.put(
            &format!("/v1/projects/{project}/routers/{id}/gateway"),
            body,
        )
    }
    pub fn router_clear_gateway(&self, project: &str, id: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/routers/{id}/gateway"))
    }
    /// Add an interface: `{"subnet_id"}` or `{"port_id"}`.
    pub fn router_add_interface(&self, project: &str, id: &str, body: &Value) -> Result<Router> {
        self.post(
            &format!("/v1/projects/{project}/routers/{id}/interfaces"),
            body,
        )
    }
    /// Remove an interface by its port (the port is deleted).
    pub fn router_remove_interface(&self, project: &str, id: &str, port: &str) -> Result<()> {
        self.delete(&format!(
            "/v1/projects/{project}/routers/{id}/interfaces/{port}"
        ))
    }
    pub fn subnet_create(&self, project: &str, network: &str, body: &Value) -> Result<Subnet> {
        self.post(
            &format!("/v1/projects/{project}/networks/{network}/subnets"),
            body,
        )
    }
    pub fn subnet_update(&self, project: &str, id: &str, body: &Value) -> Result<Subnet> {
        self.patch(&format!("/v1/projects/{project}/subnets/{id}"), body)
    }
    pub fn subnet_delete(&self, project: &str, id: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/subnets/{id}"))
    }
    pub fn security_groups(&self, project: &str) -> Result<Vec<SecurityGroup>> {
        self.get(&format!("/v1/projects/{project}/security-groups"))
    }
    pub fn vms(&self, project: &str) -> Result<Vec<VmDetail>> {
        self.all(&format!("/v1/projects/{project}/vms"))
    }
    pub fn vm(&self, project: &str, vm: &str) -> Result<VmDetail> {
        self.get(&format!("/v1/projects/{project}/vms/{vm}"))
    }
    pub fn vm_create(
        &self,
        project: &str,
        name: &str,
        dc: &str,
        os: &str,
        running: bool,
    ) -> Result<VmDetail> {
        self.post(
            &format!("/v1/projects/{project}/vms"),
            &json!({"name": name, "data_center_id": dc, "os_type": os,
                    "power_state": if running { "running" } else { "stopped" }}),
        )
    }
    pub fn vm_start(&self, project: &str, vm: &str) -> Result<VmDetail> {
        self.post(
            &format!("/v1/projects/{project}/vms/{vm}/start"),
            &json!({}),
        )
    }
    pub fn vm_stop(&self, project: &str, vm: &str) -> Result<VmDetail> {
        self.post(&format!("/v1/projects/{project}/vms/{vm}/stop"), &json!({}))
    }
    pub fn vm_delete(&self, project: &str, vm: &str) -> Result<()> {
        self.delete(&format!("/v1/projects/{project}/vms/{vm}"))
    }
    /// `interface_attach` of a new interface on a network (optionally at a fixed IP).
    pub fn interface_attach(
        &self,
        project: &str,
        vm: &str,
        network: &str,
        fixed_ip: Option<&str>,
    ) -> Result<Interface> {
        let mut body = json!({"network_id": network});
        if let Some(ip) = fixed_ip {
            body["fixed_ips"] = json!([{"ip_address": ip}]);
        }
        self.post(
            &format!("/v1/projects/{project}/vms/{vm}/interfaces"),
            &body,
        )
    }
    pub fn interface_detach(&self, project: &str, vm: &str, iface: &str) -> Result<()> {
        self.delete(&format!(
            "/v1/projects/{project}/vms/{vm}/interfaces/{iface}"
        ))
    }
    pub fn interfaces(&self, project: &str, query: &str) -> Result<Vec<Interface>> {
        self.all(&format!("/v1/projects/{project}/interfaces?{query}"))
    }
    pub fn public_ip_allocate(&self, project: &str, iface: &str) -> Result<PublicIp> {
        self.post(
            &format!("/v1/projects/{project}/interfaces/{iface}/public-ip"),
            &json!({}),
        )
    }
    /// `public_ip_allocate_on_interface` from a chosen external network.
    pub fn public_ip_allocate_from(
        &self,
        project: &str,
        iface: &str,
        network: &str,
    ) -> Result<PublicIp> {
        self.post(
            &format!("/v1/projects/{project}/interfaces/{iface}/public-ip"),
            &json!({"external_network_id": network}),
        )
    }
    pub fn public_ip_release(&self, project: &str, iface: &str) -> Result<()> {
        self.delete(&format!(
            "/v1/projects/{project}/interfaces/{iface}/public-ip"
        ))
    }
    pub fn public_ips(&self, project: &str) -> Result<Vec<PublicIp>> {
        self.all(&format!("/v1/projects/{project}/public-ips"))
    }
    /// `supplementary_list`: the supplementary interfaces of a parent.
    pub fn supplementary_list(&self, project: &str, parent: &str) -> Result<Vec<Supplementary>> {
        self.all(&format!(
            "/v1/projects/{project}/interfaces/{parent}/supplementary-interfaces"
        ))
    }
    /// `supplementary_batch_create`: `count` interfaces on `parent` made
    /// from `spec` (a `SupplementarySpec`), all or none.
    pub fn supplementary_batch_create(
        &self,
        project: &str,
        parent: &str,
        count: u32,
        spec: &Value,
    ) -> Result<Vec<Supplementary>> {
        let r: Items<Supplementary> = self.post(
            &format!("/v1/projects/{project}/interfaces/{parent}/supplementary-interfaces/batch"),
            &json!({"count": count, "interface": spec}),
        )?;
        Ok(r.items)
    }
    /// `supplementary_migrate`: move `ids` to `parent`, all or none.
    pub fn supplementary_migrate(
        &self,
        project: &str,
        parent: &str,
        ids: &[&str],
    ) -> Result<Vec<Supplementary>> {
        let r: Items<Supplementary> = self.post(
            &format!("/v1/projects/{project}/interfaces/{parent}/supplementary-interfaces/migrate"),
            &json!({ "ids": ids }),
        )?;
        Ok(r.items)
    }
    /// `supplementary_tag_set`: add a tag or change its value.
    pub fn supplementary_tag_set(
        &self,
        project: &str,
        id: &str,
        key: &str,
        value: &str,
    ) -> Result<Supplementary> {
        self.put(
            &format!("/v1/projects/{project}/supplementary-interfaces/{id}/tags/{key}"),
            &json!({ "value": value }),
        )
    }
    /// `supplementary_tag_delete`.
    pub fn supplementary_tag_delete(&self, project: &str, id: &str, key: &str) -> Result<()> {
        self.delete(&format!(
            "/v1/projects/{project}/supplementary-interfaces/{id}/tags/{key}"
        ))
    }
    /// `supplementary_tag_summary`: every tag key in use with its values.
    pub fn supplementary_tag_summary(
        &self,
        project: &str,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        self.get(&format!(
            "/v1/projects/{project}/supplementary-interface-tags"
        ))
    }

    /// Follow `next_marker` through every page of a list.
    pub fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let url = match &marker {
                Some(m) => format!("{path}{sep}limit=1000&marker={m}"),
                None => format!("{path}{sep}limit=1000"),
            };
            let page: Page<T> = self.get(&url)?;
            out.extend(page.items);
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(out),
            }
        }
    }
}
