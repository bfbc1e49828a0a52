//! The `nicplane` binary: `serve` runs the server; every other subcommand is
//! a client of the native API (see `cli.rs`); `bench` prints IPAM figures;
//! `backup`, `restore` and `completions` are operator tools (`ops.rs`);
//! `agent` is a host's data-plane agent (`agent.rs`).

mod agent;
mod bench;
mod bench_dataplane;
mod bench_http;
mod bench_scale;
mod cli;
mod config;
mod ops;
mod serve;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "nicplane",
    version,
    about = "Control plane for the network interfaces of VMs"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: cli::Global,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<serve::ServeArgs>),
    /// Print IPAM allocation and HTTP throughput figures.
    Bench(bench::BenchArgs),
    /// Run a host's data-plane agent: realize its VMs in network namespaces
    /// (root; see docs/dataplane.md).
    Agent(agent::AgentArgs),
    /// Copy the SQLite database to a new file, safely while the server runs.
    Backup(ops::BackupArgs),
    /// Replace the SQLite database with a backup (stop the server first).
    Restore(ops::RestoreArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

/// Parse the command line; when a config file is named (`serve`, `backup`
/// and `restore`), its keys fill the environment variables that are not set
/// and the command line is parsed again, so flag > env > file > default.
fn parse() -> anyhow::Result<Args> {
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let file = match &args.command {
        Command::Serve(a) => {
            if matches.value_source("config") == Some(ValueSource::CommandLine) {
                anyhow::bail!(
                    "serve reads its settings from --config-file FILE; --config names the CLI's session file"
                );
            }
            a.config_file.clone()
        }
        Command::Backup(a) => a.store.config_file.clone(),
        Command::Restore(a) => a.store.config_file.clone(),
        _ => None,
    };
    let Some(path) = file else {
        return Ok(args);
    };
    for (var, value) in config::load(&path)? {
        if std::env::var_os(&var).is_none() {
            // Still one thread: nothing else reads the environment yet.
            std::env::set_var(var, value);
        }
    }
    Ok(Args::parse())
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    let code = match args.command {
        Command::Serve(a) => match serve::run(*a) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        Command::Bench(a) => match bench::run(a) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        Command::Agent(a) => report(agent::run(a, args.global.url.clone())),
        Command::Backup(a) => report(ops::backup(a)),
        Command::Restore(a) => report(ops::restore(a)),
        Command::Completions { shell } => {
            ops::completions(shell);
            0
        }
        Command::Client(c) => cli::run(c, args.global),
    };
    std::process::exit(code);
}

/// Exit code of an operator command, printing its error.
fn report(r: anyhow::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
