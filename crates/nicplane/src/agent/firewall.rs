//! Security groups and anti-spoofing as nftables in the fabric namespace
//! (issue 13; docs/dataplane.md, "Security groups and anti-spoofing").
//!
//! Every interface with port security on is filtered at its host end, the
//! bridge port `<prefix>-h-<id>`; an interface with port security off is
//! not filtered at all (neither anti-spoofing nor groups). Two tables, both
//! named `<prefix>-sg`, inside `<prefix>-fabric` (never the root namespace):
//!
//! - `bridge <prefix>-sg`, stateless, sees the bridge ports:
//!   - `prerouting` (priority -300, before br_netfilter): anti-spoofing of
//!     the filtered ports by sets keyed by port, MAC and address (Ethernet,
//!     ARP, IPv4, IPv6; no DHCP server replies nor router advertisements
//!     from a VM), and the packet mark set to the sending port's index;
//!   - `forward` (priority -300, before br_netfilter hands the packet to the
//!     IP forward hooks): the mark set to the receiving port's index (per
//!     copy when a frame floods).
//! - `inet <prefix>-sg`, stateful: the kernel has no conntrack in the bridge
//!   family, but br_netfilter passes bridged IPv4/IPv6 through the inet
//!   hooks with conntrack, where the interfaces are the bridges, not the
//!   ports; the mark says which port:
//!   - `zone` (prerouting, raw): a conntrack zone per bridge, so networks
//!     with the same addresses never share a connection entry;
//!   - `egress` (prerouting, filter; the mark is the sender's): the sender's
//!     egress rules (its group list's chain jumps to its groups'
//!     `sg-<group>-egress` chains; nothing matched: drop);
//!   - `ingress` (forward, filter; the mark is now the receiver's): the
//!     receiver's ingress rules, likewise.
//!
//!   Both first accept neighbour discovery, MLD and DHCP in Neutron's
//!   directions, then established and related connections, and drop
//!   invalid ones. A remote group is a set of its members' addresses
//!   (`remote-<group>-4`/`-6`).
//!
//! Everything per port is a set or map element, not a rule, so the tables
//! of a thousand ports load in a fraction of a second. They are written
//! together in one `nft -f` batch (each deleted and made again), only when
//! their description changed: its SHA-256 is the comment of each table's
//! `state` set, so a pass over a host that did not drift reads two short
//! listings and writes nothing. A hand edit inside a table that keeps that
//! set is not noticed; a deleted table is.

use super::Names;
use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use nicplane_domain::ids::SecurityGroupId;
use nicplane_domain::rules;
use nicplane_service::host::{DesiredInterface, DesiredRule, DesiredSecurityGroup, DesiredVm};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Priority of the bridge chains: before br_netfilter's hooks (0, and -1
/// for its forward hook), so the mark is set before the IP hooks run.
const BRIDGE_PRIORITY: i32 = -300;
/// Filtered ports per host (the index is the whole mark; a bound on one
/// table's size).
const PORTS_MAX: usize = 1 << 20;
/// The br_netfilter switches that send bridged IP traffic through the inet
/// hooks (per namespace; 1 by default).
const BRIDGE_NF: [&str; 2] = [
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
];
/// Protocols whose rules take a port range (TCP, UDP, DCCP, SCTP, UDP-Lite).
const PORT_PROTOCOLS: [u8; 5] = [6, 17, 33, 132, 136];
/// ICMPv6 types a filtered port always receives and always sends
/// (Neutron's `ICMPV6_ALLOWED_INGRESS_TYPES` / `..._EGRESS_TYPES`), and the
/// ones it may send from `::` (`ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES`).
const ICMPV6_INGRESS: &str =
    "mld-listener-query, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert";
const ICMPV6_EGRESS: &str =
    "mld-listener-report, mld2-listener-report, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert";
const ICMPV6_UNSPECIFIED: &str =
    "mld-listener-report, mld2-listener-report, nd-router-solicit, nd-neighbor-solicit";

