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
}

impl Kind {
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
}

impl ConflictReason {
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
            ConflictReason::InUse => "InUse",
            ConflictReason::WrongState => "WrongState",
            ConflictReason::IdempotencyKeyReused => "IdempotencyKeyReused",
            ConflictReason::NameTaken => "NameTaken",
            ConflictReason::OverQuota => "OverQuota",
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
    #[error("Internal error: {message}")]
    Internal { message: String },
}

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
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Error::TooManyRequests {
            message: message.into(),
            retry_after_secs,
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
