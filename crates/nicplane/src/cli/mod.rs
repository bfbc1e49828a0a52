//! The client subcommands (filled in below).

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ClientCommand {}

pub fn run(_c: ClientCommand) -> i32 {
    1
}
