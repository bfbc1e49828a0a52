//! Verification of Huawei's `SDK-HMAC-SHA256` request signature, exactly as
//! the official SDKs compute it (`huaweicloudsdkcore/signer/signer.py`):
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(SK, StringToSign))
//! ```
//!
//! * CanonicalURI: the raw path percent-decoded, split on `/`, each segment
//!   re-encoded (RFC 3986 unreserved characters kept, the rest `%XX`), joined,
//!   with a trailing `/` always added.
//! * CanonicalQuery: each `k=v` pair percent-decoded (a `+` stays a `+`, as
//!   the SDK, which sends the query already in canonical form, never writes
//!   a raw `+`: it encodes `+` as `%2B` and a space as `%20`), sorted by key
//!   then value, re-encoded the same way, joined with `&`. The handlers
//!   decode the query with the same function ([`decode_component`]), so what
//!   was signed is what is executed.
//! * CanonicalHeaders: `name:value.trim()\n` for each signed header, in the
//!   order of `SignedHeaders` (lowercase, sorted by the client).
//! * The body hash is of the raw bytes. A signed `X-Sdk-Content-Sha256`
//!   header must equal that hash (hex, any case); its `UNSIGNED-PAYLOAD`
//!   (which the SDK sends for streamed, non-JSON bodies) is accepted only for
//!   an empty body: every body this API reads is JSON, and an unsigned body
//!   could be replaced in transit.
//!
//! `host` and `x-sdk-date` must be signed headers. The date must be within
//! [`MAX_SKEW`] of the server's clock, and the signatures are compared in
//! constant time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// The only algorithm accepted (the SDKs' default).
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Largest accepted distance between `X-Sdk-Date` and the server's clock.
pub const MAX_SKEW: Duration = Duration::minutes(15);
/// Header carrying the signing time, `%Y%m%dT%H%M%SZ`.
pub const DATE_HEADER: &str = "x-sdk-date";
/// Header that carries the body hash (or `UNSIGNED-PAYLOAD`) when signed.
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";
/// The SDK's value of [`CONTENT_SHA256_HEADER`] for a body it does not hash.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Prefix of the gateway's messages for a refused signature (APIG.0301).
const INCORRECT: &str = "Incorrect IAM authentication information";

/// Why a signature is refused; the message goes to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The parts of an `Authorization: SDK-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parse `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(value: &str) -> Result<Authorization, Refused> {
    let value = value.trim();
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            let alg = value.split(' ').next().unwrap_or("");
            Refused(format!(
                "The signing algorithm '{alg}' is not supported; use {ALGORITHM}."
            ))
        })?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| Refused("The Authorization header is malformed.".into()))?;
        match k {
            "Access" => access = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            _ => {}
        }
    }
    let missing = |what: &str| Refused(format!("The Authorization header has no {what}."));
    let access = access
        .filter(|a| !a.is_empty())
        .ok_or_else(|| missing("Access"))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    Ok(Authorization {
        access,
        signed_headers: signed.split(';').map(|h| h.to_ascii_lowercase()).collect(),
        signature,
    })
}

/// What the verifier needs from a request.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw path, as received (percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Looks up a header value by lowercase name.
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a [u8],
}

