//! Neutron's list controls over a collection's views: exact-match filters
//! on any attribute (a repeated key means OR, different keys AND, unknown
//! keys are refused), the nested `fixed_ips=ip_address=…`/`subnet_id=…`/
//! `ip_address_substr=…` filters, tag filters, `sort_key`/`sort_dir`,
//! `limit`/`marker`/`page_reverse` with `<collection>_links`, and `fields=`.

use super::{NeutronError, NeutronResult};
use crate::openstack::{query_pairs, query_string};
use nicplane_domain::query::SortField;
use nicplane_domain::{Error, Kind};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// A parsed list request.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// Attribute → accepted values (OR).
    pub filters: Vec<(String, Vec<String>)>,
    pub fields: Vec<String>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub page_reverse: bool,
    /// (key, ascending)
    pub sort: Vec<(String, bool)>,
    tags_all: Vec<String>,
    tags_any: Vec<String>,
    not_tags_all: Vec<String>,
    not_tags_any: Vec<String>,
    /// The original filter pairs, repeated in pagination links.
    passthrough: Vec<(String, String)>,
}

fn bad(msg: String) -> NeutronError {
    NeutronError::from(Error::invalid(msg))
}

fn split_tags(v: &str) -> Vec<String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The attributes `fields=` names (repeated or comma-separated), for a show.
pub fn show_fields(query: Option<&str>) -> Vec<String> {
    query_pairs(query)
        .into_iter()
        .filter(|(k, _)| k == "fields")
        .flat_map(|(_, v)| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl ListQuery {
    /// Parse a query string; `attributes` are the collection's filterable keys.
    pub fn parse(query: Option<&str>, attributes: &[&str]) -> NeutronResult<ListQuery> {
        let pairs = query_pairs(query);
        let mut q = ListQuery::default();
        let mut sort_keys = Vec::new();
        let mut sort_dirs = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "fields" => q
                    .fields
                    .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string)),
                "limit" => {
                    let n: usize = v.parse().map_err(|_| bad(format!("Bad limit request: Limit must be an integer 0 or greater and not '{v}'.")))?;
                    q.limit = (n > 0).then_some(n);
                }
                "marker" => q.marker = Some(v),
                "page_reverse" => q.page_reverse = v.eq_ignore_ascii_case("true"),
                "sort_key" => sort_keys.push(v),
                "sort_dir" => {
                    let asc = match v.to_ascii_lowercase().as_str() {
                        "asc" => true,
                        "desc" => false,
                        _ => return Err(bad(format!("{v} is an invalid value for sort_dir, valid values are 'asc' and 'desc'"))),
                    };
                    sort_dirs.push(asc)
                }
                "tags" => q.tags_all.extend(split_tags(&v)),
                "tags-any" => q.tags_any.extend(split_tags(&v)),
                "not-tags" => q.not_tags_all.extend(split_tags(&v)),
                "not-tags-any" => q.not_tags_any.extend(split_tags(&v)),
                _ => {
                    if !attributes.contains(&k.as_str()) {
                        return Err(bad(format!("[{k}] is invalid attribute for filtering")));
                    }
                    q.passthrough.push((k.clone(), v.clone()));
                    match q.filters.iter_mut().find(|(kk, _)| *kk == k) {
                        Some((_, vals)) => vals.push(v),
                        None => q.filters.push((k, vec![v])),
                    }
                }
            }
        }
        if !sort_dirs.is_empty() && sort_dirs.len() != sort_keys.len() {
            return Err(bad(
                "The number of sort_keys and sort_dirs must be same".into()
            ));
        }
        for (i, k) in sort_keys.into_iter().enumerate() {
            if !attributes.contains(&k.as_str()) {
                return Err(bad(format!("{k} is an invalid attribute for sort_keys")));
            }
            q.sort.push((k, sort_dirs.get(i).copied().unwrap_or(true)));
        }
        Ok(q)
    }

    /// The values of filter `key`, if the request has that filter.
    pub fn filter(&self, key: &str) -> Option<&[String]> {
        self.filters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The store order for this request: the sort keys mapped by `field`
    /// (a key the store cannot sort by is Neutron's 400), then the id, all
    /// flipped for `page_reverse` (the page is read backwards from the
    /// marker and turned round by [`ListQuery::render`]).
    pub fn store_order(
        &self,
        field: impl Fn(&str) -> Option<SortField>,
    ) -> NeutronResult<Vec<(SortField, bool)>> {
        let mut order = Vec::new();
        for (k, asc) in &self.sort {
            let f = field(k)
                .ok_or_else(|| bad(format!("{k} is an invalid attribute for sort_keys")))?;
            order.push((f, *asc));
        }
        if !order.iter().any(|(f, _)| *f == SortField::Id) {
            order.push((SortField::Id, true));
        }
        if self.page_reverse {
            for o in &mut order {
                o.1 = !o.1;
            }
        }
        Ok(order)
    }

    /// The marker the store pages from: only with a limit (Neutron ignores
    /// a marker without one).
    pub fn store_marker(&self) -> Option<&str> {
        self.limit.and(self.marker.as_deref())
    }

    /// Whether a view passes every filter of the request, exactly as
    /// Neutron compares (the store's narrowing is a superset).
    pub fn matches_view(&self, item: &Value) -> bool {
        item.as_object().is_some_and(|m| self.matches(m))
    }

    /// The collection body from views already filtered and read in the
    /// store's order (reversed for `page_reverse`), at most `limit` + 1 of
    /// them: cut to the page, turned the right way round, with the links.
    pub fn render(&self, items: Vec<Value>, collection: &str, base: &str) -> Value {
        let maps = items
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect();
        self.finish(maps, self.store_marker().is_some(), collection, base)
    }

    /// Cut items in paging order (reversed for `page_reverse`) to the page,
    /// turn them the right way round and build the body.
    fn finish(
        &self,
        mut items: Vec<Map<String, Value>>,
        after_marker: bool,
        collection: &str,
        base: &str,
    ) -> Value {
        let mut more = false;
        if let Some(l) = self.limit {
            if items.len() > l {
                items.truncate(l);
                more = true;
            }
        }
        if self.page_reverse {
            items.reverse();
        }
        self.body(items, more, after_marker, collection, base)
    }

    fn matches(&self, item: &Map<String, Value>) -> bool {
        for (k, vals) in &self.filters {
            let ok = if k == "fixed_ips" {
                fixed_ips_match(item.get("fixed_ips"), vals)
            } else {
                vals.iter().any(|v| value_matches(item.get(k), v))
            };
            if !ok {
                return false;
            }
        }
        let tags: Vec<&str> = item
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let has = |t: &String| tags.contains(&t.as_str());
        (self.tags_all.iter().all(has))
            && (self.tags_any.is_empty() || self.tags_any.iter().any(has))
            && (self.not_tags_all.is_empty() || !self.not_tags_all.iter().all(has))
            && !self.not_tags_any.iter().any(has)
    }

    fn compare(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        for (k, asc) in &self.sort {
            let o = cmp_values(a.get(k), b.get(k));
            if o != Ordering::Equal {
                return if *asc { o } else { o.reverse() };
            }
        }
        cmp_values(a.get("id"), b.get("id"))
    }

    /// Filter, sort, page and project the items; returns the collection body.
    ///
    /// As in Neutron (`neutron_lib.db.utils.get_marker_obj`), the marker is
    /// looked up by id among everything the caller may see, whatever the
    /// filters, and only when `limit` is given (without a limit Neutron
    /// ignores it). A marker that names nothing the caller can see (unknown,
    /// deleted, or another project's) is the collection's 404 `…NotFound`.
    pub fn apply(&self, items: Vec<Value>, collection: &str, base: &str) -> NeutronResult<Value> {
        let all: Vec<Map<String, Value>> = items
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect();
        let marker_item = match (&self.marker, self.limit) {
            (Some(m), Some(_)) => Some(
                all.iter()
                    .find(|i| i.get("id").and_then(Value::as_str) == Some(m.as_str()))
                    .cloned()
                    .ok_or_else(|| marker_not_found(collection, m))?,
            ),
            _ => None,
        };
        let mut items: Vec<Map<String, Value>> =
            all.into_iter().filter(|m| self.matches(m)).collect();
        items.sort_by(|a, b| self.compare(a, b));
        if self.page_reverse {
            items.reverse();
        }
        if let Some(mi) = &marker_item {
            let reverse = self.page_reverse;
            items.retain(|i| {
                let o = self.compare(i, mi);
                if reverse {
                    o == Ordering::Less
                } else {
                    o == Ordering::Greater
                }
            });
        }
        Ok(self.finish(items, marker_item.is_some(), collection, base))
    }

    /// The body of a page: its items projected on `fields`, and the links
    /// (`next` when `more` items follow, `previous` after a marker).
    fn body(
        &self,
        items: Vec<Map<String, Value>>,
        more: bool,
        after_marker: bool,
        collection: &str,
        base: &str,
    ) -> Value {
        let mut links = Vec::new();
        if let Some(l) = self.limit {
            let first = items
                .first()
                .and_then(|i| i.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let last = items
                .last()
                .and_then(|i| i.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let (forward_more, backward_possible) = if self.page_reverse {
                (after_marker, more)
            } else {
                (more, after_marker)
            };
            if forward_more {
                if let Some(last) = &last {
                    links.push(
                        json!({"rel": "next", "href": self.link(base, collection, l, last, false)}),
                    );
                }
            }
            if backward_possible {
                if let Some(first) = &first {
                    links.push(json!({"rel": "previous", "href": self.link(base, collection, l, first, true)}));
                }
            }
        }
        let out: Vec<Value> = items
            .into_iter()
            .map(|m| {
                if self.fields.is_empty() {
                    Value::Object(m)
                } else {
                    Value::Object(
                        m.into_iter()
                            .filter(|(k, _)| self.fields.contains(k))
                            .collect(),
                    )
                }
            })
            .collect();
        let mut body = json!({ collection: out });
        if !links.is_empty() {
            body[format!("{collection}_links")] = Value::Array(links);
        }
        body
    }

    fn link(
        &self,
        base: &str,
        collection: &str,
        limit: usize,
        marker: &str,
        reverse: bool,
    ) -> String {
        let mut parts: Vec<(String, String)> = self.passthrough.clone();
        for f in &self.fields {
            parts.push(("fields".into(), f.clone()));
        }
        for (k, asc) in &self.sort {
            parts.push(("sort_key".into(), k.clone()));
            parts.push(("sort_dir".into(), if *asc { "asc" } else { "desc" }.into()));
        }
        parts.push(("limit".into(), limit.to_string()));
        parts.push(("marker".into(), marker.to_string()));
        if reverse {
            parts.push(("page_reverse".into(), "True".into()));
        }
        // The body's key is not always the path: security groups and their
        // rules are `security_groups` under `/security-groups`.
        let path = match collection {
            "security_groups" => "security-groups",
            "security_group_rules" => "security-group-rules",
            other => other,
        };
        format!("{base}/network/v2.0/{path}?{}", query_string(&parts))
    }
}

/// The 404 for a marker that names nothing the caller can see, in the words
/// of the collection's own "not found" (`PortNotFound`, `TrunkNotFound`, …).
fn marker_not_found(collection: &str, id: &str) -> NeutronError {
    let kind = match collection {
        "networks" => Kind::Network,
        "subnets" => Kind::Subnet,
        "ports" => Kind::Interface,
        "floatingips" => Kind::PublicIp,
        "security_groups" => Kind::SecurityGroup,
        "security_group_rules" => Kind::SecurityGroupRule,
        "trunks" => {
            return NeutronError::from(Error::not_found(Kind::Interface, id))
                .with("TrunkNotFound", format!("Trunk {id} could not be found."))
        }
        _ => return bad(format!("The marker {id} could not be found.")),
    };
    NeutronError::from(Error::not_found(kind, id))
}

fn value_matches(v: Option<&Value>, want: &str) -> bool {
    match v {
        None | Some(Value::Null) => want.is_empty() || want == "None",
        Some(Value::String(s)) => s == want,
        Some(Value::Bool(b)) => match want.to_ascii_lowercase().as_str() {
            "true" | "1" => *b,
            "false" | "0" => !*b,
            _ => false,
        },
        Some(Value::Number(n)) => n.to_string() == want,
        Some(Value::Array(a)) => a.iter().any(|x| value_matches(Some(x), want)),
        Some(Value::Object(_)) => false,
    }
}

/// `fixed_ips=ip_address=X`, `subnet_id=Y`, `ip_address_substr=Z`: OR within
/// one kind, AND across kinds.
fn fixed_ips_match(v: Option<&Value>, wanted: &[String]) -> bool {
    let ips: Vec<&Map<String, Value>> = v
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for w in wanted {
        let (k, val) = w.split_once('=').unwrap_or(("ip_address", w.as_str()));
        match groups.iter_mut().find(|(kk, _)| *kk == k) {
            Some((_, vals)) => vals.push(val),
            None => groups.push((k, vec![val])),
        }
    }
    groups.iter().all(|(k, vals)| {
        ips.iter().any(|ip| {
            vals.iter().any(|val| match *k {
                "ip_address_substr" => ip
                    .get("ip_address")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.contains(val)),
                key => ip.get(key).and_then(Value::as_str) == Some(*val),
            })
        })
    })
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        (0..5)
            .map(|i| json!({"id": format!("id-{i}"), "name": format!("p{}", 4 - i), "admin_state_up": i % 2 == 0,
                "fixed_ips": [{"subnet_id": "s1", "ip_address": format!("10.0.0.{i}")}], "tags": if i == 1 { json!(["a", "b"]) } else { json!([]) }}))
            .collect()
    }
    const ATTRS: &[&str] = &["id", "name", "admin_state_up", "fixed_ips", "tags"];

    fn ids(v: &Value) -> Vec<String> {
        v["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn repeated_keys_are_or_and_unknown_filters_are_refused() {
        let q = ListQuery::parse(Some("name=p4&name=p2&admin_state_up=True"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()),
            ["id-0", "id-2"]
        );
        let e = ListQuery::parse(Some("color=red"), ATTRS).unwrap_err();
        assert!(e
            .error
            .to_string()
            .contains("[color] is invalid attribute for filtering"));
    }

    #[test]
    fn nested_fixed_ip_filters() {
        let q = ListQuery::parse(Some("fixed_ips=ip_address%3D10.0.0.3"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()),
            ["id-3"]
        );
        let q = ListQuery::parse(
            Some("fixed_ips=ip_address_substr%3D10.0.0.&fixed_ips=subnet_id%3Ds1"),
            ATTRS,
        )
        .unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()).len(),
            5
        );
    }

    #[test]
    fn pages_follow_the_marker_and_link_onwards() {
        let q = ListQuery::parse(Some("limit=2"), ATTRS).unwrap();
        let p1 = q.apply(items(), "ports", "http://h").unwrap();
        assert_eq!(ids(&p1), ["id-0", "id-1"]);
        let next = p1["ports_links"][0]["href"].as_str().unwrap();
        assert!(next.contains("marker=id-1"), "{next}");
        let q = ListQuery::parse(Some("limit=2&marker=id-3"), ATTRS).unwrap();
        let last = q.apply(items(), "ports", "http://h").unwrap();
        assert_eq!(ids(&last), ["id-4"]);
        assert_eq!(
            last["ports_links"].as_array().unwrap().len(),
            1,
            "only a previous link on the last page"
        );
        let q = ListQuery::parse(Some("limit=2&marker=id-3&page_reverse=True"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()),
            ["id-1", "id-2"]
        );
    }

    #[test]
    fn an_unknown_marker_is_not_found_and_a_marker_needs_a_limit() {
        let q = ListQuery::parse(Some("limit=2&marker=id-9"), ATTRS).unwrap();
        let e = q.apply(items(), "ports", "http://h").unwrap_err();
        assert_eq!(
            super::super::neutron_error(&e.error),
            (
                404,
                "PortNotFound".to_string(),
                "Port id-9 could not be found.".to_string()
            )
        );
        // A filtered-out object still marks a position, as in Neutron.
        let q = ListQuery::parse(Some("limit=2&marker=id-1&name=p0&name=p1"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()),
            ["id-3", "id-4"]
        );
        let q = ListQuery::parse(Some("marker=id-9"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap()).len(),
            5
        );
    }

    #[test]
    fn security_group_links_use_the_dashed_path() {
        let q = ListQuery::parse(Some("limit=2"), ATTRS).unwrap();
        let page = q
            .apply(items(), "security_group_rules", "http://h")
            .unwrap();
        let next = page["security_group_rules_links"][0]["href"]
            .as_str()
            .unwrap();
        assert_eq!(
            next,
            "http://h/network/v2.0/security-group-rules?limit=2&marker=id-1"
        );
    }

    #[test]
    fn sorting_fields_and_tags() {
        let q = ListQuery::parse(
            Some("sort_key=name&sort_dir=asc&fields=id&tags-any=a"),
            ATTRS,
        )
        .unwrap();
        let out = q.apply(items(), "ports", "http://h").unwrap();
        assert_eq!(out["ports"], json!([{"id": "id-1"}]));
        let q = ListQuery::parse(Some("sort_key=name&sort_dir=asc"), ATTRS).unwrap();
        assert_eq!(
            ids(&q.apply(items(), "ports", "http://h").unwrap())[0],
            "id-4"
        );
    }
}
