//! Queries for Neutron trunks (the OpenStack dialect). A supertrait of
//! [`Tx`](crate::Tx); it is implemented once, for both engines, in
//! `sql/trunk.rs`, on the table of `migrations/*/0003_trunks.sql`.
//! A trunk's subports are not stored here: they are the supplementary
//! interfaces whose `parent_id` is the trunk's parent.

use nicplane_domain::ids::{InterfaceId, ProjectId};
use nicplane_domain::model::Timestamp;
use nicplane_domain::Result;

/// A trunk: a name around a parent interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRow {
    /// A UUID (for a trunk materialized around an existing parent, the
    /// parent's id).
    pub id: String,
    pub project_id: ProjectId,
    pub parent_id: InterfaceId,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Trunk queries, run inside the caller's transaction.
pub trait TrunkTx {
    fn trunk_insert(&mut self, t: &TrunkRow) -> Result<()>;
    fn trunk_get(&mut self, id: &str) -> Result<Option<TrunkRow>>;
    fn trunk_of_parent(&mut self, parent: InterfaceId) -> Result<Option<TrunkRow>>;
    /// A project's trunks, by id.
    fn trunk_list(&mut self, project: &ProjectId) -> Result<Vec<TrunkRow>>;
    /// Name, description and admin state.
    fn trunk_update(&mut self, t: &TrunkRow) -> Result<()>;
    fn trunk_delete(&mut self, id: &str) -> Result<()>;
    /// Turn an unattached, unparented interface into a supplementary one or
    /// back (the CHECKs on `interfaces` decide what is allowed).
    fn interface_set_supplementary(&mut self, id: InterfaceId, supplementary: bool) -> Result<()>;
}
