//! What a list asks for: the page (keyset paging) and the filters of each
//! list. The store turns them into one query (every filter in the `WHERE`,
//! the marker as `id > marker`, then `ORDER BY id LIMIT n`, never `OFFSET`;
//! with an [`PageRequest::order`], the marker row's keys bound the page:
//! `(k1, id) > (marker's k1, marker id)`, `ORDER BY k1, id`); the service
//! passes them through; each dialect fills them from its query string and
//! cuts the answer into a page with [`cut_page`].

use crate::ids::*;
use crate::types::*;
use std::net::IpAddr;

/// Paging for lists: at most `limit` items (0: all) after the item whose id
/// is `marker`, in `order`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub marker: Option<String>,
    /// The sort keys, each ascending (`true`) or descending; empty: by id,
    /// ascending. The store breaks ties by id in the last key's direction
    /// unless the order already names [`SortField::Id`]. With an order the
    /// marker must name an existing row: the page starts after that row's
    /// keys (the dialect checks the marker first and answers its own "not
    /// found"); a marker naming nothing gives an empty page.
    pub order: Vec<(SortField, bool)>,
}

/// A key a list can be ordered by. Each store list maps the keys its table
/// has to a column; a key the list has no column for is refused as invalid
/// input, so each dialect offers only the keys its lists have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    Id,
    Name,
    Description,
    Status,
    AdminStateUp,
    MacAddress,
    NetworkId,
    /// The VM an interface is attached to.
    DeviceId,
    DeviceOwner,
    ProjectId,
    CreatedAt,
    UpdatedAt,
}

impl SortField {
    /// The key's name in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Id => "id",
            SortField::Name => "name",
            SortField::Description => "description",
            SortField::Status => "status",
            SortField::AdminStateUp => "admin_state_up",
            SortField::MacAddress => "mac_address",
            SortField::NetworkId => "network_id",
            SortField::DeviceId => "device_id",
            SortField::DeviceOwner => "device_owner",
            SortField::ProjectId => "project_id",
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
        }
    }
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
            order: Vec::new(),
        }
    }

    /// The same page in `order`.
    pub fn ordered(mut self, order: Vec<(SortField, bool)>) -> Self {
        self.order = order;
        self
    }
}

/// A list read in bounded chunks, in the store's order, for the dialects
/// whose filters can also match on what the store has no column for (a
/// Neutron port's computed `device_owner`, a Nova name pattern): the store
/// narrows by every filter it can (a superset), the dialect keeps the items
/// that match exactly, and the walk stops as soon as a page and one item
/// more are found. Memory is bounded by the chunk and the page, never by
/// the table; no `OFFSET`.
#[derive(Debug, Clone)]
pub struct ChunkWalk {
    /// The next chunk's request; `None` when the store has no more rows.
    next: Option<PageRequest>,
    chunk: u32,
}

impl ChunkWalk {
    /// The rows of a chunk: enough to fill most pages in one read.
    pub const CHUNK: u32 = 500;

    /// Start after `marker` (or at the start) in `order`.
    pub fn new(marker: Option<String>, order: Vec<(SortField, bool)>) -> Self {
        ChunkWalk {
            next: Some(PageRequest {
                limit: Self::CHUNK,
                marker,
                order,
            }),
            chunk: Self::CHUNK,
        }
    }

    /// The request for the next chunk, or `None` when the walk is done.
    pub fn request(&self) -> Option<PageRequest> {
        self.next.clone()
    }

    /// Record a chunk's rows, given the id of its last row: a short chunk
    /// ends the walk, a full one moves the marker past it.
    pub fn advance(&mut self, rows: usize, last_id: Option<String>) {
        self.next = match (self.next.take(), last_id) {
            (Some(mut req), Some(last)) if rows >= self.chunk as usize => {
                req.marker = Some(last);
                Some(req)
            }
            _ => None,
        };
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
    /// Only interfaces whose VM belongs to this project.
    pub vm_in_project: Option<ProjectId>,
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

    #[test]
    fn a_chunk_walk_moves_past_full_chunks_and_stops_at_a_short_one() {
        let order = vec![(SortField::Name, true)];
        let mut walk = ChunkWalk::new(Some("m".into()), order.clone());
        let first = walk.request().unwrap();
        assert_eq!(first.marker.as_deref(), Some("m"));
        assert_eq!(first.limit, ChunkWalk::CHUNK);
        assert_eq!(first.order, order);
        walk.advance(ChunkWalk::CHUNK as usize, Some("z".into()));
        assert_eq!(walk.request().unwrap().marker.as_deref(), Some("z"));
        walk.advance(3, Some("zz".into()));
        assert!(walk.request().is_none());
        let mut empty = ChunkWalk::new(None, Vec::new());
        empty.advance(0, None);
        assert!(empty.request().is_none());
    }
}
