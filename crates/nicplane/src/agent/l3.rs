//! The agent's L3 part: routers, the external namespace and public IPs
//! (issue 13; docs/dataplane.md draws it).
//!
//! - A router (real, or the implicit router of a project and data center)
//!   is a namespace `<prefix>-r-<router id, 8 hex>` with IPv4 and IPv6
//!   forwarding on (inside it only). Its link to a network is `qr-<network
//!   id, 8 hex>` holding the router's addresses there (the subnets'
//!   gateways), a veth whose fabric end `<prefix>-q-<8 hex>` sits on the
//!   network's bridge. Its link to an external network is `qg-<external
//!   network id, 8 hex>` with the gateway addresses and every public IP it
//!   maps as a /32 (so the router answers ARP for them on that link, with no
//!   proxy ARP), fabric end `<prefix>-g-<8 hex>` on the external bridge.
//! - An external network is a bridge `<prefix>-bx-<id, 8 hex>` in the fabric
//!   namespace, and the *external* namespace `<prefix>-ext` stands in for the
//!   provider network: one link `x-<id, 8 hex>` per external network with
//!   each pool's gateway address (the pool's first host, which nicplane never
//!   hands out). Nothing is connected to a host interface.
//! - A public IP is 1:1 NAT in an nftables table `inet nicplane` of the
//!   router namespace: DNAT of the public address to the fixed IP, SNAT of
//!   the fixed IP to the public address when leaving through `qg-*`. A
//!   router with a gateway and `enable_snat` also SNATs its other IPv4
//!   subnets to its first gateway address; the implicit router forwards
//!   between no two of its networks (`rules::router_joins_networks`).
//!
//! Fabric-end names are `<prefix>-q-`/`<prefix>-g-` plus 8 hex digits of a
//! hash of (router, network): a 15-character name has no room for two ids.
//! Reconciling is idempotent like the rest of the agent: every change is
//! one counted command, a host that did not drift gets none, and objects
//! with these prefixes that are no longer desired are removed. Each nftables
//! rule carries a comment that is a hash of its text, so the agent compares
//! the rules it wants with the comments it reads and replaces the whole
//! table (one atomic `nft -f`) only when they differ.

use super::{links_of, short, Ip, Link, Names};
use anyhow::{bail, Context, Result};
use nicplane_domain::ids::{ExternalNetworkId, NetworkId, RouterId};
use nicplane_service::host::{DesiredExternalNetwork, DesiredRouter, DesiredState};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

/// The nftables table the agent owns in each router namespace.
const TABLE: &str = "nicplane";

/// The L3 part of a host's desired state, merged over the pages.
#[derive(Debug, Default, Clone)]
pub struct L3 {
    pub routers: BTreeMap<RouterId, DesiredRouter>,
    pub external: BTreeMap<ExternalNetworkId, DesiredExternalNetwork>,
}

impl L3 {
    /// Add a page: a router on several pages has the union of their links
    /// and public IPs (each page lists the links of its own networks).
    pub fn merge(&mut self, page: &DesiredState) {
        for r in &page.routers {
            match self.routers.get_mut(&r.id) {
                None => {
                    self.routers.insert(r.id, r.clone());
                }
                Some(have) => {
                    for l in &r.links {
                        if !have.links.iter().any(|h| h.network_id == l.network_id) {
                            have.links.push(l.clone());
                        }
                    }
                    for p in &r.public_ips {
                        if !have.public_ips.contains(p) {
                            have.public_ips.push(p.clone());
                        }
                    }
                    if have.default_route.is_none() {
                        have.default_route = r.default_route.clone();
                    }
                }
            }
        }
        for e in &page.external_networks {
            self.external.entry(e.id).or_insert_with(|| e.clone());
        }
    }
}

