//! [`TrunkTx`] for PostgreSQL (table of `0003_trunks.sql`).

use super::{col, from_ts, get, ts, PgTx};
use crate::trunk::*;
use ::postgres::Row;
use nicplane_domain::ids::{InterfaceId, ProjectId};
use nicplane_domain::Result;

const TRUNK_COLS: &str =
    "id, project_id, parent_id, name, description, admin_state_up, created_at, updated_at";
fn trunk_row(r: &Row) -> Result<TrunkRow> {
    Ok(TrunkRow {
        id: get(r, 0)?,
        project_id: col(r, 1, "project")?,
        parent_id: col(r, 2, "interface id")?,
        name: get(r, 3)?,
        description: get(r, 4)?,
        admin_state_up: get(r, 5)?,
        created_at: from_ts(get(r, 6)?),
        updated_at: from_ts(get(r, 7)?),
    })
}

impl TrunkTx for PgTx<'_> {
    fn trunk_insert(&mut self, t: &TrunkRow) -> Result<()> {
        self.exec(
            &format!("INSERT INTO trunks ({TRUNK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &t.id,
                &t.project_id.to_string(),
                &t.parent_id.to_string(),
                &t.name,
                &t.description,
                &t.admin_state_up,
                &ts(t.created_at),
                &ts(t.updated_at),
            ],
        )
    }
    fn trunk_get(&mut self, id: &str) -> Result<Option<TrunkRow>> {
        self.one(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE id = $1"),
            &[&id],
            trunk_row,
        )
    }
    fn trunk_of_parent(&mut self, parent: InterfaceId) -> Result<Option<TrunkRow>> {
        self.one(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE parent_id = $1"),
            &[&parent.to_string()],
            trunk_row,
        )
    }
    fn trunk_list(&mut self, project: &ProjectId) -> Result<Vec<TrunkRow>> {
        self.many(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE project_id = $1 ORDER BY id"),
            &[&project.to_string()],
            trunk_row,
        )
    }
    fn trunk_update(&mut self, t: &TrunkRow) -> Result<()> {
        self.exec(
            "UPDATE trunks SET name = $2, description = $3, admin_state_up = $4, updated_at = $5 WHERE id = $1",
            &[&t.id, &t.name, &t.description, &t.admin_state_up, &ts(t.updated_at)],
        )
    }
    fn trunk_delete(&mut self, id: &str) -> Result<()> {
        self.exec("DELETE FROM trunks WHERE id = $1", &[&id])
    }
    fn interface_set_supplementary(&mut self, id: InterfaceId, supplementary: bool) -> Result<()> {
        self.exec(
            "UPDATE interfaces SET supplementary = $2 WHERE id = $1",
            &[&id.to_string(), &supplementary],
        )
    }
}
