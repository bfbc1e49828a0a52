//! The `nicplane` binary: `serve` runs the server; every other subcommand is
//! a client of the native API (see `cli.rs`); `bench` prints IPAM figures.

mod bench;
mod bench_http;
mod cli;
mod serve;

use clap::{Parser, Subcommand};

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
    #[command(flatten)]
    Client(cli::ClientCommand),
}

fn main() {
    let args = Args::parse();
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
        Command::Client(c) => cli::run(c, args.global),
    };
    std::process::exit(code);
}