/// FNV-1a (32 bits) of two ids: 8 hex digits naming a fabric end.
fn pair(a: &impl ToString, b: &impl ToString) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for byte in format!("{}/{}", a.to_string(), b.to_string()).bytes() {
        h ^= u32::from(byte);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

impl Names {
    fn router_ns(&self, id: &RouterId) -> String {
        format!("{}-r-{}", self.prefix, short(id))
    }
    fn router_ns_prefix(&self) -> String {
        format!("{}-r-", self.prefix)
    }
    fn ext_ns(&self) -> String {
        format!("{}-ext", self.prefix)
    }
    fn ext_bridge(&self, id: &ExternalNetworkId) -> String {
        format!("{}-bx-{}", self.prefix, short(id))
    }
    fn ext_bridge_prefix(&self) -> String {
        format!("{}-bx-", self.prefix)
    }
    /// The fabric end of the external namespace's link.
    fn ext_end(&self, id: &ExternalNetworkId) -> String {
        format!("{}-x-{}", self.prefix, short(id))
    }
    /// The fabric end of a router's link to a network.
    fn router_end(&self, r: &RouterId, net: &NetworkId) -> String {
        format!("{}-q-{}", self.prefix, pair(r, net))
    }
    /// The fabric end of a router's link to an external network.
    fn gateway_end(&self, r: &RouterId, ext: &ExternalNetworkId) -> String {
        format!("{}-g-{}", self.prefix, pair(r, ext))
    }
    fn l3_end_prefixes(&self) -> [String; 3] {
        ["q", "g", "x"].map(|k| format!("{}-{k}-", self.prefix))
    }
}

/// The link names inside a router or the external namespace.
fn qr(net: &NetworkId) -> String {
    format!("qr-{}", short(net))
}
fn qg(ext: &ExternalNetworkId) -> String {
    format!("qg-{}", short(ext))
}
fn xl(ext: &ExternalNetworkId) -> String {
    format!("x-{}", short(ext))
}

/// Make routers, the external namespace and the external bridges match
/// `l3`; `existing` are the namespaces at the start of the pass.
pub(super) fn reconcile(
    ip: &mut Ip,
    names: &Names,
    existing: &BTreeSet<String>,
    l3: &L3,
) -> Result<()> {
    let fabric = names.fabric();
    let fab = links_of(&ip.read(&["-n", &fabric, "-details", "addr", "show"])?);
    let ext_bridges: BTreeSet<String> = l3.external.keys().map(|e| names.ext_bridge(e)).collect();
    for b in &ext_bridges {
        bridge(ip, &fabric, &fab, b)?;
    }
    let mut ends = BTreeSet::new();
    let ext_ns = names.ext_ns();
    if l3.external.is_empty() {
        if existing.contains(&ext_ns) {
            ip.change(&["netns", "del", &ext_ns])?;
        }
    } else {
        if !existing.contains(&ext_ns) {
            ip.change(&["netns", "add", &ext_ns])?;
            ip.change(&["-n", &ext_ns, "link", "set", "lo", "up"])?;
        }
        let have = links_of(&ip.read(&["-n", &ext_ns, "-details", "addr", "show"])?);
        let want: BTreeSet<String> = l3.external.keys().map(xl).collect();
        for name in have.keys() {
            if name != "lo" && !want.contains(name) {
                ip.change(&["-n", &ext_ns, "link", "del", name])?;
            }
        }
        for e in l3.external.values() {
            let end = names.ext_end(&e.id);
            ends.insert(end.clone());
            let addrs = e
                .pools
                .iter()
                .map(|p| format!("{}/{}", p.gateway_ip, p.cidr.prefix_len()))
                .collect();
            let v = Veth {
                outer: &end,
                ns: &ext_ns,
                inner: &xl(&e.id),
                mac: None,
                bridge: &names.ext_bridge(&e.id),
                addrs: &addrs,
            };
            veth(ip, &fabric, &fab, &have, &v)?;
        }
    }
    // Routers.
    let wanted: BTreeSet<String> = l3.routers.keys().map(|r| names.router_ns(r)).collect();
    for ns in existing {
        if ns.starts_with(&names.router_ns_prefix()) && !wanted.contains(ns) {
            ip.change(&["netns", "del", ns])?;
        }
    }
    for r in l3.routers.values() {
        for l in &r.links {
            ends.insert(names.router_end(&r.id, &l.network_id));
        }
        for e in external_ids(r, l3) {
            ends.insert(names.gateway_end(&r.id, &e));
        }
        if let Err(e) = router(ip, names, &fabric, &fab, existing, r, l3) {
            eprintln!("agent: router {}: {e:#}", r.id);
        }
    }
    // Fabric ends and external bridges no longer desired (a namespace
    // deleted above may still be taking its veths: such a delete may fail,
    // harmlessly).
    let end_prefixes = names.l3_end_prefixes();
    for name in fab.keys() {
        let stale_end = end_prefixes.iter().any(|p| name.starts_with(p)) && !ends.contains(name);
        let stale_br = name.starts_with(&names.ext_bridge_prefix()) && !ext_bridges.contains(name);
        if stale_end || stale_br {
            if let Err(e) = ip.change(&["-n", &fabric, "link", "del", name]) {
                eprintln!("agent: {e:#}");
            }
        }
    }
    Ok(())
}

/// A bridge of the fabric, up.
fn bridge(ip: &mut Ip, fabric: &str, fab: &BTreeMap<String, Link>, b: &str) -> Result<()> {
    match fab.get(b) {
        None => {
            ip.change(&[
                "-n",
                fabric,
                "link",
                "add",
                b,
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ])?;
            ip.change(&["-n", fabric, "link", "set", b, "up"])
        }
        Some(l) if !l.up => ip.change(&["-n", fabric, "link", "set", b, "up"]),
        Some(_) => Ok(()),
    }
}

/// The external networks a router has a link to (those the host knows).
fn external_ids(r: &DesiredRouter, l3: &L3) -> BTreeSet<ExternalNetworkId> {
    r.gateway
        .iter()
        .map(|g| g.external_network_id)
        .chain(r.public_ips.iter().map(|p| p.external_network_id))
        .filter(|e| l3.external.contains_key(e))
        .collect()
}

/// A veth pair wanted: `outer` in the fabric on `bridge`, `inner` in `ns`,
/// up, with exactly `addrs` (and `mac` when given).
struct Veth<'a> {
    outer: &'a str,
    ns: &'a str,
    inner: &'a str,
    mac: Option<&'a str>,
    bridge: &'a str,
    addrs: &'a BTreeSet<String>,
}

