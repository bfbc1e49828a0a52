//! Validated value types: parse, don't validate. Each type has one parser and
//! every layer (HTTP bodies, CLI flags, store rows) goes through it.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Whether the locally-administered bit is set.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
    /// Whether this is a multicast address (never valid for a NIC).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
    /// `aa:bb:cc:dd:ee:ff`, lower case, on the stack (every interface in an
    /// answer prints one).
    fn text(&self) -> [u8; 17] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (i, b) in self.0.iter().enumerate() {
            out[i * 3] = HEX[usize::from(b >> 4)];
            out[i * 3 + 1] = HEX[usize::from(b & 0x0f)];
        }
        out
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        // Hex digits and colons only: always UTF-8.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        s.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
    }
}

impl FromStr for MacAddr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid_value("mac_address", format!("'{s}' is not a MAC address."));
        // Every stored interface's MAC is parsed on each read of it: no
        // allocation here.
        let mut out = [0u8; 6];
        let mut n = 0;
        for p in s.split([':', '-']) {
            if n == out.len() || p.len() != 2 {
                return Err(bad());
            }
            out[n] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
            n += 1;
        }
        if n != out.len() {
            return Err(bad());
        }
        let mac = MacAddr(out);
        if mac.is_multicast() || out == [0; 6] {
            return Err(Error::invalid_value(
                "mac_address",
                format!("'{s}' is not a unicast MAC address."),
            ));
        }
        Ok(mac)
    }
}

impl TryFrom<String> for MacAddr {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}
impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

/// The first three octets of every MAC nicplane generates; the last three come
/// from a deployment-wide sequence, so generated MACs never repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacPrefix(pub [u8; 3]);

/// Default MAC prefix: locally administered (bit 1 of the first octet), unicast.
pub const DEFAULT_MAC_PREFIX: MacPrefix = MacPrefix([0xfa, 0x16, 0x3e]);

/// Number of distinct MACs one prefix yields (24 bits).
pub const MACS_PER_PREFIX: u64 = 1 << 24;

impl MacPrefix {
    /// The MAC with sequence number `seq` (0-based) under this prefix.
    pub fn mac(&self, seq: u64) -> crate::Result<MacAddr> {
        if seq >= MACS_PER_PREFIX {
            return Err(Error::exhausted(
                "Every MAC address under the configured prefix is in use.",
            ));
        }
        let p = self.0;
        Ok(MacAddr([
            p[0],
            p[1],
            p[2],
            (seq >> 16) as u8,
            (seq >> 8) as u8,
            seq as u8,
        ]))
    }
}

impl MacPrefix {
    /// A random MAC under this prefix, as Neutron generates them under
    /// `base_mac`: the three low octets drawn uniformly. Whether it is free
    /// is decided by the unique index `interfaces_mac` at insert time.
    pub fn random(&self, rng: &mut impl rand::Rng) -> MacAddr {
        let low: [u8; 3] = rng.gen();
        let p = self.0;
        MacAddr([p[0], p[1], p[2], low[0], low[1], low[2]])
    }
}

impl FromStr for MacPrefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid_value(
                "mac_prefix",
                format!("'{s}' is not three hex octets such as fa:16:3e."),
            )
        };
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let mut out = [0u8; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 {
                return Err(bad());
            }
            out[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if out[0] & 0x02 == 0 || out[0] & 0x01 != 0 {
            return Err(Error::invalid_value(
                "mac_prefix",
                format!("'{s}' must be locally administered and unicast (second-lowest bit of the first octet set, lowest clear)."),
            ));
        }
        Ok(MacPrefix(out))
    }
}

