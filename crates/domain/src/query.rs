//! What a list asks for: the page (keyset paging) and the filters of each
//! list. The store turns them into one query (every filter in the `WHERE`,
//! the marker as `id > marker`, then `ORDER BY id LIMIT n`, never `OFFSET`);
//! the service passes them through; each dialect fills them from its query
//! string and cuts the answer into a page with [`cut_page`].

use crate::ids::*;
use crate::types::*;
use std::net::IpAddr;

/// Paging for lists: at most `limit` items (0: all) with ids after `marker`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub marker: Option<String>,
}

impl PageRequest {
    /// Every item, in id order.
    pub fn all() -> Self {
        PageRequest::default()
    }

    /// What to ask the store for to serve a page of at most `limit` items
    /// after `marker`: one item more than the page, so that [`cut_page`] can
    /// tell whether a next page exists without a second query.
    pub fn probe(limit: u32, marker: Option<String>) -> Self {
        PageRequest {
            limit: limit.saturating_add(1),
            marker,
        }
    }
}

/// One page cut from a list fetched with [`PageRequest::probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCut<T> {
    pub items: Vec<T>,
    /// The marker of the next page (the last item's id); `None` on the last
    /// page. Clients treat it as opaque.
    pub next_marker: Option<String>,
}

/// Cut a list fetched with [`PageRequest::probe`]`(limit, …)` into a page of
/// at most `limit` items; the next marker is set only when an item beyond
/// the page exists. Every filter must already have been applied by the
/// query: filtering after the cut could empty a page that has a successor,
/// or hide the successor's marker.
pub fn cut_page<T>(mut items: Vec<T>, limit: usize, id: impl Fn(&T) -> String) -> PageCut<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_marker = if more { items.last().map(id) } else { None };
    PageCut { items, next_marker }
}

/// Filters of the interface list; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct InterfaceFilter {
    pub project_id: Option<ProjectId>,
    /// `Some(None)` lists unattached interfaces.
    pub vm_id: Option<Option<VmId>>,
    /// `Some(true)`: attached to some VM; `Some(false)`: unattached.
    pub attached: Option<bool>,
    pub network_id: Option<NetworkId>,
    pub parent_id: Option<InterfaceId>,
    pub supplementary: Option<bool>,
    pub mac_address: Option<MacAddr>,
    pub ip_address: Option<IpAddr>,
    pub ids: Option<Vec<InterfaceId>>,
    /// The name, compared ignoring ASCII case.
    pub name_ignore_case: Option<String>,
    pub status: Option<InterfaceStatus>,
    /// The device owner, compared ignoring ASCII case.
    pub device_owner_ignore_case: Option<String>,
}

impl InterfaceFilter {
    /// A filter no interface matches (an unknown status, say): the list
    /// still runs, so the caller is still authorized, and answers nothing.
    pub fn nothing(mut self) -> Self {
        self.ids = Some(Vec::new());
        self
    }
}

/// Filters of the VM list.
#[derive(Debug, Clone, Default)]
pub struct VmFilter {
    pub project_id: Option<ProjectId>,
    pub data_center_id: Option<DataCenterId>,
    pub name: Option<String>,
}

/// Filters of the network list. Networks a project sees are its own plus the
/// shared ones.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilter {
    pub visible_to: Option<ProjectId>,
    pub data_center_id: Option<DataCenterId>,
    pub kind: Option<NetworkKind>,
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_cut_from_a_probe_links_onwards_only_when_more_exist() {
        let ids = |n: u32| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(PageRequest::probe(2, None).limit, 3);
        let full = cut_page(ids(3), 2, |s| s.clone());
        assert_eq!(full.items, ids(2));
        assert_eq!(full.next_marker.as_deref(), Some("2"));
        let last = cut_page(ids(2), 2, |s| s.clone());
        assert_eq!(last.items, ids(2));
        assert_eq!(last.next_marker, None);
        let empty = cut_page(Vec::<String>::new(), 2, |s| s.clone());
        assert_eq!(empty.next_marker, None);
    }
}
