//! Every domain error (every variant, every conflict reason, every kind of
//! missing object) through every dialect's error mapping: a sane status, the
//! dialect's own body shape, and no internal text in the answer.

use crate::huawei::error::{HwError, Shape};
use crate::native::error::ApiError;
use crate::openstack::keystone::KeystoneError;
use crate::openstack::neutron::NeutronError;
use crate::openstack::nova::NovaError;
use axum::response::{IntoResponse, Response};
use nicplane_domain::{ConflictReason, Error, Kind, INTERNAL_MESSAGE};
use serde_json::Value;

/// Text that an internal error carries and no client may see.
const MARKER: &str = "SECRET-INTERNAL-DETAIL /var/lib/nicplane/db.sqlite";

/// The status every dialect may answer for this error.
fn allowed_statuses(e: &Error) -> &'static [u16] {
    match e {
        Error::NotFound {
            kind: Kind::Project,
            ..
        } => &[400, 404],
        Error::NotFound { .. } => &[404],
        Error::InvalidRequest { .. } | Error::InvalidValue { .. } => &[400],
        // OpenStack answers the interface limit 403 and Nova a port over
        // quota 403 (PortLimitExceeded); Huawei the primary interface 403 and
        // the access key limit 400 (IAM's akSkNumExceed).
        Error::Conflict { reason, .. } => match reason {
            ConflictReason::InterfaceLimitReached
            | ConflictReason::PrimaryInterface
            | ConflictReason::OverQuota => &[403, 409],
            ConflictReason::CredentialLimitReached => &[400, 409],
            ConflictReason::VmMustBeStopped
            | ConflictReason::AddressInUse
            | ConflictReason::MacInUse
            | ConflictReason::VlanInUse
            | ConflictReason::PublicIpExists
            | ConflictReason::NetworkNotRoutable
            | ConflictReason::InUse
            | ConflictReason::WrongState
            | ConflictReason::IdempotencyKeyReused
            | ConflictReason::NameTaken
            | ConflictReason::RuleExists
            | ConflictReason::RouterInUse
            | ConflictReason::NetworkInUse
            | ConflictReason::RouterInterfaceInUseByFloatingIp => &[409],
            // Neutron's ExternalGatewayForFloatingIPNotFound is a 404.
            ConflictReason::NoExternalGateway => &[404, 409],
        },
        Error::Forbidden { .. } => &[403],
        Error::Unauthenticated { .. } => &[401],
        // Nova's NoMoreFixedIps is a 400.
        Error::CapacityExhausted { .. } => &[400, 409],
        Error::Unavailable { .. } => &[503],
        Error::TooManyRequests { .. } => &[429],
        Error::PreconditionFailed { .. } => &[412],
        Error::Internal { .. } => &[500],
    }
}

async fn body(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("no string at {path:?} in {v}"))
}

/// One dialect's answer: (status, the message field, the whole body).
async fn answers(e: &Error) -> Vec<(&'static str, u16, String, Value)> {
    let mut out = Vec::new();
    let (s, v) = body(ApiError(e.clone()).into_response()).await;
    assert_eq!(v["error"]["status"], s, "native status in body: {v}");
    assert!(!str_at(&v, &["error", "code"]).is_empty());
    out.push((
        "native",
        s,
        str_at(&v, &["error", "message"]).to_string(),
        v,
    ));

    let (s, v) = body(NeutronError::from(e.clone()).into_response()).await;
    assert!(!str_at(&v, &["NeutronError", "type"]).is_empty(), "{v}");
    out.push((
        "neutron",
        s,
        str_at(&v, &["NeutronError", "message"]).to_string(),
        v,
    ));

    let (s, v) = body(NovaError::from(e.clone()).into_response()).await;
    let obj = v.as_object().expect("nova fault object");
    assert_eq!(obj.len(), 1, "one fault key: {v}");
    let (fault, inner) = obj.iter().next().unwrap();
    assert_eq!(inner["code"], s, "nova {fault}: {v}");
    let m = inner["message"].as_str().unwrap().to_string();
    out.push(("nova", s, m, v));

    let k = KeystoneError {
        error: e.clone(),
        www: "Keystone uri=\"http://x/identity\"".into(),
    };
    let (s, v) = body(k.into_response()).await;
    assert_eq!(v["error"]["code"], s, "keystone: {v}");
    assert!(!str_at(&v, &["error", "title"]).is_empty());
    out.push((
        "keystone",
        s,
        str_at(&v, &["error", "message"]).to_string(),
        v,
    ));

    for shape in [Shape::Vpc, Shape::Ecs] {
        let (s, v) = body(
            HwError {
                error: e.clone(),
                shape,
            }
            .into_response(),
        )
        .await;
        let (code, msg) = match shape {
            Shape::Vpc => {
                assert!(v.get("request_id").is_some(), "{v}");
                (
                    str_at(&v, &["error_code"]).to_string(),
                    str_at(&v, &["error_msg"]).to_string(),
                )
            }
            Shape::Ecs => (
                str_at(&v, &["error", "code"]).to_string(),
                str_at(&v, &["error", "message"]).to_string(),
            ),
        };
        assert!(!code.is_empty(), "{v}");
        out.push((
            if shape == Shape::Vpc {
                "huawei-vpc"
            } else {
                "huawei-ecs"
            },
            s,
            msg,
            v,
        ));
    }
    out
}

#[tokio::test]
async fn every_domain_error_maps_sanely_in_every_dialect() {
    let samples = Error::samples(MARKER);
    assert_eq!(
        samples.len(),
        Kind::ALL.len() + ConflictReason::ALL.len() + 9
    );
    for e in &samples {
        for (dialect, status, message, whole) in answers(e).await {
            assert!(
                allowed_statuses(e).contains(&status),
                "{dialect}: {e:?} answered {status}"
            );
            assert!(!message.is_empty(), "{dialect}: {e:?} has no message");
            if let Error::Internal { .. } = e {
                let text = whole.to_string();
                assert!(
                    !text.contains("SECRET-INTERNAL-DETAIL") && !text.contains("/var/lib"),
                    "{dialect} leaks the internal detail: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_native_api_sends_a_generic_message_for_an_internal_error() {
    let (status, v) = body(ApiError(Error::internal(MARKER)).into_response()).await;
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], "Internal");
    assert_eq!(v["error"]["message"], INTERNAL_MESSAGE);
}

#[tokio::test]
async fn a_third_access_key_is_iam_s_ak_sk_num_exceed_on_huawei() {
    let e = Error::conflict(ConflictReason::CredentialLimitReached, "Too many keys.");
    let (status, v) = body(HwError::from(e.clone()).into_response()).await;
    assert_eq!(status, 400);
    assert_eq!(v["error_code"], "akSkNumExceed");
    assert_eq!(v["error_msg"], "Too many keys.");
    let (status, v) = body(ApiError(e).into_response()).await;
    assert_eq!(status, 409);
    assert_eq!(v["error"]["code"], "CredentialLimitReached");
}