impl fmt::Display for MacPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}:{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

/// A VLAN id, 1 to 4094.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct VlanId(u16);

/// Lowest usable VLAN id (see the CHECK on interfaces.vlan_id in the migrations).
pub const VLAN_MIN: u16 = 1;
/// Highest usable VLAN id.
pub const VLAN_MAX: u16 = 4094;

impl VlanId {
    pub fn new(v: i64) -> crate::Result<Self> {
        if (VLAN_MIN as i64..=VLAN_MAX as i64).contains(&v) {
            Ok(VlanId(v as u16))
        } else {
            Err(Error::invalid_value(
                "vlan_id",
                format!("{v} is outside the range {VLAN_MIN}-{VLAN_MAX}."),
            ))
        }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for VlanId {
    type Error = Error;
    fn try_from(v: i64) -> crate::Result<Self> {
        VlanId::new(v)
    }
}
impl From<VlanId> for i64 {
    fn from(v: VlanId) -> i64 {
        v.0 as i64
    }
}
impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest name accepted for any object.
pub const NAME_MAX_LEN: usize = 255;

/// A display name: 1-255 characters, no control characters, no `<` or `>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub fn parse(label: &str, s: &str) -> crate::Result<Self> {
        if s.trim().is_empty() {
            return Err(Error::invalid_value(label, "must not be empty."));
        }
        check_text(label, s)?;
        Ok(Name(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Check a free text field (names, descriptions): at most 255 characters, no
/// control characters, no angle brackets.
pub fn check_text(label: &str, s: &str) -> crate::Result<()> {
    if s.chars().count() > NAME_MAX_LEN {
        return Err(Error::invalid_value(
            label,
            format!("must be at most {NAME_MAX_LEN} characters."),
        ));
    }
    if s.chars().any(|c| c.is_control() || c == '<' || c == '>') {
        return Err(Error::invalid_value(
            label,
            "must not contain control characters, '<' or '>'.",
        ));
    }
    Ok(())
}

impl TryFrom<String> for Name {
    type Error = Error;
    fn try_from(s: String) -> crate::Result<Self> {
        Name::parse("name", &s)
    }
}
impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a string enum with one canonical spelling per variant.
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $label:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "&'static str")]
        // serde goes through `as_str`, which utoipa cannot see: name each
        // variant in the schema as the wire spells it.
        pub enum $name { $(#[schema(rename = $s)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s.to_ascii_lowercase().as_str() {
                    $($s => Ok($name::$variant),)+
                    _ => Err(Error::invalid_value($label, format!(
                        "'{}' is not one of: {}.", s, [$($s),+].join(", ")))),
                }
            }
        }
        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> { s.parse() }
        }
        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str { v.as_str() }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

str_enum!(/// The guest operating system; decides the hot-plug policy.
    OsType, "os_type" { Linux => "linux", Windows => "windows" });
str_enum!(/// Whether a VM runs.
    PowerState, "power_state" { Running => "running", Stopped => "stopped" });
str_enum!(/// Standard networks are routed (L3) and may carry public IPs; custom networks are L2 only.
    NetworkKind, "kind" { Standard => "standard", Custom => "custom" });
str_enum!(/// A user's role in a project.
    Role, "role" { Admin => "admin", PowerUser => "power_user", Reader => "reader" });
str_enum!(/// Observed state of an interface, reported by the data plane (BUILD until an agent realizes it).
    InterfaceStatus, "status" { Build => "build", Active => "active", Down => "down", Error => "error" });

impl Role {
    /// The role's name as the console guide spells it.
    pub fn title(self) -> &'static str {
        match self {
            Role::Admin => "Tenant Administrator",
            Role::PowerUser => "Tenant Power User",
            Role::Reader => "Tenant Reader",
        }
    }
    /// Whether this role may create, change and delete VMs, NICs and public IPs.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::PowerUser)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parses_and_prints_lowercase() {
        let m: MacAddr = "FA:16:3E:00:01:02".parse().unwrap();
        assert_eq!(m.to_string(), "fa:16:3e:00:01:02");
        assert!("fa:16:3e:00:01".parse::<MacAddr>().is_err());
        assert!("01:00:5e:00:00:01".parse::<MacAddr>().is_err(), "multicast");
        assert!("zz:16:3e:00:01:02".parse::<MacAddr>().is_err());
        assert!("fa:16:3e:00:01:02:03".parse::<MacAddr>().is_err(), "seven");
        assert!("fa:16:3e:00:01:2".parse::<MacAddr>().is_err(), "one digit");
        assert!("fa:16:3e:00:01:".parse::<MacAddr>().is_err(), "empty");
        assert_eq!("fa-16-3e-00-01-02".parse::<MacAddr>().unwrap(), m);
        assert_eq!(
            serde_json::to_string(&MacAddr([0x0a, 0xbc, 0x3e, 0, 0xf1, 0xff])).unwrap(),
            "\"0a:bc:3e:00:f1:ff\""
        );
    }

    #[test]
    fn mac_prefix_must_be_locally_administered() {
        assert!("00:16:3e".parse::<MacPrefix>().is_err());
        assert!("03:00:00".parse::<MacPrefix>().is_err());
        let p: MacPrefix = "02:ab:cd".parse().unwrap();
        assert_eq!(p.mac(0x010203).unwrap().to_string(), "02:ab:cd:01:02:03");
        assert!(p.mac(MACS_PER_PREFIX).is_err());
        assert!(DEFAULT_MAC_PREFIX.mac(0).unwrap().is_local());
    }

    #[test]
    fn vlan_range_is_1_to_4094() {
        assert!(VlanId::new(0).is_err());
        assert!(VlanId::new(4095).is_err());
        assert_eq!(VlanId::new(4094).unwrap().get(), 4094);
        assert_eq!(VlanId::new(1).unwrap().get(), 1);
    }

    #[test]
    fn names_reject_empty_and_markup() {
        assert!(Name::parse("name", "").is_err());
        assert!(Name::parse("name", "a<b").is_err());
        assert!(Name::parse("name", &"x".repeat(256)).is_err());
        assert_eq!(Name::parse("name", "web-1").unwrap().as_str(), "web-1");
    }

    #[test]
    fn enums_parse_case_insensitively() {
        assert_eq!("Windows".parse::<OsType>().unwrap(), OsType::Windows);
        assert!("bsd".parse::<OsType>().is_err());
        assert_eq!(Role::PowerUser.title(), "Tenant Power User");
        assert!(!Role::Reader.can_write());
    }
}
