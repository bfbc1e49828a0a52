//! Typed request bodies: each Neutron create and update is a serde struct
//! (`PortCreate`, `PortUpdate`, …) with `deny_unknown_fields`, decoded by
//! [`decode`] so that a client never sees serde's own wording.
//!
//! Neutron refuses attributes outside its attribute map with 400
//! `HTTPBadRequest` "Unrecognized attribute(s) 'a, b'" (neutron-lib
//! `api/attributes.py`, `verify_attributes`), listing every unknown key;
//! [`decode`] does the same before deserializing, from the struct's own
//! field list, so the struct is the one place the attributes are named.
//! Field deserializers ([`text`], [`boolean`], …) state their failures as
//! a reason ("'5' is not a valid string.") that [`decode`] prefixes with the
//! field ("Invalid input for name. Reason: …"), or as a whole message.

use super::{NeutronError, NeutronResult};
use nicplane_domain::Error;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Marks a field deserializer's failure as a reason, to be prefixed with
/// the field's name.
const REASON: char = '\u{1e}';
/// Marks a field deserializer's failure as the whole client message.
const WHOLE: char = '\u{1f}';

/// A failure stated as a reason ("'5' is not a valid string.").
pub fn reason<E: de::Error>(r: impl std::fmt::Display) -> E {
    E::custom(format!("{REASON}{r}"))
}

/// A failure stated as the whole message the client reads.
pub fn whole<E: de::Error>(m: impl std::fmt::Display) -> E {
    E::custom(format!("{WHOLE}{m}"))
}

/// Neutron's answer to attributes outside a resource's map.
pub fn unrecognized(keys: &[&str]) -> NeutronError {
    let message = format!("Unrecognized attribute(s) '{}'", keys.join(", "));
    NeutronError::from(Error::invalid(message.clone())).with("HTTPBadRequest", message)
}

/// The attribute names (after renames) a derived struct accepts.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

/// A deserializer that only records the field list serde derive hands to
/// `deserialize_struct`.
struct Introspect<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;
    fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields recorded"))
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Keys of `obj` that `T` does not accept, in the body's order.
fn unknown_keys<T: DeserializeOwned>(obj: &Map<String, Value>) -> Vec<&str> {
    let known = field_names::<T>();
    obj.keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect()
}

/// Decode a resource object (the inside of `{"port": {...}}`) into `T`:
/// unknown attributes are Neutron's 400 `HTTPBadRequest`, a badly typed
/// field a 400 `InvalidInput` naming the field.
pub fn decode<T: DeserializeOwned>(obj: &Map<String, Value>) -> NeutronResult<T> {
    let extra = unknown_keys::<T>(obj);
    if !extra.is_empty() {
        return Err(unrecognized(&extra));
    }
    serde_path_to_error::deserialize(Value::Object(obj.clone())).map_err(|e| {
        let field = e.path().to_string();
        NeutronError::from(Error::invalid(message_of(
            &field,
            &e.into_inner().to_string(),
        )))
    })
}

/// The client's message for a deserialization failure at `field`; serde's
/// own wording (a shape no field deserializer states) is never shown.
fn message_of(field: &str, raw: &str) -> String {
    if let Some(m) = raw.strip_prefix(WHOLE) {
        m.to_string()
    } else if let Some(r) = raw.strip_prefix(REASON) {
        format!("Invalid input for {field}. Reason: {r}")
    } else {
        format!("Invalid input for {field}.")
    }
}

/// The elements of a list field, each an object of `T` (nested unknown
/// attributes refused as at the top level); `what` names the list in
/// messages.
pub fn objects<'de, T: DeserializeOwned, D: Deserializer<'de>>(
    d: D,
    what: &str,
) -> Result<Option<Vec<T>>, D::Error> {
    let v = Value::deserialize(d)?;
    let list = match v {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        other => {
            return Err(reason(format!("'{other}' is not a list.")));
        }
    };
    list.into_iter()
        .map(|item| {
            let Value::Object(o) = &item else {
                return Err(whole(format!(
                    "Invalid input for {what}: '{item}' is not an object."
                )));
            };
            let extra = unknown_keys::<T>(o);
            if !extra.is_empty() {
                return Err(whole(format!(
                    "Unrecognized attribute(s) '{}'",
                    extra.join(", ")
                )));
            }
            serde_path_to_error::deserialize::<_, T>(item).map_err(|e| {
                let field = format!("{what}.{}", e.path());
                whole(message_of(&field, &e.into_inner().to_string()))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An optional string: null is absent.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(reason(format!("'{other}' is not a valid string."))),
    }
}

/// A string that may be given as null (`Some(None)`), told apart from an
/// absent one (`None`, with `#[serde(default)]`).
pub fn nullable_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    text(d).map(Some)
}

/// A raw value whose presence matters even when it is null.
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// An optional boolean; "true"/"false" strings count, as in Neutron's
/// `convert_to_boolean`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(reason(format!("'{other}' cannot be converted to boolean."))),
    }
}

/// A value nicplane accepts only at its default (null counts as the
/// default); kept raw so the refusal can quote it.
pub fn only_default(key: &str, given: &Option<Value>, default: &Value) -> NeutronResult<()> {
    match given {
        Some(v) if v != default && !v.is_null() => Err(NeutronError::from(Error::invalid(
            format!("nicplane ports do not support {key} {v}."),
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        #[serde(default, deserialize_with = "text")]
        name: Option<String>,
        #[serde(default, rename = "binding:vnic_type")]
        vnic: Option<Value>,
        #[serde(default)]
        count: Option<u32>,
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn field_names_are_the_wire_names() {
        assert_eq!(
            field_names::<Sample>(),
            &["name", "binding:vnic_type", "count"]
        );
    }

    #[test]
    fn unknown_attributes_are_all_listed() {
        let e = decode::<Sample>(&obj(json!({"a": 1, "b": 2, "name": "x"}))).unwrap_err();
        assert_eq!(
            e.overrides,
            Some((
                "HTTPBadRequest".to_string(),
                "Unrecognized attribute(s) 'a, b'".to_string()
            ))
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_without_serde_wording() {
        let e = decode::<Sample>(&obj(json!({"name": 5}))).unwrap_err();
        assert_eq!(
            e.error.to_string(),
            Error::invalid("Invalid input for name. Reason: '5' is not a valid string.")
                .to_string()
        );
        let e = decode::<Sample>(&obj(json!({"count": "x"}))).unwrap_err();
        assert_eq!(
            e.error.to_string(),
            Error::invalid("Invalid input for count.").to_string()
        );
    }
}
