//! The Huawei dialect's errors: one function maps the domain error to a
//! status and a Huawei error code, and two shapes carry them:
//!
//! * VPC v3, IAM and the gateway's own errors (bad signature):
//!   `{"request_id": "...", "error_code": "VPC.0404", "error_msg": "..."}`;
//! * ECS: `{"error": {"code": "Ecs.0114", "message": "...", "details": []}}`.
//!
//! Both answers carry `X-Request-Id`, which the SDK reads as the request id,
//! equal to the body's `request_id` (set by `request_id::middleware`).
//! The code table is in `docs/huawei.md`.

use crate::request_id;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::{ConflictReason, Error, Kind};
use serde_json::json;

/// Which error body to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"request_id","error_code","error_msg"}` (VPC, IAM, gateway).
    Vpc,
    /// `{"error":{"code","message"}}` (ECS).
    Ecs,
}

/// An error answered by the Huawei dialect.
#[derive(Debug)]
pub struct HwError {
    pub error: Error,
    pub shape: Shape,
}

impl From<Error> for HwError {
    fn from(error: Error) -> Self {
        HwError {
            error,
            shape: Shape::Vpc,
        }
    }
}

/// An ECS-shaped error.
pub fn ecs(error: Error) -> HwError {
    HwError {
        error,
        shape: Shape::Ecs,
    }
}

/// Result of a Huawei handler.
pub type HwResult<T> = Result<T, HwError>;

/// The one mapping from the domain error to (status, code, message).
pub fn map(e: &Error, shape: Shape) -> (u16, &'static str, String) {
    let vpc = shape == Shape::Vpc;
    let pick = |v: &'static str, c: &'static str| if vpc { v } else { c };
    match e {
        // A path project the caller has no role in: Huawei's "urlTenantId is
        // not equal tokenTenantId".
        Error::NotFound {
            kind: Kind::Project,
            id,
        } => (
            400,
            pick("VPC.0007", "Ecs.0007"),
            format!("The project {id} in the URL is not a project of the signing user."),
        ),
        Error::NotFound { kind, .. } => (
            404,
            match kind {
                Kind::Vm => pick("VPC.0404", "Ecs.0114"),
                Kind::Job => pick("VPC.0404", "Ecs.0116"),
                _ => pick("VPC.0404", "Ecs.0115"),
            },
            e.client_message(),
        ),
        Error::InvalidRequest { .. } | Error::InvalidValue { .. } => {
            (400, pick("VPC.0001", "Ecs.0005"), e.client_message())
        }
        Error::Unauthenticated { .. } => (401, "APIG.0301", e.client_message()),
        Error::Forbidden { .. } => (403, pick("VPC.2701", "Ecs.0102"), e.client_message()),
        Error::Conflict { reason, .. } => {
            let (status, v, c) = match reason {
                ConflictReason::PrimaryInterface => (403, "VPC.2702", "Ecs.0103"),
                ConflictReason::VlanInUse => (409, "VPC.1701", "Ecs.0201"),
                ConflictReason::AddressInUse => (409, "VPC.1702", "Ecs.0202"),
                ConflictReason::InUse | ConflictReason::NetworkInUse => {
                    (409, "VPC.1703", "Ecs.0203")
                }
                ConflictReason::WrongState | ConflictReason::VmMustBeStopped => {
                    (409, "VPC.1704", "Ecs.0204")
                }
                ConflictReason::MacInUse => (409, "VPC.1705", "Ecs.0205"),
                ConflictReason::InterfaceLimitReached => (409, "VPC.1707", "Ecs.0207"),
                ConflictReason::OverQuota => (409, "VPC.0106", "Ecs.0605"),
                ConflictReason::PublicIpExists
                | ConflictReason::NetworkNotRoutable
                | ConflictReason::IdempotencyKeyReused
                | ConflictReason::NameTaken
                | ConflictReason::RuleExists
                | ConflictReason::RouterInUse
                | ConflictReason::RouterInterfaceInUseByFloatingIp
                | ConflictReason::NoExternalGateway => (409, "VPC.1700", "Ecs.0200"),
                // Huawei IAM answers a third access key with 400 and the
                // message `akSkNumExceed`; the dialect follows it.
                ConflictReason::CredentialLimitReached => (400, "akSkNumExceed", "akSkNumExceed"),
            };
            (status, pick(v, c), e.client_message())
        }
        Error::CapacityExhausted { .. } => (409, pick("VPC.1706", "Ecs.0206"), e.client_message()),
        Error::Unavailable { .. } => (503, pick("VPC.0503", "Ecs.0503"), e.client_message()),
        // The API gateway's throttling answer.
        Error::TooManyRequests { .. } => (429, "APIG.0308", e.client_message()),
        Error::PreconditionFailed { .. } => (412, pick("VPC.0412", "Ecs.0412"), e.client_message()),
        Error::Internal { .. } => (500, pick("VPC.0500", "Ecs.0500"), e.client_message()),
    }
}

impl IntoResponse for HwError {
    fn into_response(self) -> Response {
        let (status, code, message) = map(&self.error, self.shape);
        request_id::log_failure(&self.error, "huawei");
        let body = match self.shape {
            Shape::Vpc => json!({
                "request_id": request_id::current(),
                "error_code": code,
                "error_msg": message,
            }),
            Shape::Ecs => json!({
                "error": {"code": code, "message": message, "details": []},
            }),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_are_meaningful() {
        let vlan = Error::conflict(ConflictReason::VlanInUse, "VLAN 5 is already used");
        assert_eq!(map(&vlan, Shape::Vpc).0, 409);
        assert_eq!(map(&vlan, Shape::Vpc).1, "VPC.1701");
        let primary = Error::conflict(ConflictReason::PrimaryInterface, "primary");
        assert_eq!(
            map(&primary, Shape::Ecs),
            (403, "Ecs.0103", "primary".into())
        );
        let project = Error::not_found(Kind::Project, "ab");
        assert_eq!(map(&project, Shape::Vpc).1, "VPC.0007");
        assert_eq!(
            map(&Error::not_found(Kind::Vm, "x"), Shape::Ecs).1,
            "Ecs.0114"
        );
        assert_eq!(
            map(&Error::unauthenticated("no"), Shape::Ecs).1,
            "APIG.0301"
        );
        assert_eq!(
            map(&Error::internal("secret detail"), Shape::Vpc).2,
            "Internal error; see the server log."
        );
    }
}
