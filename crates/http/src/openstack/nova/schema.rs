//! Nova's request schemas. Nova validates each body against a JSON schema
//! (`nova/api/openstack/compute/schemas/*.py`) before its handler reads it,
//! and the client sees the validator's words: "Invalid input for
//! field/attribute {field}. Value: {value}. {reason}". nicplane does the
//! same: each body has a declarative [`Schema`] (the subset of JSON schema
//! Nova's bodies use), [`validate`] answers the first violation in Nova's
//! words, and the handler then decodes the checked body into a typed serde
//! struct with [`decode`], which cannot fail on a body the schema accepted.

use super::{NovaError, NovaResult};
use nicplane_domain::Error;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// A JSON schema, as far as Nova's bodies need one.
#[derive(Clone, Copy)]
pub enum Schema {
    /// An object: its properties in the order they are checked, the ones it
    /// must have, and whether others are refused
    /// (`additionalProperties: false`).
    Object {
        properties: &'static [(&'static str, Schema)],
        required: &'static [&'static str],
        closed: bool,
    },
    /// An array of items, `min..=max` long.
    Array {
        items: &'static Schema,
        min: usize,
        max: usize,
    },
    /// A string `min..=max` characters long without any of `forbidden`
    /// (reported as not matching `pattern`).
    Text {
        min: usize,
        max: usize,
        forbidden: &'static [char],
        pattern: &'static str,
    },
    /// A string in UUID format.
    Uuid,
    /// A string holding an IPv4 or IPv6 address.
    IpAddress,
    Boolean,
    /// One of these integers.
    IntegerIn(&'static [i64]),
    /// An object whose every value matches (`patternProperties`).
    MapOf(&'static Schema),
    /// Anything (checked by the handler).
    Any,
}

/// Any string.
pub const ANY_TEXT: Schema = Schema::Text {
    min: 0,
    max: usize::MAX,
    forbidden: &[],
    pattern: "",
};

/// A device tag (`parameter_types.tag`): 1 to 60 characters, no `,` or `/`.
pub const TAG: Schema = Schema::Text {
    min: 1,
    max: 60,
    forbidden: &[',', '/'],
    pattern: "^[^,/]*$",
};

fn invalid(field: &str, value: &Value, why: &str) -> NovaError {
    NovaError::from(Error::invalid(format!(
        "Invalid input for field/attribute {field}. Value: {value}. {why}"
    )))
}

/// Check `value`, found under `field` (`root` for the body), against
/// `schema`; the first violation is Nova's 400.
pub fn validate(schema: &Schema, field: &str, value: &Value) -> NovaResult<()> {
    let type_error =
        |name: &str| invalid(field, value, &format!("{value} is not of type '{name}'"));
    match schema {
        Schema::Any => Ok(()),
        Schema::Object {
            properties,
            required,
            closed,
        } => {
            let obj = value.as_object().ok_or_else(|| type_error("object"))?;
            if *closed {
                unexpected(obj, field, properties)?;
            }
            for key in *required {
                if !obj.contains_key(*key) {
                    return Err(invalid(
                        field,
                        value,
                        &format!("'{key}' is a required property"),
                    ));
                }
            }
            for (key, sub) in *properties {
                if let Some(v) = obj.get(*key) {
                    validate(sub, key, v)?;
                }
            }
            Ok(())
        }
        Schema::Array { items, min, max } => {
            let list = value.as_array().ok_or_else(|| type_error("array"))?;
            if list.len() < *min {
                return Err(invalid(field, value, &format!("{value} is too short")));
            }
            if list.len() > *max {
                return Err(invalid(field, value, &format!("{value} is too long")));
            }
            list.iter()
                .try_for_each(|item| validate(items, field, item))
        }
        Schema::Text {
            min,
            max,
            forbidden,
            pattern,
        } => {
            let s = value.as_str().ok_or_else(|| type_error("string"))?;
            let n = s.chars().count();
            if n < *min || n > *max {
                return Err(invalid(
                    field,
                    value,
                    &format!("'{s}' must be {min} to {max} characters"),
                ));
            }
            if s.contains(*forbidden) {
                return Err(invalid(
                    field,
                    value,
                    &format!("'{s}' does not match '{pattern}'"),
                ));
            }
            Ok(())
        }
        Schema::Uuid => {
            let s = value.as_str().ok_or_else(|| type_error("string"))?;
            uuid::Uuid::parse_str(s)
                .map(drop)
                .map_err(|_| invalid(field, value, &format!("'{s}' is not a 'uuid'")))
        }
        Schema::IpAddress => match value.as_str().map(str::parse::<IpAddr>) {
            Some(Ok(_)) => Ok(()),
            _ => Err(invalid(
                field,
                value,
                &format!("{value} is not a 'ip-address'"),
            )),
        },
        Schema::MapOf(values) => {
            let obj = value.as_object().ok_or_else(|| type_error("object"))?;
            obj.iter().try_for_each(|(k, v)| validate(values, k, v))
        }
        Schema::Boolean => value
            .as_bool()
            .map(drop)
            .ok_or_else(|| type_error("boolean")),
        Schema::IntegerIn(allowed) => match value.as_i64() {
            Some(n) if allowed.contains(&n) => Ok(()),
            _ => {
                let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
                Err(invalid(
                    field,
                    value,
                    &format!("{value} is not one of [{}]", list.join(", ")),
                ))
            }
        },
    }
}

/// `additionalProperties: false`: every key outside `properties`, named as
/// Python's jsonschema names them.
fn unexpected(
    obj: &Map<String, Value>,
    field: &str,
    properties: &[(&str, Schema)],
) -> NovaResult<()> {
    let extra: Vec<String> = obj
        .keys()
        .filter(|k| !properties.iter().any(|(p, _)| p == k))
        .map(|k| format!("'{k}'"))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    let verb = if extra.len() == 1 { "was" } else { "were" };
    Err(invalid(
        field,
        &Value::Object(obj.clone()),
        &format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            extra.join(", ")
        ),
    ))
}

