//! The one query-string decoder of the dialects that read raw query strings
//! (OpenStack and Huawei; the native API deserializes typed queries with
//! axum's `Query`, which follows the same form rules as [`Plus::Space`]):
//! ordered `(key, value)` pairs, repeated keys kept, empty segments skipped,
//! percent escapes decoded (a malformed escape is kept as it is, invalid
//! UTF-8 is replaced).
//!
//! The dialects differ in one point only, the `+`: OpenStack's clients send
//! form encoding (`+` is a space), while Huawei's signature covers the query
//! as sent and the signer decodes only percent escapes, so the handlers must
//! read a `+` as a `+` to see what was signed.

/// How a `+` in a query string is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plus {
    /// Form encoding (`application/x-www-form-urlencoded`): a space.
    Space,
    /// A literal `+` (only `%20` is a space).
    Literal,
}

/// The pairs of a query string.
pub fn pairs(query: Option<&str>, plus: Plus) -> Vec<(String, String)> {
    let Some(q) = query else { return vec![] };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (component(k, plus), component(v, plus))
        })
        .collect()
}

/// Decode one key or value.
pub fn component(s: &str, plus: Plus) -> String {
    let bytes = percent_decode(s);
    let bytes = match plus {
        Plus::Literal => bytes,
        // A `+` that came from `%2B` must stay a `+`: replace before decoding.
        Plus::Space => percent_decode(&s.replace('+', " ")),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Percent-decode (a `+` stays a `+`); a malformed escape is kept as is.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_order_and_repeats_and_decode_escapes() {
        let q = Some("id=a&&id=b&d=x%20y%26z&flag");
        let want = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let expected = want(&[("id", "a"), ("id", "b"), ("d", "x y&z"), ("flag", "")]);
        assert_eq!(pairs(q, Plus::Space), expected);
        assert_eq!(pairs(q, Plus::Literal), expected);
        assert_eq!(pairs(None, Plus::Space), vec![]);
    }

    #[test]
    fn a_plus_is_a_space_only_in_form_encoding() {
        assert_eq!(component("a+b%2Bc", Plus::Space), "a b+c");
        assert_eq!(component("a+b%2Bc", Plus::Literal), "a+b+c");
        assert_eq!(component("%zz%4", Plus::Space), "%zz%4");
    }
}