/// The two tables of a host, as `nft -f` input, and their digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    pub bridge: String,
    pub inet: String,
    pub digest: String,
}

/// A filtered port: an interface with port security on.
struct Port<'a> {
    /// The host end's name, `<prefix>-h-<id>`.
    link: String,
    /// 1-based: the mark of its packets.
    index: usize,
    iface: &'a DesiredInterface,
}

/// Neutron's security groups of the host's interfaces as nftables; None
/// when no interface has port security on (then no table exists).
pub fn ruleset(
    names: &Names,
    vms: &[DesiredVm],
    groups: &BTreeMap<SecurityGroupId, DesiredSecurityGroup>,
    networks: &BTreeSet<String>,
) -> Result<Option<Ruleset>> {
    let mut filtered: Vec<(String, &DesiredInterface)> = vms
        .iter()
        .flat_map(|v| &v.interfaces)
        .filter(|i| i.port_security_enabled)
        .map(|i| (names.host_end(&i.id), i))
        .collect();
    if filtered.is_empty() {
        return Ok(None);
    }
    if filtered.len() > PORTS_MAX {
        bail!("more than {PORTS_MAX} interfaces with port security on one host");
    }
    filtered.sort_by(|a, b| a.0.cmp(&b.0));
    let ports: Vec<Port<'_>> = filtered
        .into_iter()
        .enumerate()
        .map(|(n, (link, iface))| Port {
            link,
            index: n + 1,
            iface,
        })
        .collect();
    let table = format!("{}-sg", names.prefix);
    let bridge = bridge_table(&table, &ports);
    let inet = inet_table(names, &table, &ports, groups, networks)?;
    let digest = hex(&Sha256::digest(format!("{bridge}\n{inet}").as_bytes()));
    Ok(Some(Ruleset {
        bridge: bridge.replace(DIGEST, &digest),
        inet: inet.replace(DIGEST, &digest),
        digest,
    }))
}

/// Where the digest goes in a table's text (it is the digest of that text).
const DIGEST: &str = "@DIGEST@";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A named set or map with its elements (none: no `elements` line).
fn set(t: &mut String, kind: &str, name: &str, decl: &str, elements: &[String]) {
    let _ = write!(t, "\t{kind} {name} {{\n{decl}");
    if !elements.is_empty() {
        let _ = writeln!(t, "\t\telements = {{ {} }}", elements.join(",\n\t\t\t"));
    }
    t.push_str("\t}\n");
}

fn state_set(t: &mut String) {
    let _ = writeln!(
        t,
        "\tset state {{\n\t\ttype mark\n\t\tcomment \"{DIGEST}\"\n\t}}"
    );
}

