//! Quotas: how many objects of each kind a project may hold. The resource
//! names and defaults are Neutron's (`neutron.conf [quotas]`); a limit of
//! [`UNLIMITED`] (-1) means no limit. The check itself is
//! [`crate::rules::within_quota`], repeated by the triggers of
//! `migrations/*/0006_quotas.sql` inside the transaction that inserts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// A limit meaning "no limit" (Neutron's -1).
pub const UNLIMITED: i64 = -1;

/// Largest limit accepted (Neutron accepts any int; this keeps it in i32).
pub const QUOTA_MAX: i64 = i32::MAX as i64;

/// A kind of object counted against a project's quota.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum QuotaResource {
    /// Every interface row of the project: elastic, primary, supplementary,
    /// Neutron ports.
    Port,
    /// Networks the project owns.
    Network,
    /// Subnets of networks the project owns.
    Subnet,
    /// Public IPs (Neutron floating IPs and Huawei EIPs are the same rows).
    Floatingip,
    /// Security groups, the `default` group included.
    SecurityGroup,
    /// Security group rules, the default group's rules included.
    SecurityGroupRule,
    /// Routers.
    Router,
}

impl QuotaResource {
    /// Every resource, in the order reports show them.
    pub const ALL: [QuotaResource; 7] = [
        QuotaResource::Network,
        QuotaResource::Subnet,
        QuotaResource::Port,
        QuotaResource::Floatingip,
        QuotaResource::SecurityGroup,
        QuotaResource::SecurityGroupRule,
        QuotaResource::Router,
    ];

    /// Neutron's name, also the `resource` column of the quota tables.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaResource::Port => "port",
            QuotaResource::Network => "network",
            QuotaResource::Subnet => "subnet",
            QuotaResource::Floatingip => "floatingip",
            QuotaResource::SecurityGroup => "security_group",
            QuotaResource::SecurityGroupRule => "security_group_rule",
            QuotaResource::Router => "router",
        }
    }

    /// Neutron's default limit (`quota_port = 500`, …); also seeded by the
    /// migration into `quota_defaults`.
    pub fn neutron_default(self) -> i64 {
        match self {
            QuotaResource::Port => 500,
            QuotaResource::Network => 100,
            QuotaResource::Subnet => 100,
            QuotaResource::Floatingip => 50,
            QuotaResource::SecurityGroup => 10,
            QuotaResource::SecurityGroupRule => 100,
            QuotaResource::Router => crate::rules::ROUTER_QUOTA_DEFAULT,
        }
    }
}

impl fmt::Display for QuotaResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuotaResource {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        QuotaResource::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                crate::Error::invalid(format!(
                    "Unknown quota resource {s}; known: network, subnet, port, floatingip, security_group, security_group_rule, router."
                ))
            })
    }
}

/// Limit and usage of one resource of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuotaUsage {
    pub resource: QuotaResource,
    /// Most objects allowed; -1 is unlimited.
    pub limit: i64,
    /// Objects the project holds now (may exceed a limit lowered later).
    pub used: i64,
    /// Always 0: nicplane charges inside the creating transaction, so nothing
    /// is ever reserved (Neutron's `reserved`).
    pub reserved: i64,
}
