//! Membership roles remembered between requests ([`RoleCache`]): every
//! project use case checks the caller's role (`authorize`), one read of
//! `memberships` per request, the same answer almost every time.
//!
//! Exact, not eventually right: the cache belongs to a store whose every
//! write goes through one connection of this process (SQLite: one writer,
//! and a store belongs to one server process), and that connection tells
//! the cache the moment a statement changes a membership
//! ([`RoleCache::changing`], from a trigger on `memberships`, cascades of a
//! deleted user or project included), and again when the transaction that
//! did it has committed or rolled back ([`RoleCache::settled`]). Between the
//! two nothing is remembered, so neither a change not yet committed nor the
//! state before it can be answered from the cache afterwards. A role read
//! is remembered at the epoch its transaction began with (taken before the
//! transaction's first statement fixed its snapshot): a read whose snapshot
//! is older than a change remembers nothing (that epoch is gone). A write
//! checks its role on the writer, after every earlier commit has settled,
//! so a write is never authorized by a membership a committed change
//! removed. PostgreSQL's servers share the store and have no such
//! connection: they read the role on every request.

use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::types::Role;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Most roles held; a full cache is emptied (a hostile caller naming many
/// projects only makes others read their role once more).
pub const ROLE_CACHE_MAX: usize = 8192;

/// The roles of (user, project) pairs read from the store.
#[derive(Default)]
pub struct RoleCache {
    /// Moves on with every change; an answer read at an older epoch is not
    /// remembered. Changed only with `inner` locked; read without it when
    /// a transaction begins (every read and write takes it).
    epoch: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// A transaction changed memberships and has not ended yet.
    changing: bool,
    /// By user, then project (a lookup allocates nothing).
    roles: HashMap<UserId, HashMap<ProjectId, Role>>,
    /// How many (user, project) roles `roles` holds.
    len: usize,
}

impl Inner {
    fn forget(&mut self) {
        self.roles.clear();
        self.len = 0;
    }
}

impl RoleCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every change under the lock is complete: a panic leaves no half.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current epoch: take it when a transaction begins, before its
    /// first statement, to [`RoleCache::put`] what it reads.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The remembered role.
    pub fn get(&self, user: UserId, project: &ProjectId) -> Option<Role> {
        let inner = self.inner();
        inner.roles.get(&user).and_then(|r| r.get(project)).copied()
    }

    /// Remember `role`, read by a transaction that began at `epoch`: not if
    /// a change began since, or is under way.
    pub fn put(&self, user: UserId, project: &ProjectId, role: Role, epoch: u64) {
        let mut inner = self.inner();
        if self.epoch() != epoch || inner.changing {
            return;
        }
        if inner.len >= ROLE_CACHE_MAX {
            inner.forget();
        }
        let added = inner
            .roles
            .entry(user)
            .or_default()
            .insert(project.clone(), role)
            .is_none();
        inner.len += usize::from(added);
    }

    /// A statement of the writer's transaction changed memberships: forget
    /// every role, remember none until [`RoleCache::settled`].
    pub fn changing(&self) {
        let mut inner = self.inner();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        inner.changing = true;
        inner.forget();
    }

    /// The writer's transaction ended (committed or rolled back): if it
    /// changed memberships, forget what was read meanwhile and remember
    /// again.
    pub fn settled(&self) {
        let mut inner = self.inner();
        if inner.changing {
            self.epoch.fetch_add(1, Ordering::AcqRel);
            inner.changing = false;
            inner.forget();
        }
    }

    /// How many roles are remembered.
    pub fn len(&self) -> usize {
        self.inner().len
    }

    /// Whether no role is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (UserId, ProjectId) {
        (UserId::new(), ProjectId::new())
    }

    #[test]
    fn a_role_is_answered_until_a_change_begins() {
        let cache = RoleCache::new();
        let (u, p) = ids();
        let epoch = cache.epoch();
        cache.put(u, &p, Role::Reader, epoch);
        assert_eq!(cache.get(u, &p), Some(Role::Reader));
        cache.changing();
        assert_eq!(cache.get(u, &p), None, "forgotten when a change begins");
    }

    #[test]
    fn nothing_is_remembered_while_a_change_is_under_way_or_from_before_it() {
        let cache = RoleCache::new();
        let (u, p) = ids();
        let before = cache.epoch();
        cache.changing();
        // A read from before the change, and one during it.
        cache.put(u, &p, Role::Admin, before);
        let during = cache.epoch();
        cache.put(u, &p, Role::Admin, during);
        assert_eq!(cache.get(u, &p), None);
        cache.settled();
        cache.put(u, &p, Role::Admin, during);
        assert_eq!(cache.get(u, &p), None, "an epoch from during the change");
        let after = cache.epoch();
        cache.put(u, &p, Role::PowerUser, after);
        assert_eq!(cache.get(u, &p), Some(Role::PowerUser));
        cache.settled();
        assert_eq!(
            cache.get(u, &p),
            Some(Role::PowerUser),
            "a transaction that changed no membership forgets nothing"
        );
    }

    #[test]
    fn the_cache_holds_at_most_its_bound() {
        let cache = RoleCache::new();
        let epoch = cache.epoch();
        for _ in 0..ROLE_CACHE_MAX + 10 {
            let (u, p) = ids();
            cache.put(u, &p, Role::Reader, epoch);
            assert!(cache.len() <= ROLE_CACHE_MAX);
        }
        assert!(!cache.is_empty());
    }
}
