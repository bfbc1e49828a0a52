//! Queries for what Neutron and Nova clients asked for in issue 15, on the
//! columns and tables of `migrations/*/0007_revisions_flavors.sql`: revision
//! numbers (bumped by that migration's triggers, read and checked here) and
//! Nova flavors. A supertrait of [`Tx`](crate::Tx), implemented once for
//! both engines in `sql/neutron.rs`.

use nicplane_domain::ids::ProjectId;
use nicplane_domain::model::{Flavor, Revisioned};
use nicplane_domain::Result;
use std::collections::HashMap;

/// Revision and flavor queries, run inside the caller's transaction.
pub trait NeutronTx {
    /// The revision of one object of the project, the row locked for the
    /// rest of a writing transaction (PostgreSQL `FOR UPDATE`; SQLite writes
    /// are serial). `None` when the project has no such object.
    fn revision_lock(
        &mut self,
        what: Revisioned,
        id: &str,
        project: &ProjectId,
    ) -> Result<Option<u64>>;
    /// The revisions of these objects (absent ids are left out).
    fn revisions(&mut self, what: Revisioned, ids: &[String]) -> Result<HashMap<String, u64>>;

    /// Bump an object's revision (a change the triggers do not see: its
    /// tags).
    fn revision_bump(&mut self, what: Revisioned, id: &str) -> Result<()>;

    /// The tags of these objects (`neutron_tags`; not ports), sorted.
    fn neutron_tags(
        &mut self,
        what: Revisioned,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>>;
    /// Replace an object's tags.
    fn neutron_tags_set(&mut self, what: Revisioned, id: &str, tags: &[String]) -> Result<()>;

    /// The project that owns an object (`None`: no such object, or one of
    /// no project, such as a shared network).
    fn object_project(&mut self, what: Revisioned, id: &str) -> Result<Option<ProjectId>>;

    /// Live flavors, by id; with `deleted`, deleted ones too.
    fn flavor_list(&mut self, deleted: bool) -> Result<Vec<Flavor>>;
    fn flavor_insert(&mut self, f: &Flavor, created_at: i64) -> Result<()>;
    /// Mark a live flavor deleted; false when there is none with that id.
    fn flavor_delete(&mut self, id: &str, at: i64) -> Result<bool>;
}
