//! The OpenAPI document of the native API (`/v1/openapi.json`).
//!
//! The handlers' `#[utoipa::path]` annotations give the paths, parameters,
//! bodies and success answers; [`document`] then adds what every operation
//! shares, from one table instead of seventy annotations: the bearer
//! security scheme (every operation but `auth_login`), the error answers in
//! the native error shape ([`ErrorBody`]), the write options every write
//! takes (`?dry_run=true`, answered 202, and `Idempotency-Key`). Enum values
//! are documented as the wire spells them by the domain's `str_enum!`.
//!
//! Which errors an operation documents follows from what the extractors and
//! the core can answer:
//! - 400 when it takes a path or query parameter or a body (the extractors
//!   refuse malformed ones, the domain refuses invalid values);
//! - 401 when it needs a token (none, expired or revoked; at login, wrong
//!   credentials), 403 when a role or policy can refuse it;
//! - 404 when its path, query or body can name an object (missing, or not
//!   the caller's);
//! - 409 when it changes state (in use, limit reached, wrong state, quota);
//! - 429 when it checks or hashes a password (login throttle, hash queue);
//! - 503 always (store unavailable, request timeout, connection cap).

use super::error::{ErrorBody, ErrorDetail};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::OpenApi;

/// The document's static part; the routes are added by [`super::api`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "nicplane native API",
        description = "Manage VMs, their network interfaces and public IPs. Send the token \
            of `POST /v1/auth/login` as `Authorization: Bearer <token>` (or `X-Auth-Token`). \
            Every error is answered as `{\"error\": {status, code, message, request_id}}`."
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub(super) struct ApiDoc;

/// Name of the bearer-token security scheme.
pub const BEARER: &str = "bearer";
/// Name of the `X-Auth-Token` security scheme (the same token, Keystone's header).
pub const X_AUTH_TOKEN: &str = "x_auth_token";

/// Operations that need no token.
pub const PUBLIC_OPERATIONS: &[&str] = &["auth_login"];

/// Operations that check or hash a password: they pass the login throttle or
/// the hash queue, either of which answers 429 with `Retry-After`.
pub const PASSWORD_OPERATIONS: &[&str] = &[
    "auth_login",
    "auth_password_change",
    "user_create",
    "user_update",
    "user_password_change",
];

/// Operations on the caller's own session: no role is needed, so never 403.
pub const SELF_OPERATIONS: &[&str] = &["auth_logout", "auth_whoami", "auth_password_change"];

/// Writes that are not use cases of a project's state: they take no
/// `dry_run` or `Idempotency-Key` and never conflict.
pub const SESSION_OPERATIONS: &[&str] = &[
    "auth_login",
    "auth_logout",
    "auth_password_change",
    "user_password_change",
];

/// An error answer, documented once as a component response of `name`.
struct ErrorAnswer {
    status: u16,
    name: &'static str,
    description: &'static str,
}

const BAD_REQUEST: ErrorAnswer = ErrorAnswer {
    status: 400,
    name: "BadRequest",
    description: "Invalid input: a malformed parameter or body, or a value a rule refuses.",
};
const UNAUTHENTICATED: ErrorAnswer = ErrorAnswer {
    status: 401,
    name: "Unauthenticated",
    description: "No token, or an expired or revoked one (or, at login, wrong credentials).",
};
const FORBIDDEN: ErrorAnswer = ErrorAnswer {
    status: 403,
    name: "Forbidden",
    description: "The caller's role or a policy does not allow this.",
};
const NOT_FOUND: ErrorAnswer = ErrorAnswer {
    status: 404,
    name: "NotFound",
    description: "The object does not exist or is not visible to the caller.",
};
const CONFLICT: ErrorAnswer = ErrorAnswer {
    status: 409,
    name: "Conflict",
    description: "In use, limit or quota reached, or the object is in the wrong state.",
};
const TOO_MANY_REQUESTS: ErrorAnswer = ErrorAnswer {
    status: 429,
    name: "TooManyRequests",
    description: "Too many failed logins or password checks, or too many clients waiting for events; retry after `Retry-After` seconds.",
};
const UNAVAILABLE: ErrorAnswer = ErrorAnswer {
    status: 503,
    name: "ServiceUnavailable",
    description: "The store is unavailable, the request took too long, or the server is at its connection cap.",
};

