//! Plain-text tables for the CLI, laid out by comfy-table: no borders, each
//! column as wide as its widest cell, two spaces between columns, no
//! trailing blanks.

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, ContentArrangement};
use std::fmt;

/// Spaces between two columns.
const GAP: u16 = 2;

/// Rows under a header, printed with aligned columns.
pub struct Table {
    table: comfy_table::Table,
    tail: Vec<Table>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(NOTHING)
            // Never wrap or cut a cell: a long address stays on its line.
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.to_vec());
        Table {
            table,
            tail: Vec::new(),
        }
    }
    pub fn row(&mut self, r: Vec<String>) {
        self.table.add_row(r);
    }
    /// Print another table after this one.
    pub fn append(&mut self, t: Table) {
        self.tail.push(t);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut table = self.table.clone();
        for column in table.column_iter_mut() {
            column
                .set_padding((0, GAP))
                .set_cell_alignment(CellAlignment::Left);
        }
        for line in table.lines() {
            writeln!(f, "{}", line.trim_end())?;
        }
        for t in &self.tail {
            writeln!(f)?;
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_two_spaces_apart() {
        let mut t = Table::new(&["NAME", "ADDRESS", "PRIMARY"]);
        t.row(vec!["web-1".into(), "10.0.0.2".into(), "yes".into()]);
        t.row(vec!["db".into(), "".into(), "".into()]);
        let mut other = Table::new(&["ID"]);
        other.row(vec!["x".into()]);
        t.append(other);
        assert_eq!(
            t.to_string(),
            "NAME   ADDRESS   PRIMARY\n\
             web-1  10.0.0.2  yes\n\
             db\n\
             \n\
             ID\n\
             x\n"
        );
    }

    #[test]
    fn a_header_alone_is_printed() {
        let t = Table::new(&["NAME", "STATUS"]);
        assert_eq!(t.to_string(), "NAME  STATUS\n");
    }
}
