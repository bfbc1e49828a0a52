//! The one error enum of nicplane. Every layer returns it; every API dialect
//! maps it once, in one function, to its own status code and error body.

use std::fmt;

/// The kind of resource an error talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DataCenter,
    Project,
    User,
    Network,
    Subnet,
    Vm,
    Interface,
    PublicIp,
    PublicIpPool,
    SecurityGroup,
    SecurityGroupRule,
    Credential,
    Job,
    Token,
    Flavor,
    Tag,
    Router,
    Host,
}

impl Kind {
    /// Every kind (tests send each through every dialect's error mapping).
    pub const ALL: [Kind; 18] = [
        Kind::DataCenter,
        Kind::Project,
        Kind::User,
        Kind::Network,
        Kind::Subnet,
        Kind::Vm,
        Kind::Interface,
        Kind::PublicIp,
        Kind::PublicIpPool,
        Kind::SecurityGroup,
        Kind::SecurityGroupRule,
        Kind::Credential,
        Kind::Job,
        Kind::Token,
        Kind::Flavor,
        Kind::Tag,
        Kind::Router,
        Kind::Host,
    ];

    /// The kind's name on the wire (the change feed's `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DataCenter => "data_center",
            Kind::Project => "project",
            Kind::User => "user",
            Kind::Network => "network",
            Kind::Subnet => "subnet",
            Kind::Vm => "vm",
            Kind::Interface => "interface",
            Kind::PublicIp => "public_ip",
            Kind::PublicIpPool => "public_ip_pool",
            Kind::SecurityGroup => "security_group",
            Kind::SecurityGroupRule => "security_group_rule",
            Kind::Credential => "credential",
            Kind::Job => "job",
            Kind::Token => "token",
            Kind::Flavor => "flavor",
            Kind::Tag => "tag",
            Kind::Router => "router",
            Kind::Host => "host",
        }
    }

    /// Human name used in messages ("Network", "VM", ...).
    pub fn label(self) -> &'static str {
        match self {
            Kind::DataCenter => "Data center",
            Kind::Project => "Project",
            Kind::User => "User",
            Kind::Network => "Network",
            Kind::Subnet => "Subnet",
            Kind::Vm => "VM",
            Kind::Interface => "Network interface",
            Kind::PublicIp => "Public IP",
            Kind::PublicIpPool => "Public IP pool",
            Kind::SecurityGroup => "Security group",
            Kind::SecurityGroupRule => "Security group rule",
            Kind::Credential => "Credential",
            Kind::Job => "Job",
            Kind::Token => "Token",
            Kind::Flavor => "Flavor",
            Kind::Tag => "Tag",
            Kind::Router => "Router",
            Kind::Host => "Host",
        }
    }
}

/// Why a request conflicts with the current state. Dialects use the reason to
/// pick their own status code (OpenStack, for example, answers the interface
/// limit with 403 while the native API answers 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictReason {
    /// The VM already has as many interfaces as the deployment allows.
    InterfaceLimitReached,
    /// A Windows VM must be stopped before NICs are added or removed.
    VmMustBeStopped,
    /// The primary interface cannot be removed or demoted.
    PrimaryInterface,
    /// The requested IP address is already allocated.
    AddressInUse,
    /// The requested MAC address is already used.
    MacInUse,
    /// The requested VLAN id is already used on that parent interface.
    VlanInUse,
    /// The interface already has a public IP.
    PublicIpExists,
    /// Public IPs are only allowed on standard (L3) networks.
    NetworkNotRoutable,
    /// The object is still used by another one.
    InUse,
    /// The object is in a state that does not allow the operation.
    WrongState,
    /// The Idempotency-Key was used before with a different request.
    IdempotencyKeyReused,
    /// An object with that name exists already.
    NameTaken,
    /// The project's quota for this kind of object is used up.
    OverQuota,
    /// The user already has as many access keys (AK/SK) as allowed.
    CredentialLimitReached,
    /// The security group already has an identical rule.
    RuleExists,
    /// A router still has interfaces (Neutron's `RouterInUse`).
    RouterInUse,
    /// A router interface is the path of a floating IP (Neutron's
    /// `RouterInterfaceInUseByFloatingIP`).
    RouterInterfaceInUseByFloatingIp,
    /// No router connects a port's subnet to the external network of a
    /// floating IP (Neutron's `ExternalGatewayForFloatingIPNotFound`, 404 there).
    NoExternalGateway,
    /// A network still has ports (Neutron's `NetworkInUse`); the native API
    /// and the console keep the console guide's words and the code `InUse`.
    NetworkInUse,
}