/// Validate the body, then decode it into its typed form.
pub fn decode<T: DeserializeOwned>(schema: &Schema, body: &Value) -> NovaResult<T> {
    validate(schema, "root", body)?;
    serde_json::from_value(body.clone()).map_err(|e| {
        NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute root. {}",
            crate::json_error_reason(&e)
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ITEM: Schema = Schema::Object {
        properties: &[("n", Schema::IntegerIn(&[4, 6])), ("u", Schema::Uuid)],
        required: &["n"],
        closed: true,
    };
    const BODY: Schema = Schema::Object {
        properties: &[(
            "list",
            Schema::Array {
                items: &ITEM,
                min: 1,
                max: 1,
            },
        )],
        required: &[],
        closed: true,
    };

    fn message(v: Value) -> String {
        match validate(&BODY, "root", &v) {
            Ok(()) => "ok".into(),
            Err(e) => e.error.to_string(),
        }
    }

    #[test]
    fn violations_are_reported_in_novas_words() {
        assert_eq!(message(json!({"list": [{"n": 4}]})), "ok");
        assert_eq!(
            message(json!([])),
            "Invalid input for field/attribute root. Value: []. [] is not of type 'object'"
        );
        assert_eq!(
            message(json!({"x": 1, "y": 2})),
            "Invalid input for field/attribute root. Value: {\"x\":1,\"y\":2}. Additional properties are not allowed ('x', 'y' were unexpected)"
        );
        assert_eq!(
            message(json!({"list": []})),
            "Invalid input for field/attribute list. Value: []. [] is too short"
        );
        assert_eq!(
            message(json!({"list": [{}]})),
            "Invalid input for field/attribute list. Value: {}. 'n' is a required property"
        );
        assert_eq!(
            message(json!({"list": [{"n": 5}]})),
            "Invalid input for field/attribute n. Value: 5. 5 is not one of [4, 6]"
        );
        assert_eq!(
            message(json!({"list": [{"n": 6, "u": "x"}]})),
            "Invalid input for field/attribute u. Value: \"x\". 'x' is not a 'uuid'"
        );
    }
}