fn veth(
    ip: &mut Ip,
    fabric: &str,
    fab: &BTreeMap<String, Link>,
    have: &BTreeMap<String, Link>,
    v: &Veth<'_>,
) -> Result<()> {
    let empty = Link::default();
    let paired = have.contains_key(v.inner) && fab.contains_key(v.outer);
    let (inner, outer) = if paired {
        (&have[v.inner], fab.get(v.outer))
    } else {
        // Half a pair (or none): start over.
        if have.contains_key(v.inner) {
            ip.change(&["-n", v.ns, "link", "del", v.inner])?;
        }
        if fab.contains_key(v.outer) {
            ip.change(&["-n", fabric, "link", "del", v.outer])?;
        }
        let mut args = vec![
            "-n", fabric, "link", "add", v.outer, "type", "veth", "peer", "name", v.inner, "netns",
            v.ns,
        ];
        if let Some(m) = v.mac {
            args.extend(["address", m]);
        }
        ip.change(&args)?;
        (&empty, None)
    };
    if let (true, Some(m)) = (paired, v.mac) {
        if inner.mac != m {
            ip.change(&["-n", v.ns, "link", "set", v.inner, "address", m])?;
        }
    }
    if outer.map(|l| l.master.as_str()) != Some(v.bridge) {
        ip.change(&["-n", fabric, "link", "set", v.outer, "master", v.bridge])?;
    }
    if outer.map(|l| l.up) != Some(true) {
        ip.change(&["-n", fabric, "link", "set", v.outer, "up"])?;
    }
    if !inner.up {
        ip.change(&["-n", v.ns, "link", "set", v.inner, "up"])?;
    }
    for a in inner.addrs.difference(v.addrs) {
        ip.change(&["-n", v.ns, "addr", "del", a, "dev", v.inner])?;
    }
    for a in v.addrs.difference(&inner.addrs) {
        if a.contains(':') {
            ip.change(&["-n", v.ns, "addr", "add", a, "dev", v.inner, "nodad"])?;
        } else {
            ip.change(&["-n", v.ns, "addr", "add", a, "dev", v.inner])?;
        }
    }
    Ok(())
}

/// A link a router should have: its name inside the router, its fabric
/// end, MAC (none: the kernel's), bridge and addresses.
struct RouterLink {
    inner: String,
    outer: String,
    mac: Option<String>,
    bridge: String,
    addrs: BTreeSet<String>,
}