/// The bridge table: anti-spoofing and the mark.
fn bridge_table(table: &str, ports: &[Port<'_>]) -> String {
    let (mut src4, mut arp4, mut src6, mut macs) = (vec![], vec![], vec![], vec![]);
    for p in ports {
        let l = &p.link;
        for (mac, (v4, v6)) in sources(p.iface) {
            let m = mac.to_string().to_lowercase();
            macs.push(format!("\"{l}\" . {m}"));
            // ARP probes come from 0.0.0.0.
            let mut arp = v4.clone();
            arp.push(IpNet::from(std::net::IpAddr::from([0, 0, 0, 0])));
            for n in IpNet::aggregate(&arp) {
                arp4.push(format!("\"{l}\" . {m} . {m} . {}", net(&n)));
            }
            for n in &v4 {
                src4.push(format!("\"{l}\" . {m} . {}", net(n)));
            }
            for n in &v6 {
                src6.push(format!("\"{l}\" . {m} . {}", net(n)));
            }
        }
    }
    let index = |p: &Port<'_>| format!("\"{}\" : 0x{:08x}", p.link, p.index);
    let mut t = String::new();
    let _ = writeln!(t, "table bridge {table} {{");
    state_set(&mut t);
    let names: Vec<String> = ports.iter().map(|p| format!("\"{}\"", p.link)).collect();
    set(&mut t, "set", "ports", "\t\ttypeof iifname\n", &names);
    let marks: Vec<String> = ports.iter().map(index).collect();
    set(
        &mut t,
        "map",
        "mark_in",
        "\t\ttypeof iifname : meta mark\n",
        &marks,
    );
    set(
        &mut t,
        "map",
        "mark_out",
        "\t\ttypeof oifname : meta mark\n",
        &marks,
    );
    let interval = "\t\tflags interval\n";
    set(
        &mut t,
        "set",
        "src4",
        &format!("\t\ttypeof iifname . ether saddr . ip saddr\n{interval}"),
        &src4,
    );
    set(
        &mut t,
        "set",
        "arp4",
        &format!("\t\ttypeof iifname . ether saddr . arp saddr ether . arp saddr ip\n{interval}"),
        &arp4,
    );
    set(
        &mut t,
        "set",
        "src6",
        &format!("\t\ttypeof iifname . ether saddr . ip6 saddr\n{interval}"),
        &src6,
    );
    set(
        &mut t,
        "set",
        "macs",
        "\t\ttypeof iifname . ether saddr\n",
        &macs,
    );
    // Anti-spoofing: only what the sets allow, and what a guest sends
    // before it has an address (ARP probes from 0.0.0.0 are in arp4, DHCP
    // discovery, DAD and MLD from ::); never DHCP server replies nor router
    // advertisements.
    let _ = writeln!(
        t,
        "\tchain prerouting {{\n\t\ttype filter hook prerouting priority {BRIDGE_PRIORITY}; policy accept;\n\
         \t\tmeta mark set 0x0\n\
         \t\tiifname != @ports accept\n\
         \t\tmeta mark set iifname map @mark_in\n\
         \t\tether type ip meta l4proto udp udp sport 67 udp dport 68 drop\n\
         \t\tether type ip6 meta l4proto udp udp sport 547 udp dport 546 drop\n\
         \t\tether type ip6 icmpv6 type nd-router-advert drop\n\
         \t\tether type arp iifname . ether saddr . arp saddr ether . arp saddr ip @arp4 accept\n\
         \t\tether type ip iifname . ether saddr . ip saddr @src4 accept\n\
         \t\tether type ip6 iifname . ether saddr . ip6 saddr @src6 accept\n\
         \t\tether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 iifname . ether saddr @macs accept\n\
         \t\tether type ip6 ip6 saddr :: icmpv6 type {{ {ICMPV6_UNSPECIFIED} }} iifname . ether saddr @macs accept\n\
         \t\tdrop\n\t}}"
    );
    // The receiver's index replaces the sender's: egress was decided at
    // prerouting (inet `egress`), ingress is decided at forward.
    let _ = writeln!(
        t,
        "\tchain forward {{\n\t\ttype filter hook forward priority {BRIDGE_PRIORITY}; policy accept;\n\
         \t\tmeta mark set 0x0\n\
         \t\tmeta mark set oifname map @mark_out\n\t}}"
    );
    t.push_str("}\n");
    t
}

/// What a port may send from: per MAC, its IPv4 and IPv6 networks (its
/// fixed IPs with its MAC, each allowed address pair with the pair's MAC,
/// and each MAC's IPv6 link-local address), merged.
fn sources(
    iface: &DesiredInterface,
) -> BTreeMap<nicplane_domain::types::MacAddr, (Vec<IpNet>, Vec<IpNet>)> {
    let mut by_mac: BTreeMap<_, (Vec<IpNet>, Vec<IpNet>)> = BTreeMap::new();
    let mut add = |mac, n: IpNet| {
        let e = by_mac.entry(mac).or_default();
        match n {
            IpNet::V4(_) => e.0.push(n),
            IpNet::V6(_) => e.1.push(n),
        }
    };
    add(
        iface.mac_address,
        IpNet::from(std::net::IpAddr::V6(rules::link_local_from_mac(
            iface.mac_address,
        ))),
    );
    for f in &iface.fixed_ips {
        add(iface.mac_address, IpNet::from(f.ip_address));
    }
    for p in &iface.allowed_address_pairs {
        add(
            p.mac_address,
            IpNet::from(std::net::IpAddr::V6(rules::link_local_from_mac(
                p.mac_address,
            ))),
        );
        add(p.mac_address, p.ip_address);
    }
    for (v4, v6) in by_mac.values_mut() {
        *v4 = IpNet::aggregate(v4);
        *v6 = IpNet::aggregate(v6);
    }
    by_mac
}

/// A network as nftables writes it: a host route is an address.
fn net(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

/// A conntrack zone per bridge (1-65535): a hash of the network id, the
/// next free one on a collision (in network id order).
fn zones(names: &Names, networks: &BTreeSet<String>) -> Result<BTreeMap<String, u16>> {
    if networks.len() >= u16::MAX as usize {
        bail!("more than {} networks on one host", u16::MAX - 1);
    }
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for n in networks {
        // FNV-1a: stable across builds and releases.
        let h = n.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        let mut z = (h % 65535) as u16 + 1;
        while !taken.insert(z) {
            z = if z == u16::MAX { 1 } else { z + 1 };
        }
        out.insert(names.bridge(n), z);
    }
    Ok(out)
}

fn group_key(id: &SecurityGroupId) -> String {
    id.to_string().replace('-', "")
}

/// The inet table: zones, and the stateful egress and ingress filters.
fn inet_table(
    names: &Names,
    table: &str,
    ports: &[Port<'_>],
    groups: &BTreeMap<SecurityGroupId, DesiredSecurityGroup>,
    networks: &BTreeSet<String>,
) -> Result<String> {
    // Ports with the same groups share a chain (most are in `default` only).
    let lists: BTreeSet<&[SecurityGroupId]> =
        ports.iter().map(|p| &p.iface.security_groups[..]).collect();
    let list_index: BTreeMap<&[SecurityGroupId], usize> =
        lists.iter().enumerate().map(|(n, l)| (*l, n)).collect();
    let used: BTreeSet<SecurityGroupId> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    let remotes: BTreeSet<SecurityGroupId> = used
        .iter()
        .filter_map(|g| groups.get(g))
        .flat_map(|g| g.rules.iter().filter_map(|r| r.remote_group_id))
        .collect();
    let mut t = String::new();
    let _ = writeln!(t, "table inet {table} {{");
    state_set(&mut t);
    for g in &remotes {
        let members: &[IpNet] = groups.get(g).map(|g| &g.members[..]).unwrap_or(&[]);
        for (v, ty) in [(4, "ipv4_addr"), (6, "ipv6_addr")] {
            let nets: Vec<IpNet> = members
                .iter()
                .filter(|n| matches!(n, IpNet::V4(_)) == (v == 4))
                .copied()
                .collect();
            let elements: Vec<String> = IpNet::aggregate(&nets).iter().map(net).collect();
            set(
                &mut t,
                "set",
                &format!("remote-{}-{v}", group_key(g)),
                &format!("\t\ttype {ty}\n\t\tflags interval\n"),
                &elements,
            );
        }
    }
    for direction in ["egress", "ingress"] {
        let verdicts: Vec<String> = ports
            .iter()
            .map(|p| {
                format!(
                    "0x{:08x} : jump groups-{}-{direction}",
                    p.index,
                    list_index[&p.iface.security_groups[..]]
                )
            })
            .collect();
        set(
            &mut t,
            "map",
            &format!("{direction}_of"),
            "\t\ttype mark : verdict\n",
            &verdicts,
        );
    }
    let zones = zones(names, networks)?;
    t.push_str("\tchain zone {\n\t\ttype filter hook prerouting priority raw; policy accept;\n");
    if !zones.is_empty() {
        let entries: Vec<String> = zones
            .iter()
            .map(|(b, z)| format!("\"{b}\" : {z}"))
            .collect();
        let _ = writeln!(
            t,
            "\t\tct zone set iifname map {{ {} }}",
            entries.join(", ")
        );
    }
    t.push_str("\t}\n");
    for (direction, hook, icmpv6, dhcp) in [
        (
            "egress",
            "prerouting",
            ICMPV6_EGRESS,
            "udp sport 68 udp dport 67 accept\n\t\tudp sport 546 udp dport 547 accept",
        ),
        (
            "ingress",
            "forward",
            ICMPV6_INGRESS,
            "udp sport 67 udp dport 68 accept\n\t\tudp sport 547 udp dport 546 accept",
        ),
    ] {
        let _ = writeln!(
            t,
            "\tchain {direction} {{\n\t\ttype filter hook {hook} priority filter; policy accept;\n\
             \t\tmeta mark 0x0 accept\n\
             \t\ticmpv6 type {{ {icmpv6} }} accept\n\
             \t\t{dhcp}\n\
             \t\tct state established,related accept\n\
             \t\tct state invalid drop\n\
             \t\tmeta mark vmap @{direction}_of\n\t}}"
        );
        for (list, n) in &list_index {
            let _ = writeln!(t, "\tchain groups-{n}-{direction} {{");
            for g in list.iter() {
                let _ = writeln!(t, "\t\tjump sg-{}-{direction}", group_key(g));
            }
            t.push_str("\t\tdrop\n\t}\n");
        }
        for g in &used {
            let _ = writeln!(t, "\tchain sg-{}-{direction} {{", group_key(g));
            for r in groups.get(g).map(|g| &g.rules[..]).unwrap_or(&[]) {
                if r.direction == direction {
                    let _ = writeln!(t, "\t\t{} accept", rule_match(r)?);
                }
            }
            t.push_str("\t}\n");
        }
    }
    t.push_str("}\n");
    Ok(t)
}

/// The nftables match of one rule (the `accept` follows).
fn rule_match(r: &DesiredRule) -> Result<String> {
    let v6 = match r.ethertype.as_str() {
        "IPv4" => false,
        "IPv6" => true,
        e => bail!("rule {}: unknown ethertype {e}", r.id),
    };
    let (family, ip) = if v6 { ("ipv6", "ip6") } else { ("ipv4", "ip") };
    // The remote end: where an ingress packet comes from, where an egress
    // one goes.
    let end = if r.direction == "ingress" {
        "saddr"
    } else {
        "daddr"
    };
    let mut m = vec![format!("meta nfproto {family}")];
    if let Some(p) = r.remote_ip_prefix {
        if matches!(p, IpNet::V6(_)) != v6 {
            bail!("rule {}: remote_ip_prefix {p} is not {}", r.id, r.ethertype);
        }
        m.push(format!("{ip} {end} {}", net(&p)));
    }
    if let Some(g) = r.remote_group_id {
        m.push(format!(
            "{ip} {end} @remote-{}-{}",
            group_key(&g),
            if v6 { 6 } else { 4 }
        ));
    }
    if let Some(p) = r.protocol {
        m.push(format!("meta l4proto {p}"));
        if PORT_PROTOCOLS.contains(&p) {
            match (r.port_range_min, r.port_range_max) {
                (Some(a), Some(b)) if a == b => m.push(format!("th dport {a}")),
                (Some(a), Some(b)) => m.push(format!("th dport {a}-{b}")),
                (Some(a), None) | (None, Some(a)) => m.push(format!("th dport {a}")),
                (None, None) => {}
            }
        } else if p == 1 || p == 58 {
            let icmp = if p == 1 { "icmp" } else { "icmpv6" };
            if let Some(ty) = r.port_range_min {
                m.push(format!("{icmp} type {ty}"));
                if let Some(code) = r.port_range_max {
                    m.push(format!("{icmp} code {code}"));
                }
            }
        }
    }
    Ok(m.join(" "))
}

/// Run a command in the fabric namespace; its standard output. The C
/// locale: [`state_of`] reads nft's error message.
fn run_in(fabric: &str, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", fabric, program])
        .args(args)
        .env("LC_ALL", "C")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run ip netns exec {fabric} {program}"))?;
    // The input is written by a thread of its own, so that a command that
    // answers before it has read everything cannot block both sides.
    let writer = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => {
            let text = text.to_string();
            Some(std::thread::spawn(move || pipe.write_all(text.as_bytes())))
        }
        _ => None,
    };
    let out = child.wait_with_output()?;
    let written = writer.map(|w| w.join());
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // A command that failed may have stopped reading: its message says more.
    match written {
        Some(Err(_)) => bail!("the writer to {program} panicked"),
        Some(Ok(Err(e))) => bail!("cannot write to {program}: {e}"),
        _ => {}
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The listing of a table's `state` set (whose comment is the digest of
/// the tables); None when the table or the set does not exist.
fn state_of(fabric: &str, family: &str, table: &str) -> Result<Option<String>> {
    match run_in(
        fabric,
        "nft",
        &["list", "set", family, table, "state"],
        None,
    ) {
        Ok(listing) => Ok(Some(listing)),
        // nft's own answer, not `ip`'s "exec of "nft" failed: No such file…".
        Err(e) if e.to_string().contains("Error: No such file or directory") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Make the fabric namespace's tables match the desired state; the changes
/// made (none when nothing drifted).
pub fn reconcile(
    names: &Names,
    vms: &[DesiredVm],
    groups: &BTreeMap<SecurityGroupId, DesiredSecurityGroup>,
    networks: &BTreeSet<String>,
) -> Result<Vec<String>> {
    let fabric = names.fabric();
    let table = format!("{}-sg", names.prefix);
    let want = ruleset(names, vms, groups, networks)?;
    // Two short reads (listing all tables would read every rule).
    let bridge = state_of(&fabric, "bridge", &table)?;
    let inet = state_of(&fabric, "inet", &table)?;
    let mut changes = Vec::new();
    let Some(want) = want else {
        for (family, state) in [("bridge", &bridge), ("inet", &inet)] {
            if state.is_some() {
                run_in(&fabric, "nft", &["delete", "table", family, &table], None)?;
                changes.push(format!("nft delete table {family} {table}"));
            }
        }
        return Ok(changes);
    };
    let switches = run_in(&fabric, "sysctl", &["-n", BRIDGE_NF[0], BRIDGE_NF[1]], None)?;
    if switches.split_whitespace().any(|v| v != "1") {
        let set: Vec<String> = BRIDGE_NF.iter().map(|k| format!("{k}=1")).collect();
        let mut args = vec!["-qw"];
        args.extend(set.iter().map(String::as_str));
        run_in(&fabric, "sysctl", &args, None)?;
        changes.push(format!("sysctl -qw {}", set.join(" ")));
    }
    let current = format!("comment \"{}\"", want.digest);
    if [bridge, inet]
        .iter()
        .all(|state| state.as_ref().is_some_and(|s| s.contains(&current)))
    {
        return Ok(changes);
    }
    // One batch: both tables are replaced at once, or neither is.
    let batch = format!(
        "table bridge {table}\ndelete table bridge {table}\n{}table inet {table}\ndelete table inet {table}\n{}",
        want.bridge, want.inet
    );
    run_in(&fabric, "nft", &["-f", "-"], Some(&batch))?;
    changes.push(format!(
        "nft -f - (tables bridge and inet {table}, digest {})",
        &want.digest[..12]
    ));
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nicplane_domain::ids::{InterfaceId, NetworkId, SecurityGroupRuleId, SubnetId, VmId};
    use nicplane_domain::types::{NetworkKind, OsType, PowerState};
    use nicplane_service::host::{DesiredAddressPair, DesiredIp};

    fn iface(ip: &str, groups: &[SecurityGroupId], secured: bool) -> DesiredInterface {
        DesiredInterface {
            id: InterfaceId::new(),
            mac_address: "fa:16:3e:00:00:01".parse().unwrap(),
            primary: true,
            order: Some(0),
            network_id: NetworkId::new(),
            network_kind: NetworkKind::Standard,
            fixed_ips: vec![DesiredIp {
                ip_address: ip.parse().unwrap(),
                prefix_len: 24,
                gateway_ip: None,
                subnet_id: SubnetId::new(),
            }],
            parent_id: None,
            vlan_id: None,
            port_security_enabled: secured,
            security_groups: groups.to_vec(),
            allowed_address_pairs: vec![],
        }
    }

    fn vm(interfaces: Vec<DesiredInterface>) -> DesiredVm {
        DesiredVm {
            id: VmId::new(),
            name: "vm".into(),
            power_state: PowerState::Running,
            os_type: OsType::Linux,
            interfaces,
        }
    }

    fn rule(direction: &str, ethertype: &str, protocol: Option<u8>) -> DesiredRule {
        DesiredRule {
            id: SecurityGroupRuleId::new(),
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: None,
        }
    }

    #[test]
    fn rules_become_nftables_matches() {
        let mut r = rule("ingress", "IPv4", Some(6));
        r.port_range_min = Some(8000);
        r.port_range_max = Some(8080);
        r.remote_ip_prefix = Some("10.0.0.0/8".parse().unwrap());
        assert_eq!(
            rule_match(&r).unwrap(),
            "meta nfproto ipv4 ip saddr 10.0.0.0/8 meta l4proto 6 th dport 8000-8080"
        );
        let mut r = rule("egress", "IPv6", Some(58));
        r.port_range_min = Some(128);
        r.port_range_max = Some(0);
        r.remote_ip_prefix = Some("fd00::1/128".parse().unwrap());
        assert_eq!(
            rule_match(&r).unwrap(),
            "meta nfproto ipv6 ip6 daddr fd00::1 meta l4proto 58 icmpv6 type 128 icmpv6 code 0"
        );
        let g = SecurityGroupId::new();
        let mut r = rule("ingress", "IPv4", None);
        r.remote_group_id = Some(g);
        assert_eq!(
            rule_match(&r).unwrap(),
            format!("meta nfproto ipv4 ip saddr @remote-{}-4", group_key(&g))
        );
        let mut r = rule("ingress", "IPv4", Some(17));
        r.port_range_min = Some(53);
        r.port_range_max = Some(53);
        assert_eq!(
            rule_match(&r).unwrap(),
            "meta nfproto ipv4 meta l4proto 17 th dport 53"
        );
    }

    #[test]
    fn only_interfaces_with_port_security_are_filtered() {
        let names = Names::new("np").unwrap();
        let nets = BTreeSet::new();
        let open = vm(vec![iface("10.0.0.5", &[], false)]);
        assert_eq!(
            ruleset(&names, std::slice::from_ref(&open), &BTreeMap::new(), &nets).unwrap(),
            None
        );
        let g = SecurityGroupId::new();
        let secured = vm(vec![iface("10.0.0.6", &[g], true)]);
        let rs = ruleset(
            &names,
            &[open.clone(), secured.clone()],
            &BTreeMap::new(),
            &nets,
        )
        .unwrap()
        .expect("a ruleset");
        let open_end = names.host_end(&open.interfaces[0].id);
        let secured_end = names.host_end(&secured.interfaces[0].id);
        assert!(!rs.bridge.contains(&open_end), "{}", rs.bridge);
        assert!(rs
            .bridge
            .contains(&format!("\"{secured_end}\" : 0x00000001")));
        assert!(
            rs.inet.contains("0x00000001 : jump groups-0-ingress"),
            "{}",
            rs.inet
        );
        // A group without rules (or unknown yet) lets nothing in.
        assert!(rs.inet.contains(&format!(
            "chain groups-0-ingress {{\n\t\tjump sg-{}-ingress\n\t\tdrop\n\t}}",
            group_key(&g)
        )));
        // The same desired state gives the same text and digest.
        let again = ruleset(&names, &[open, secured], &BTreeMap::new(), &nets)
            .unwrap()
            .unwrap();
        assert_eq!(again, rs);
        assert!(rs.bridge.contains(&format!("comment \"{}\"", rs.digest)));
    }

    #[test]
    fn anti_spoofing_allows_each_mac_its_own_addresses() {
        let mut i = iface("10.0.0.5", &[], true);
        i.allowed_address_pairs = vec![
            DesiredAddressPair {
                ip_address: "10.0.0.0/28".parse().unwrap(),
                mac_address: i.mac_address,
            },
            DesiredAddressPair {
                ip_address: "10.0.9.9/32".parse().unwrap(),
                mac_address: "fa:16:3e:00:00:02".parse().unwrap(),
            },
        ];
        let names = Names::new("np").unwrap();
        let l = names.host_end(&i.id);
        let rs = ruleset(&names, &[vm(vec![i])], &BTreeMap::new(), &BTreeSet::new())
            .unwrap()
            .unwrap();
        // The fixed IP inside the pair's network is merged into it.
        for line in [
            format!("\"{l}\" . fa:16:3e:00:00:01 . 10.0.0.0/28"),
            format!("\"{l}\" . fa:16:3e:00:00:01 . fa:16:3e:00:00:01 . 0.0.0.0,"),
            format!("\"{l}\" . fa:16:3e:00:00:01 . fa:16:3e:00:00:01 . 10.0.0.0/28"),
            format!("\"{l}\" . fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1"),
            format!("\"{l}\" . fa:16:3e:00:00:02 . 10.0.9.9"),
            format!("\"{l}\" . fa:16:3e:00:00:02 . fe80::f816:3eff:fe00:2"),
        ] {
            assert!(rs.bridge.contains(&line), "{line}\n{}", rs.bridge);
        }
        assert!(!rs.bridge.contains("10.0.0.5"), "{}", rs.bridge);
    }

    #[test]
    fn zones_are_stable_and_distinct() {
        let names = Names::new("np").unwrap();
        let nets: BTreeSet<String> = (0..300).map(|_| NetworkId::new().to_string()).collect();
        let z = zones(&names, &nets).unwrap();
        let distinct: BTreeSet<u16> = z.values().copied().collect();
        assert_eq!(distinct.len(), 300);
        assert!(!distinct.contains(&0), "zone 0 is the default zone");
        assert_eq!(zones(&names, &nets).unwrap(), z);
    }
}

#[cfg(test)]
mod merge_tests {
    use super::super::{merge_groups, Groups};
    use nicplane_domain::ids::{SecurityGroupId, SecurityGroupRuleId};
    use nicplane_service::host::{DesiredRule, DesiredSecurityGroup};

    #[test]
    fn a_group_named_only_as_a_remote_group_on_one_page_keeps_its_rules() {
        let id = SecurityGroupId::new();
        let rule = DesiredRule {
            id: SecurityGroupRuleId::new(),
            direction: "ingress".into(),
            ethertype: "IPv4".into(),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: Some(id),
        };
        let with_rules = DesiredSecurityGroup {
            id,
            rules: vec![rule],
            members: vec!["10.0.0.1/32".parse().unwrap()],
        };
        let remote_only = DesiredSecurityGroup {
            id,
            rules: vec![],
            members: vec!["10.0.0.2/32".parse().unwrap()],
        };
        for pages in [
            [with_rules.clone(), remote_only.clone()],
            [remote_only.clone(), with_rules.clone()],
        ] {
            let mut groups = Groups::new();
            for page in pages.iter().cloned() {
                merge_groups(&mut groups, vec![page]);
            }
            assert_eq!(groups[&id].rules, with_rules.rules);
            assert_eq!(
                groups[&id].members, pages[1].members,
                "the last page's members"
            );
        }
    }
}
