//! Queries for deleting and changing projects and for port bindings. A
//! supertrait of [`Tx`](crate::Tx); implemented once, for both engines, in
//! `sql/project.rs` (the bindings on `migrations/*/0017_port_bindings.sql`).

use nicplane_domain::ids::*;
use nicplane_domain::model::{PortBinding, Project, ProjectHoldings};
use nicplane_domain::Result;

/// Project and port-binding queries, run inside the caller's transaction.
pub trait ProjectTx {
    /// A project, its row locked for the rest of the transaction (on
    /// PostgreSQL, `FOR UPDATE`: a concurrent write that inserts a row
    /// referring to the project waits for this transaction, then fails its
    /// foreign key if the project is gone).
    fn project_lock(&mut self, id: &ProjectId) -> Result<Option<Project>>;
    /// What the project holds beyond its defaults (`rules::project_deletable`).
    fn project_holdings(&mut self, id: &ProjectId) -> Result<ProjectHoldings>;
    /// Delete the project row; its memberships, tokens, quota rows, jobs and
    /// anything else that refers to it with `ON DELETE CASCADE` go with it.
    fn project_delete(&mut self, id: &ProjectId) -> Result<()>;
    /// Write a project's name and description.
    fn project_update(&mut self, p: &Project) -> Result<()>;
    /// The bindings of these interfaces (those that exist): the VM's host
    /// for an attached one, else the host it was bound to.
    fn port_bindings(&mut self, ids: &[InterfaceId]) -> Result<Vec<PortBinding>>;
    /// Bind an interface to a host (`Some(None)`: no host; `None`: keep the
    /// stored one) with a profile (JSON object text), at `now` (Unix
    /// seconds); insert or replace.
    fn port_binding_set(
        &mut self,
        id: InterfaceId,
        host: Option<Option<HostId>>,
        profile: &str,
        now: i64,
    ) -> Result<()>;
}