/// Every error answer of the native API.
const ERRORS: [&ErrorAnswer; 7] = [
    &BAD_REQUEST,
    &UNAUTHENTICATED,
    &FORBIDDEN,
    &NOT_FOUND,
    &CONFLICT,
    &TOO_MANY_REQUESTS,
    &UNAVAILABLE,
];

/// Complete the routes' document: security, error answers, write options.
pub fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The token of `POST /v1/auth/login`."))
                .build(),
        ),
    );
    components.add_security_scheme(
        X_AUTH_TOKEN,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "The same token in Keystone's header.",
        ))),
    );
    for e in ERRORS {
        components
            .responses
            .insert(e.name.to_string(), RefOr::T(error_response(e)));
    }

    for item in doc.paths.paths.values_mut() {
        let has_path_params = item.parameters.iter().flatten().any(is_path_param);
        for (method, op) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ] {
            if let Some(op) = op {
                complete(method, op, has_path_params);
            }
        }
    }
    doc
}

fn is_path_param(p: &utoipa::openapi::path::Parameter) -> bool {
    p.parameter_in == ParameterIn::Path
}

/// Add the shared parts to one operation.
fn complete(method: HttpMethod, op: &mut Operation, path_params: bool) {
    let id = op.operation_id.clone().unwrap_or_default();
    let public = PUBLIC_OPERATIONS.contains(&id.as_str());
    let session = SESSION_OPERATIONS.contains(&id.as_str());
    let write = method != HttpMethod::Get && !session;

    if !public {
        op.security = Some(vec![
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
            SecurityRequirement::new(X_AUTH_TOKEN, Vec::<String>::new()),
        ]);
    }
    if write {
        add_write_options(op);
    }
    for (code, r) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = r {
            if r.description.is_empty() {
                r.description = success_description(code).into();
            }
        }
    }

    let takes_input = path_params
        || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
        || op.request_body.is_some();
    let mut errors = vec![];
    if takes_input {
        errors.push(&BAD_REQUEST);
    }
    errors.push(&UNAUTHENTICATED);
    if !public && !SELF_OPERATIONS.contains(&id.as_str()) {
        errors.push(&FORBIDDEN);
    }
    if takes_input && !public {
        errors.push(&NOT_FOUND);
    }
    if write {
        errors.push(&CONFLICT);
    }
    if PASSWORD_OPERATIONS.contains(&id.as_str()) || id == "event_list" {
        errors.push(&TOO_MANY_REQUESTS);
    }
    errors.push(&UNAVAILABLE);
    for e in errors {
        // A handler's own annotation names the same error shape; the shared
        // component replaces it so every error reads the same.
        op.responses.responses.insert(
            e.status.to_string(),
            RefOr::Ref(Ref::new(format!("#/components/responses/{}", e.name))),
        );
    }
}

/// The description of a success answer whose handler gave none.
fn success_description(code: &str) -> &'static str {
    match code {
        "201" => "Created.",
        "202" => "Dry run: the request is valid; nothing was changed.",
        "204" => "Done; no content.",
        _ => "OK.",
    }
}

/// `?dry_run=true` (answered 202: validated, nothing changed) and
/// `Idempotency-Key` (a replay gets the first answer).
fn add_write_options(op: &mut Operation) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.push(
        ParameterBuilder::new()
            .name("dry_run")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "Validate the request fully and change nothing (answered 202).",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
            .build(),
    );
    params.push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "A retry with the same key, path and body gets the first answer again.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(nicplane_service::IDEMPOTENCY_KEY_MAX)),
            ))
            .build(),
    );
    let success = op
        .responses
        .responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .map(|(_, r)| r.clone());
    let dry_run = match success {
        Some(RefOr::T(mut r)) => {
            r.description = "Dry run: the request is valid; nothing was changed.".into();
            RefOr::T(r)
        }
        Some(other) => other,
        None => RefOr::T(
            ResponseBuilder::new()
                .description("Dry run: the request is valid; nothing was changed.")
                .build(),
        ),
    };
    op.responses.responses.insert("202".into(), dry_run);
}

/// A response in the native error shape.
fn error_response(e: &ErrorAnswer) -> utoipa::openapi::Response {
    let mut r = ResponseBuilder::new().description(e.description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    match e.status {
        401 => {
            r = r.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("`Bearer realm=\"nicplane\"`"))
                    .build(),
            )
        }
        429 => {
            r = r.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait before trying again."))
                    .build(),
            )
        }
        _ => {}
    }
    r.build()
}