/// One router's namespace, links, routes and NAT.
fn router(
    ip: &mut Ip,
    names: &Names,
    fabric: &str,
    fab: &BTreeMap<String, Link>,
    existing: &BTreeSet<String>,
    r: &DesiredRouter,
    l3: &L3,
) -> Result<()> {
    let ns = names.router_ns(&r.id);
    if !existing.contains(&ns) {
        ip.change(&["netns", "add", &ns])?;
        ip.change(&["-n", &ns, "link", "set", "lo", "up"])?;
    }
    forwarding(ip, &ns)?;
    let have = links_of(&ip.read(&["-n", &ns, "-details", "addr", "show"])?);
    let mut want: Vec<RouterLink> = Vec::new();
    for l in &r.links {
        let addrs = l
            .addresses
            .iter()
            .map(|a| format!("{}/{}", a.ip_address, a.prefix_len))
            .collect();
        want.push(RouterLink {
            inner: qr(&l.network_id),
            outer: names.router_end(&r.id, &l.network_id),
            mac: l.mac_address.map(|m| m.to_string().to_lowercase()),
            bridge: names.bridge(&l.network_id),
            addrs,
        });
    }
    let exts = external_ids(r, l3);
    for e in &exts {
        let mut addrs: BTreeSet<String> = r
            .gateway
            .iter()
            .filter(|g| g.external_network_id == *e)
            .flat_map(|g| g.addresses.iter())
            .map(|a| format!("{}/{}", a.ip_address, a.prefix_len))
            .collect();
        for p in r.public_ips.iter().filter(|p| p.external_network_id == *e) {
            addrs.insert(format!("{}/32", p.address));
        }
        want.push(RouterLink {
            inner: qg(e),
            outer: names.gateway_end(&r.id, e),
            mac: None,
            bridge: names.ext_bridge(e),
            addrs,
        });
    }
    let names_wanted: BTreeSet<&str> = want.iter().map(|w| w.inner.as_str()).collect();
    for name in have.keys() {
        if name != "lo" && !names_wanted.contains(name.as_str()) {
            ip.change(&["-n", &ns, "link", "del", name])?;
        }
    }
    for w in &want {
        let v = Veth {
            outer: &w.outer,
            ns: &ns,
            inner: &w.inner,
            mac: w.mac.as_deref(),
            bridge: &w.bridge,
            addrs: &w.addrs,
        };
        veth(ip, fabric, fab, &have, &v)?;
    }
    routes(ip, &ns, r, &exts, l3)?;
    nat(ip, &ns, r, &exts)
}

/// IPv4 and IPv6 forwarding on, in the router's namespace only.
fn forwarding(ip: &mut Ip, ns: &str) -> Result<()> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-n"])
        .args(["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"])
        .output()
        .context("cannot run sysctl in the router namespace")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && text.split_whitespace().eq(["1", "1"]) {
        return Ok(());
    }
    ip.sysctl(ns, "net.ipv4.ip_forward=1")?;
    ip.sysctl(ns, "net.ipv6.conf.all.forwarding=1")
}

/// The router's IPv4 routes on its external links: each pool of an external
/// network that no gateway address already makes connected (public IPs are
/// /32s), and the default route.
fn routes(
    ip: &mut Ip,
    ns: &str,
    r: &DesiredRouter,
    exts: &BTreeSet<ExternalNetworkId>,
    l3: &L3,
) -> Result<()> {
    // (destination as `ip -json route` shows it, next hop, device)
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    for e in exts {
        let connected: Vec<ipnet::IpNet> = r
            .gateway
            .iter()
            .filter(|g| g.external_network_id == *e)
            .flat_map(|g| g.addresses.iter())
            .filter_map(|a| ipnet::IpNet::new(a.ip_address, a.prefix_len).ok())
            .map(|n| n.trunc())
            .collect();
        for p in &l3.external[e].pools {
            if !connected.contains(&p.cidr.trunc()) {
                let dst = if p.cidr.prefix_len() == p.cidr.max_prefix_len() {
                    p.cidr.addr().to_string()
                } else {
                    p.cidr.trunc().to_string()
                };
                want.insert((dst, String::new(), qg(e)));
            }
        }
    }
    if let Some(d) = &r.default_route {
        if exts.contains(&d.external_network_id) && d.next_hop.is_ipv4() {
            want.insert((
                "default".into(),
                d.next_hop.to_string(),
                qg(&d.external_network_id),
            ));
        }
    }
    let current: BTreeSet<(String, String, String)> = ip
        .read(&["-n", ns, "-4", "route", "show"])?
        .iter()
        .filter(|v| v["protocol"] != "kernel")
        .filter_map(|v| {
            Some((
                v["dst"].as_str()?.to_string(),
                v["gateway"].as_str().unwrap_or_default().to_string(),
                v["dev"].as_str()?.to_string(),
            ))
        })
        .collect();
    for (dst, _, dev) in current.difference(&want) {
        ip.change(&["-n", ns, "-4", "route", "del", dst, "dev", dev])?;
    }
    for (dst, via, dev) in want.difference(&current) {
        if via.is_empty() {
            ip.change(&[
                "-n", ns, "-4", "route", "replace", dst, "dev", dev, "scope", "link",
            ])?;
        } else {
            ip.change(&[
                "-n", ns, "-4", "route", "replace", dst, "via", via, "dev", dev, "onlink",
            ])?;
        }
    }
    Ok(())
}

