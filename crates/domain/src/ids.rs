//! Identifiers. Projects use 32 lowercase hex characters (what Keystone and
//! Huawei expect); every other resource uses a hyphenated UUID.

use crate::error::{Error, Kind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A random (version 4) UUID from the thread's CSPRNG (`rand::thread_rng`,
/// seeded from the OS), not a `getrandom` system call per id as
/// `Uuid::new_v4` makes: every request takes one for its request id.
pub fn random_uuid() -> Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A time-ordered (version 7) UUID: 48 bits of Unix milliseconds, then 74
/// random bits from the thread's CSPRNG. Ids made later sort after earlier
/// ones (to the millisecond), so a B-tree keyed by them takes each new row
/// at its right edge instead of on a random page: with a million
/// interfaces, a random id dirtied a random page of the table's primary
/// key (and of every key that starts with it) on every attach.
pub fn time_ordered_uuid() -> Uuid {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid()
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        uuid_id!($(#[$doc])* $name, $kind, random_uuid);
    };
    ($(#[$doc:meta])* $name:ident, $kind:expr, $make:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id (`random_uuid` or `time_ordered_uuid`).
            pub fn new() -> Self {
                Self($make())
            }
            /// Parse an id given by a client; a malformed id is reported as
            /// "not found" because no such object can exist.
            pub fn parse_for_lookup(s: &str) -> crate::Result<Self> {
                s.parse().map_err(|_| Error::not_found($kind, s))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s).map(Self).map_err(|_| {
                    Error::invalid_value(stringify!($name), format!("'{s}' is not a UUID."))
                })
            }
        }
    };
}

uuid_id!(/// A data center (availability zone).
    DataCenterId, Kind::DataCenter);
uuid_id!(/// A user.
    UserId, Kind::User);
uuid_id!(/// A network.
    NetworkId, Kind::Network);
uuid_id!(/// A subnet.
    SubnetId, Kind::Subnet);
uuid_id!(/// A VM.
    VmId, Kind::Vm);
uuid_id!(/// A network interface (elastic or supplementary). Time-ordered: the
    /// most numerous rows, keyed by it in several tables.
    InterfaceId, Kind::Interface, time_ordered_uuid);
uuid_id!(/// A public IP.
    PublicIpId, Kind::PublicIp);
uuid_id!(/// A public IP pool.
    PoolId, Kind::PublicIpPool);
uuid_id!(/// A security group.
    SecurityGroupId, Kind::SecurityGroup);
uuid_id!(/// A security group rule.
    SecurityGroupRuleId, Kind::SecurityGroupRule);
uuid_id!(/// A router.
    RouterId, Kind::Router);
uuid_id!(/// An external network (Neutron's `router:external`): public IP pools of
    /// a data center. A data center's default one has the data center's id.
    ExternalNetworkId, Kind::Network);
uuid_id!(/// A host (hypervisor) whose agent realizes its VMs.
    HostId, Kind::Host);
uuid_id!(/// An asynchronous job (Huawei ECS).
    JobId, Kind::Job);

impl ExternalNetworkId {
    /// The default external network of a data center (same id).
    pub fn default_of(dc: DataCenterId) -> Self {
        Self(dc.0)
    }
}

/// A project (tenant): 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    /// A fresh random project id.
    pub fn new() -> Self {
        Self(random_uuid().simple().to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Parse for a lookup: a malformed id means "not found".
    pub fn parse_for_lookup(s: &str) -> crate::Result<Self> {
        s.parse().map_err(|_| Error::not_found(Kind::Project, s))
    }
}

impl Default for ProjectId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Length of a project id in hex characters.
pub const PROJECT_ID_LEN: usize = 32;

impl FromStr for ProjectId {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let s = s.to_ascii_lowercase();
        if s.len() == PROJECT_ID_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s))
        } else {
            Err(Error::invalid_value(
                "project_id",
                format!("'{s}' is not 32 hexadecimal characters."),
            ))
        }
    }
}

impl TryFrom<String> for ProjectId {
    type Error = Error;
    fn try_from(s: String) -> crate::Result<Self> {
        s.parse()
    }
}

impl From<ProjectId> for String {
    fn from(p: ProjectId) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_32_lowercase_hex() {
        let id = ProjectId::new();
        assert_eq!(id.as_str().len(), 32);
        assert!(id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!("abc".parse::<ProjectId>().is_err());
        assert!("zz".repeat(16).parse::<ProjectId>().is_err());
        let upper = "AB".repeat(16);
        assert_eq!(
            upper.parse::<ProjectId>().unwrap().as_str(),
            "ab".repeat(16)
        );
    }

    #[test]
    fn uuid_ids_are_hyphenated() {
        let id = VmId::new();
        assert_eq!(id.to_string().len(), 36);
        assert_eq!(id.to_string().parse::<VmId>().unwrap(), id);
        assert!(matches!(
            VmId::parse_for_lookup("nope"),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn interface_ids_are_version_7_and_sort_by_time() {
        let a = InterfaceId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = InterfaceId::new();
        assert_eq!(a.0.get_version(), Some(uuid::Version::SortRand));
        assert_eq!(a.0.get_variant(), uuid::Variant::RFC4122);
        assert!(a.to_string() < b.to_string(), "{a} was made before {b}");
        assert_ne!(InterfaceId::new(), InterfaceId::new());
    }

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(a, b);
    }
}