/// RFC 3986 encoding of a decoded string: unreserved characters kept, every
/// other byte as `%XX` (uppercase).
pub fn uri_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode one query key or value the way the signer does (percent escapes
/// only; a `+` stays a `+`). The handlers use this too.
pub fn decode_component(s: &str) -> String {
    crate::query::component(s, crate::query::Plus::Literal)
}

pub use crate::query::percent_decode;

/// The canonical URI of a raw path.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut uri = decoded
        .split(|&c| c == b'/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query of a raw query string.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Build the canonical request.
pub fn canonical_request(req: &SignedRequest, auth: &Authorization) -> Result<String, Refused> {
    let mut headers = String::new();
    for name in &auth.signed_headers {
        let value = (req.header)(name).ok_or_else(|| {
            Refused(format!(
                "The signed header '{name}' is missing from the request."
            ))
        })?;
        headers.push_str(name);
        headers.push(':');
        headers.push_str(value.trim());
        headers.push('\n');
    }
    let actual = hex::encode(Sha256::digest(req.body));
    let signed_hash = auth
        .signed_headers
        .iter()
        .any(|h| h == CONTENT_SHA256_HEADER);
    let payload = match (req.header)(CONTENT_SHA256_HEADER) {
        Some(v) if signed_hash => {
            let v = v.trim();
            if v == UNSIGNED_PAYLOAD {
                if !req.body.is_empty() {
                    return Err(Refused(format!(
                        "{INCORRECT}: X-Sdk-Content-Sha256 {UNSIGNED_PAYLOAD} is not accepted for a request with a body; sign the SHA-256 of the body."
                    )));
                }
            } else if !v.eq_ignore_ascii_case(&actual) {
                return Err(Refused(format!(
                    "{INCORRECT}: X-Sdk-Content-Sha256 does not match the SHA-256 of the request body."
                )));
            }
            v.to_string()
        }
        _ => actual,
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        headers,
        auth.signed_headers.join(";"),
        payload
    ))
}

/// The string to sign for a canonical request and a date.
pub fn string_to_sign(canonical: &str, date: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// The hex signature of a string to sign.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Parse `X-Sdk-Date` (`20250101T000000Z`).
pub fn parse_date(s: &str) -> Result<OffsetDateTime, Refused> {
    PrimitiveDateTime::parse(s, crate::timefmt::SDK_DATE)
        .map(|t| t.assume_utc())
        .map_err(|_| {
            Refused(format!(
                "The X-Sdk-Date header '{s}' is not a date like 20250101T000000Z."
            ))
        })
}

/// Verify a request's signature with the secret of its access key, at time
/// `now`.
pub fn verify(
    req: &SignedRequest,
    auth: &Authorization,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), Refused> {
    let date = (req.header)(DATE_HEADER)
        .ok_or_else(|| Refused("The X-Sdk-Date header is missing.".into()))?;
    let at = parse_date(date.trim())?;
    if (now - at).abs() > MAX_SKEW {
        return Err(Refused(format!(
            "The signature has expired: X-Sdk-Date {} is more than 15 minutes away from the server's time.",
            date.trim()
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == DATE_HEADER) {
        return Err(Refused("X-Sdk-Date must be a signed header.".into()));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(Refused(format!(
            "{INCORRECT}: Host must be a signed header."
        )));
    }
    let canonical = canonical_request(req, auth)?;
    let expected = sign(secret, &string_to_sign(&canonical, date.trim()));
    let given = auth.signature.to_ascii_lowercase();
    if expected.as_bytes().ct_eq(given.as_bytes()).into() {
        Ok(())
    } else {
        Err(Refused(format!("{INCORRECT}: verify aksk signature fail.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AK: &str = "AKTESTAKTESTAKTEST01";
    const SK: &str = "SKtestSKtestSKtestSKtestSKtestSKtestSKte";
    const PATH: &str = "/v3/0123456789abcdef0123456789abcdef/vpc/sub-network-interfaces";
    const BODY: &[u8] = br#"{"sub_network_interface": {"virsubnet_id": "08278e6c-61ca-46c1-9fc3-0d4f6c12f193", "parent_id": "637748df-2986-4350-8303-95d259580fb3"}}"#;
    const SIGNED: &str = "content-type;host;user-agent;x-project-id;x-sdk-date";
    const NOW: OffsetDateTime = datetime!(2025-01-01 00:05:00 UTC);

    fn headers(name: &str) -> Option<String> {
        match name {
            "content-type" => Some("application/json".into()),
            "host" => Some("127.0.0.1:8080".into()),
            "user-agent" => Some("nicplane-test".into()),
            "x-project-id" => Some("0123456789abcdef0123456789abcdef".into()),
            "x-sdk-date" => Some("20250101T000000Z".into()),
            _ => None,
        }
    }

    fn auth(signature: &str) -> Authorization {
        parse_authorization(&format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={signature}"
        ))
        .unwrap()
    }

    /// Reference vector (a): the POST of a create, as the SDK signs it.
    #[test]
    fn reference_vector_a_post_verifies() {
        let req = SignedRequest {
            method: "POST",
            path: PATH,
            query: "",
            header: &headers,
            body: BODY,
        };
        let a = auth("d66f197f1a24af42e097e843d9b36e187671c20ffc5d993831583ae6d8736093");
        let canonical = canonical_request(&req, &a).unwrap();
        assert_eq!(
            canonical,
            format!(
                "POST\n{PATH}/\n\ncontent-type:application/json\nhost:127.0.0.1:8080\nuser-agent:nicplane-test\n\
                 x-project-id:0123456789abcdef0123456789abcdef\nx-sdk-date:20250101T000000Z\n\n{SIGNED}\n\
                 dfa31814816a82d6e6c10eef15f4322552296e50cc8ab56a10579218d95c57d0"
            )
        );
        assert_eq!(verify(&req, &a, SK, NOW), Ok(()));
    }

    /// Reference vector (b): a GET with repeated and escaped query parameters.
    #[test]
    fn reference_vector_b_get_with_query_verifies() {
        let req = SignedRequest {
            method: "GET",
            path: PATH,
            query: "description=x%20y%26z&id=a&id=b&limit=10",
            header: &headers,
            body: b"",
        };
        let a = auth("e8d5d8c4c5daf3e188f2e1fbc31336bcc43f859468171a0a4ea796be27bc8984");
        assert_eq!(verify(&req, &a, SK, NOW), Ok(()));
        // The same pairs in another order canonicalize identically.
        let shuffled = SignedRequest {
            query: "limit=10&id=b&description=x%20y%26z&id=a",
            ..req
        };
        assert_eq!(verify(&shuffled, &a, SK, NOW), Ok(()));
    }

    #[test]
    fn a_wrong_secret_or_changed_body_is_refused() {
        let a = auth("d66f197f1a24af42e097e843d9b36e187671c20ffc5d993831583ae6d8736093");
        let req = SignedRequest {
            method: "POST",
            path: PATH,
            query: "",
            header: &headers,
            body: BODY,
        };
        assert!(verify(&req, &a, "another-secret", NOW).is_err());
        let tampered = SignedRequest { body: b"{}", ..req };
        assert!(verify(&tampered, &a, SK, NOW).is_err());
    }

    /// Sign `req` with `SK` over `signed` headers (the test's own signer).
    fn signature(req: &SignedRequest, signed: &str) -> Authorization {
        let unsigned = parse_authorization(&format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature=00"
        ))
        .unwrap();
        let canonical = canonical_request(req, &unsigned).unwrap();
        let sig = sign(SK, &string_to_sign(&canonical, "20250101T000000Z"));
        Authorization {
            signature: sig,
            ..unsigned
        }
    }

    #[test]
    fn a_signed_body_hash_must_match_the_body() {
        let hash_of_a = hex::encode(Sha256::digest(BODY));
        let with_hash = |name: &str| match name {
            CONTENT_SHA256_HEADER => Some(hash_of_a.clone()),
            n => headers(n),
        };
        let signed = "content-type;host;x-sdk-content-sha256;x-sdk-date";
        let req = SignedRequest {
            method: "POST",
            path: PATH,
            query: "",
            header: &with_hash,
            body: BODY,
        };
        let a = signature(&req, signed);
        assert_eq!(verify(&req, &a, SK, NOW), Ok(()));
        // Body B sent under the signed hash of body A.
        let tampered = SignedRequest {
            body: br#"{"sub_network_interface": {}}"#,
            ..req
        };
        assert_eq!(
            verify(&tampered, &a, SK, NOW),
            Err(Refused("Incorrect IAM authentication information: X-Sdk-Content-Sha256 does not match the SHA-256 of the request body.".into()))
        );
    }

    #[test]
    fn unsigned_payload_is_refused_for_a_body() {
        let unsigned = |name: &str| match name {
            CONTENT_SHA256_HEADER => Some(UNSIGNED_PAYLOAD.to_string()),
            n => headers(n),
        };
        let signed = "host;x-sdk-content-sha256;x-sdk-date";
        let post = SignedRequest {
            method: "POST",
            path: PATH,
            query: "",
            header: &unsigned,
            body: BODY,
        };
        let refused = signature(&SignedRequest { body: b"", ..post }, signed);
        let e = verify(&post, &refused, SK, NOW).unwrap_err();
        assert!(e.0.contains("UNSIGNED-PAYLOAD is not accepted"), "{e:?}");
        // Without a body there is nothing to protect.
        let get = SignedRequest {
            method: "GET",
            body: b"",
            ..post
        };
        let a = signature(&get, signed);
        assert_eq!(verify(&get, &a, SK, NOW), Ok(()));
    }

    #[test]
    fn host_must_be_signed() {
        let req = SignedRequest {
            method: "GET",
            path: PATH,
            query: "",
            header: &headers,
            body: b"",
        };
        let a = signature(&req, "content-type;x-sdk-date");
        assert_eq!(
            verify(&req, &a, SK, NOW),
            Err(Refused(
                "Incorrect IAM authentication information: Host must be a signed header.".into()
            ))
        );
    }

    #[test]
    fn a_plus_in_the_query_is_a_plus_for_signer_and_handlers() {
        assert_eq!(decode_component("a+b%20c%2B"), "a+b c+");
        assert_eq!(canonical_query("q=a+b"), "q=a%2Bb");
    }

    #[test]
    fn dates_more_than_15_minutes_away_are_refused() {
        let a = auth("d66f197f1a24af42e097e843d9b36e187671c20ffc5d993831583ae6d8736093");
        let req = SignedRequest {
            method: "POST",
            path: PATH,
            query: "",
            header: &headers,
            body: BODY,
        };
        assert!(verify(&req, &a, SK, datetime!(2025-01-01 00:14:59 UTC)).is_ok());
        assert!(verify(&req, &a, SK, datetime!(2024-12-31 23:45:01 UTC)).is_ok());
        let late = verify(&req, &a, SK, datetime!(2025-01-01 00:15:01 UTC)).unwrap_err();
        assert!(late.0.contains("expired"), "{late:?}");
        assert!(verify(&req, &a, SK, datetime!(2024-12-31 23:44:59 UTC)).is_err());
    }

    #[test]
    fn authorization_headers_are_parsed_strictly() {
        assert!(parse_authorization("Bearer abc").is_err());
        assert!(
            parse_authorization("SDK-HMAC-SHA256X Access=a, SignedHeaders=h, Signature=s").is_err()
        );
        assert!(parse_authorization("SDK-HMAC-SHA256 SignedHeaders=h, Signature=s").is_err());
        let a = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;X-Sdk-Date, Signature=ab",
        )
        .unwrap();
        assert_eq!(a.signed_headers, vec!["host", "x-sdk-date"]);
    }

    #[test]
    fn canonical_uri_and_query_follow_rfc3986() {
        assert_eq!(
            canonical_uri("/v3/%7Bproject_id%7D/x"),
            "/v3/%7Bproject_id%7D/x/"
        );
        assert_eq!(canonical_uri("/a%20b/"), "/a%20b/");
        assert_eq!(canonical_query("b=2&a=x+y&a=1"), "a=1&a=x%2By&b=2");
        assert_eq!(canonical_query(""), "");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4".to_vec());
    }
}
