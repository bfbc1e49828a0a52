//! [`TrunkTx`] for both engines (table of `0003_trunks.sql`).

use super::rows::{trunk_row, TRUNK_COLS};
use super::{args, ts, Exec, SqlTx};
use crate::trunk::*;
use nicplane_domain::ids::{InterfaceId, ProjectId};
use nicplane_domain::Result;

impl<E: Exec> TrunkTx for SqlTx<E> {
    fn trunk_insert(&mut self, t: &TrunkRow) -> Result<()> {
        self.run(
            &format!("INSERT INTO trunks ({TRUNK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            args![
                &t.id,
                t.project_id.to_string(),
                t.parent_id.to_string(),
                &t.name,
                &t.description,
                t.admin_state_up,
                ts(t.created_at),
                ts(t.updated_at),
            ],
        )
    }
    fn trunk_get(&mut self, id: &str) -> Result<Option<TrunkRow>> {
        self.exec.query_opt(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE id = $1"),
            args![id],
            trunk_row,
        )
    }
    fn trunk_of_parent(&mut self, parent: InterfaceId) -> Result<Option<TrunkRow>> {
        self.exec.query_opt(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE parent_id = $1"),
            args![parent.to_string()],
            trunk_row,
        )
    }
    fn trunk_list(&mut self, project: &ProjectId) -> Result<Vec<TrunkRow>> {
        self.exec.query(
            &format!("SELECT {TRUNK_COLS} FROM trunks WHERE project_id = $1 ORDER BY id"),
            args![project.to_string()],
            trunk_row,
        )
    }
    fn trunk_update(&mut self, t: &TrunkRow) -> Result<()> {
        self.run(
            "UPDATE trunks SET name = $2, description = $3, admin_state_up = $4, updated_at = $5 \
             WHERE id = $1",
            args![
                &t.id,
                &t.name,
                &t.description,
                t.admin_state_up,
                ts(t.updated_at)
            ],
        )
    }
    fn trunk_delete(&mut self, id: &str) -> Result<()> {
        self.delete("trunks", id.to_string()).map(drop)
    }
    fn interface_set_supplementary(&mut self, id: InterfaceId, supplementary: bool) -> Result<()> {
        self.run(
            "UPDATE interfaces SET supplementary = $2 WHERE id = $1",
            args![id.to_string(), supplementary],
        )
    }
}