/// The rules of the router's table, by chain.
fn rules(r: &DesiredRouter, exts: &BTreeSet<ExternalNetworkId>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for p in r
        .public_ips
        .iter()
        .filter(|p| exts.contains(&p.external_network_id))
    {
        out.push((
            "pre",
            format!("ip daddr {} dnat ip to {}", p.address, p.fixed_ip),
        ));
    }
    for p in r
        .public_ips
        .iter()
        .filter(|p| exts.contains(&p.external_network_id))
    {
        out.push((
            "post",
            format!(
                "oifname \"{}\" ip saddr {} snat ip to {}",
                qg(&p.external_network_id),
                p.fixed_ip,
                p.address
            ),
        ));
    }
    if let Some(g) = r.gateway.as_ref().filter(|g| g.enable_snat) {
        let source = g.addresses.iter().find(|a| a.ip_address.is_ipv4());
        let inside: BTreeSet<String> = r
            .links
            .iter()
            .flat_map(|l| l.addresses.iter())
            .filter(|a| a.ip_address.is_ipv4())
            .filter_map(|a| ipnet::IpNet::new(a.ip_address, a.prefix_len).ok())
            .map(|n| n.trunc().to_string())
            .collect();
        if let (Some(s), false, true) = (
            source,
            inside.is_empty(),
            exts.contains(&g.external_network_id),
        ) {
            let set = inside.into_iter().collect::<Vec<_>>().join(", ");
            out.push((
                "post",
                format!(
                    "oifname \"{}\" ip saddr {{ {set} }} snat ip to {}",
                    qg(&g.external_network_id),
                    s.ip_address
                ),
            ));
        }
    }
    if !r.joins_networks {
        out.push(("between", "iifname \"qr-*\" oifname \"qr-*\" drop".into()));
    }
    out
}

/// The comment that names a rule: a hash of its chain and text.
fn tag(chain: &str, rule: &str) -> String {
    format!("np-{}", pair(&chain, &rule))
}

const CHAINS: [(&str, &str); 3] = [
    (
        "pre",
        "type nat hook prerouting priority dstnat; policy accept;",
    ),
    (
        "post",
        "type nat hook postrouting priority srcnat; policy accept;",
    ),
    (
        "between",
        "type filter hook forward priority filter; policy accept;",
    ),
];