impl ConflictReason {
    /// Every reason (tests send each through every dialect's error mapping;
    /// `all_lists_are_complete` below fails to compile when one is missing
    /// from the match, and fails when one is missing from this list).
    pub const ALL: [ConflictReason; 19] = [
        ConflictReason::InterfaceLimitReached,
        ConflictReason::VmMustBeStopped,
        ConflictReason::PrimaryInterface,
        ConflictReason::AddressInUse,
        ConflictReason::MacInUse,
        ConflictReason::VlanInUse,
        ConflictReason::PublicIpExists,
        ConflictReason::NetworkNotRoutable,
        ConflictReason::InUse,
        ConflictReason::WrongState,
        ConflictReason::IdempotencyKeyReused,
        ConflictReason::NameTaken,
        ConflictReason::OverQuota,
        ConflictReason::CredentialLimitReached,
        ConflictReason::RuleExists,
        ConflictReason::RouterInUse,
        ConflictReason::RouterInterfaceInUseByFloatingIp,
        ConflictReason::NoExternalGateway,
        ConflictReason::NetworkInUse,
    ];

    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ConflictReason::InterfaceLimitReached => "InterfaceLimitReached",
            ConflictReason::VmMustBeStopped => "VmMustBeStopped",
            ConflictReason::PrimaryInterface => "PrimaryInterface",
            ConflictReason::AddressInUse => "AddressInUse",
            ConflictReason::MacInUse => "MacAddressInUse",
            ConflictReason::VlanInUse => "VlanInUse",
            ConflictReason::PublicIpExists => "PublicIpExists",
            ConflictReason::NetworkNotRoutable => "NetworkNotRoutable",
            ConflictReason::InUse | ConflictReason::NetworkInUse => "InUse",
            ConflictReason::WrongState => "WrongState",
            ConflictReason::IdempotencyKeyReused => "IdempotencyKeyReused",
            ConflictReason::NameTaken => "NameTaken",
            ConflictReason::OverQuota => "OverQuota",
            ConflictReason::CredentialLimitReached => "CredentialLimitReached",
            ConflictReason::RuleExists => "SecurityGroupRuleExists",
            ConflictReason::RouterInUse => "RouterInUse",
            ConflictReason::RouterInterfaceInUseByFloatingIp => "RouterInterfaceInUseByFloatingIP",
            ConflictReason::NoExternalGateway => "NoExternalGateway",
        }
    }
}

/// Every failure nicplane can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{} {id} could not be found.", kind.label())]
    NotFound { kind: Kind, id: String },
    #[error("{message}")]
    InvalidRequest { message: String },
    #[error("Invalid value for {label}: {message}")]
    InvalidValue { label: String, message: String },
    #[error("{message}")]
    Conflict {
        reason: ConflictReason,
        message: String,
    },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    Unauthenticated { message: String },
    #[error("{message}")]
    CapacityExhausted { message: String },
    #[error("{message}")]
    Unavailable { message: String },
    /// Throttled (login attempts, password hashing): try again after
    /// `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A precondition of the request does not hold (Neutron's `If-Match:
    /// revision_number=N` on a changed object). 412.
    #[error("{message}")]
    PreconditionFailed { message: String },
    #[error("Internal error: {message}")]
    Internal { message: String },
}

/// What a client is told about an internal error; the detail goes to the
/// server log only.
pub const INTERNAL_MESSAGE: &str = "Internal error; see the server log.";