/// The router's nftables table: replaced whole when its rules differ.
fn nat(ip: &mut Ip, ns: &str, r: &DesiredRouter, exts: &BTreeSet<ExternalNetworkId>) -> Result<()> {
    let rules = rules(r, exts);
    let want: BTreeSet<(String, String)> = CHAINS
        .iter()
        .map(|(c, _)| (c.to_string(), String::new()))
        .chain(rules.iter().map(|(c, rule)| (c.to_string(), tag(c, rule))))
        .collect();
    if current_table(ns)? == want {
        return Ok(());
    }
    let mut script =
        format!("table inet {TABLE} {{}}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n");
    for (chain, head) in CHAINS {
        script.push_str(&format!("  chain {chain} {{\n    {head}\n"));
        for (c, rule) in rules.iter().filter(|(c, _)| *c == chain) {
            script.push_str(&format!("    {rule} comment \"{}\"\n", tag(c, rule)));
        }
        script.push_str("  }\n");
    }
    script.push_str("}\n");
    let line = format!(
        "ip netns exec {ns} nft -f - (table inet {TABLE}, {} rules)",
        rules.len()
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run nft (install nftables)")?;
    child
        .stdin
        .take()
        .context("nft stdin")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{line}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    eprintln!("agent: {line}");
    ip.changes.push(line);
    Ok(())
}

/// The chains (with an empty tag) and rule tags of the router's table; empty
/// when there is no table.
fn current_table(ns: &str) -> Result<BTreeSet<(String, String)>> {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "nft", "-j", "list", "table", "inet", TABLE,
        ])
        .output()
        .context("cannot run nft (install nftables)")?;
    if !out.status.success() {
        return Ok(BTreeSet::new());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("nft -j")?;
    let mut set = BTreeSet::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        if let Some(c) = item["chain"]["name"].as_str() {
            set.insert((c.to_string(), String::new()));
        }
        let rule = &item["rule"];
        if let Some(c) = rule["chain"].as_str() {
            // A rule without our comment is drift: it makes the sets differ.
            let comment = rule["comment"].as_str().unwrap_or("untagged");
            set.insert((c.to_string(), comment.to_string()));
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fabric_end_names_fit_a_link_name_and_differ_per_pair() {
        let names = Names::new("t1a").unwrap();
        let (r, n) = (RouterId::new(), NetworkId::new());
        let end = names.router_end(&r, &n);
        assert_eq!(end.len(), 14, "{end}");
        assert_ne!(end, names.router_end(&RouterId::new(), &n));
        assert_eq!(end, names.router_end(&r, &n), "stable");
        assert!(names.ext_bridge(&ExternalNetworkId::new()).len() <= 15);
    }

    use nicplane_domain::ids::{HostId, PublicIpId};
    use nicplane_service::host::{
        DesiredAddress, DesiredGateway, DesiredPublicIp, DesiredRouterLink,
    };

    fn addr(a: &str, prefix_len: u8) -> DesiredAddress {
        DesiredAddress {
            ip_address: a.parse().unwrap(),
            prefix_len,
        }
    }

    fn link(net: NetworkId, a: &str) -> DesiredRouterLink {
        DesiredRouterLink {
            network_id: net,
            mac_address: None,
            addresses: vec![addr(a, 24)],
        }
    }

    fn router(id: RouterId, links: Vec<DesiredRouterLink>) -> DesiredRouter {
        DesiredRouter {
            id,
            implicit: false,
            joins_networks: true,
            links,
            gateway: None,
            default_route: None,
            public_ips: vec![],
        }
    }

    fn page(routers: Vec<DesiredRouter>) -> DesiredState {
        DesiredState {
            host: nicplane_domain::model::Host {
                id: HostId::new(),
                name: "hv-1".into(),
                data_center_id: nicplane_domain::ids::DataCenterId::new(),
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                last_seen: None,
            },
            vms: vec![],
            networks: vec![],
            security_groups: vec![],
            next_marker: None,
            routers,
            external_networks: vec![],
        }
    }

    #[test]
    fn a_router_on_two_pages_gets_the_links_of_both() {
        let (r, a, b) = (RouterId::new(), NetworkId::new(), NetworkId::new());
        let mut l3 = L3::default();
        l3.merge(&page(vec![router(r, vec![link(a, "10.0.0.1")])]));
        l3.merge(&page(vec![router(r, vec![link(b, "10.1.0.1")])]));
        l3.merge(&page(vec![router(r, vec![link(a, "10.0.0.1")])]));
        let nets: Vec<NetworkId> = l3.routers[&r].links.iter().map(|l| l.network_id).collect();
        assert_eq!(nets, vec![a, b]);
    }

    #[test]
    fn nat_rules_map_each_public_ip_then_snat_the_rest_and_the_implicit_router_isolates() {
        let ext = ExternalNetworkId::new();
        let mut r = router(RouterId::new(), vec![link(NetworkId::new(), "10.0.0.1")]);
        r.gateway = Some(DesiredGateway {
            external_network_id: ext,
            enable_snat: true,
            addresses: vec![addr("203.0.113.2", 24)],
        });
        r.public_ips = vec![DesiredPublicIp {
            id: PublicIpId::new(),
            address: "203.0.113.9".parse().unwrap(),
            fixed_ip: "10.0.0.5".parse().unwrap(),
            external_network_id: ext,
        }];
        let exts = BTreeSet::from([ext]);
        let qg = qg(&ext);
        assert_eq!(
            rules(&r, &exts),
            vec![
                (
                    "pre",
                    "ip daddr 203.0.113.9 dnat ip to 10.0.0.5".to_string()
                ),
                (
                    "post",
                    format!("oifname \"{qg}\" ip saddr 10.0.0.5 snat ip to 203.0.113.9")
                ),
                (
                    "post",
                    format!("oifname \"{qg}\" ip saddr {{ 10.0.0.0/24 }} snat ip to 203.0.113.2")
                ),
            ]
        );
        r.gateway = None;
        r.public_ips.clear();
        r.implicit = true;
        r.joins_networks = false;
        assert_eq!(
            rules(&r, &exts),
            vec![(
                "between",
                "iifname \"qr-*\" oifname \"qr-*\" drop".to_string()
            )]
        );
    }
}