/// Result with nicplane's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            message: message.into(),
        }
    }
    pub fn invalid_value(label: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidValue {
            label: label.into(),
            message: message.into(),
        }
    }
    pub fn conflict(reason: ConflictReason, message: impl Into<String>) -> Self {
        Error::Conflict {
            reason,
            message: message.into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            message: message.into(),
        }
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            message: message.into(),
        }
    }
    pub fn exhausted(message: impl Into<String>) -> Self {
        Error::CapacityExhausted {
            message: message.into(),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
        }
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable {
            message: message.into(),
        }
    }
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Error::PreconditionFailed {
            message: message.into(),
        }
    }
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Error::TooManyRequests {
            message: message.into(),
            retry_after_secs,
        }
    }

    /// One error of every variant, every conflict reason and every kind of
    /// missing object, with messages that carry `marker` (tests check that
    /// no dialect leaks an internal error's text).
    pub fn samples(marker: &str) -> Vec<Error> {
        let mut all: Vec<Error> = Kind::ALL
            .iter()
            .map(|k| Error::not_found(*k, marker))
            .collect();
        all.extend(
            ConflictReason::ALL
                .iter()
                .map(|r| Error::conflict(*r, format!("Conflict {marker}."))),
        );
        all.extend([
            Error::invalid(format!("Invalid {marker}.")),
            Error::invalid_value("field", format!("bad {marker}.")),
            Error::forbidden(format!("Forbidden {marker}.")),
            Error::unauthenticated(format!("Unauthenticated {marker}.")),
            Error::exhausted(format!("Exhausted {marker}.")),
            Error::unavailable(format!("Unavailable {marker}.")),
            Error::too_many_requests(format!("Slow down {marker}."), 7),
            Error::precondition_failed(format!("Constrained {marker}.")),
            Error::internal(format!("database error: {marker}")),
        ]);
        all
    }

    /// The message a client may see: the error's own text, except for an
    /// internal error, whose detail is for the server log only.
    pub fn client_message(&self) -> String {
        match self {
            Error::Internal { .. } => INTERNAL_MESSAGE.to_string(),
            Error::NotFound { .. }
            | Error::InvalidRequest { .. }
            | Error::InvalidValue { .. }
            | Error::Conflict { .. }
            | Error::Forbidden { .. }
            | Error::Unauthenticated { .. }
            | Error::CapacityExhausted { .. }
            | Error::Unavailable { .. }
            | Error::TooManyRequests { .. }
            | Error::PreconditionFailed { .. } => self.to_string(),
        }
    }

    /// Seconds a throttled client should wait (`Retry-After`), if throttled.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Stable machine-readable code, the same in every dialect that shows one.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NotFound",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::InvalidValue { .. } => "InvalidValue",
            Error::Conflict { reason, .. } => reason.code(),
            Error::Forbidden { .. } => "Forbidden",
            Error::Unauthenticated { .. } => "Unauthenticated",
            Error::CapacityExhausted { .. } => "CapacityExhausted",
            Error::Unavailable { .. } => "ServiceUnavailable",
            Error::TooManyRequests { .. } => "TooManyRequests",
            Error::PreconditionFailed { .. } => "PreconditionFailed",
            Error::Internal { .. } => "Internal",
        }
    }

    /// The HTTP status most dialects use for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotFound { .. } => 404,
            Error::InvalidRequest { .. } | Error::InvalidValue { .. } => 400,
            Error::Conflict { .. } | Error::CapacityExhausted { .. } => 409,
            Error::Forbidden { .. } => 403,
            Error::Unauthenticated { .. } => 401,
            Error::Unavailable { .. } => 503,
            Error::TooManyRequests { .. } => 429,
            Error::PreconditionFailed { .. } => 412,
            Error::Internal { .. } => 500,
        }
    }

    /// The conflict reason, if this is a conflict.
    pub fn conflict_reason(&self) -> Option<ConflictReason> {
        match self {
            Error::Conflict { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant appears in `ALL`: the matches have no wildcard, so a
    /// new variant does not compile until it is added here (and to `ALL`).
    #[test]
    fn all_lists_are_complete() {
        for (i, r) in ConflictReason::ALL.iter().enumerate() {
            let n = match r {
                ConflictReason::InterfaceLimitReached => 0,
                ConflictReason::VmMustBeStopped => 1,
                ConflictReason::PrimaryInterface => 2,
                ConflictReason::AddressInUse => 3,
                ConflictReason::MacInUse => 4,
                ConflictReason::VlanInUse => 5,
                ConflictReason::PublicIpExists => 6,
                ConflictReason::NetworkNotRoutable => 7,
                ConflictReason::InUse => 8,
                ConflictReason::WrongState => 9,
                ConflictReason::IdempotencyKeyReused => 10,
                ConflictReason::NameTaken => 11,
                ConflictReason::OverQuota => 12,
                ConflictReason::CredentialLimitReached => 13,
                ConflictReason::RuleExists => 14,
                ConflictReason::RouterInUse => 15,
                ConflictReason::RouterInterfaceInUseByFloatingIp => 16,
                ConflictReason::NoExternalGateway => 17,
                ConflictReason::NetworkInUse => 18,
            };
            assert_eq!(i, n, "{r:?}");
        }
        for (i, k) in Kind::ALL.iter().enumerate() {
            let n = match k {
                Kind::DataCenter => 0,
                Kind::Project => 1,
                Kind::User => 2,
                Kind::Network => 3,
                Kind::Subnet => 4,
                Kind::Vm => 5,
                Kind::Interface => 6,
                Kind::PublicIp => 7,
                Kind::PublicIpPool => 8,
                Kind::SecurityGroup => 9,
                Kind::SecurityGroupRule => 10,
                Kind::Credential => 11,
                Kind::Job => 12,
                Kind::Token => 13,
                Kind::Flavor => 14,
                Kind::Tag => 15,
                Kind::Router => 16,
                Kind::Host => 17,
            };
            assert_eq!(i, n, "{k:?}");
        }
        let samples = Error::samples("x");
        assert_eq!(
            samples.len(),
            Kind::ALL.len() + ConflictReason::ALL.len() + 9
        );
        for e in &samples {
            // Every variant of Error is among the samples.
            match e {
                Error::NotFound { .. }
                | Error::InvalidRequest { .. }
                | Error::InvalidValue { .. }
                | Error::Conflict { .. }
                | Error::Forbidden { .. }
                | Error::Unauthenticated { .. }
                | Error::CapacityExhausted { .. }
                | Error::Unavailable { .. }
                | Error::TooManyRequests { .. }
                | Error::PreconditionFailed { .. }
                | Error::Internal { .. } => {}
            }
        }
    }

    #[test]
    fn an_internal_error_hides_its_detail_from_clients() {
        let e = Error::internal("database error: disk I/O at /var/lib/x");
        assert_eq!(e.client_message(), INTERNAL_MESSAGE);
        assert!(
            e.to_string().contains("/var/lib/x"),
            "the log keeps the detail"
        );
        assert_eq!(Error::invalid("Bad.").client_message(), "Bad.");
    }
}
