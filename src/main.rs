//! The `frontdesk` binary: parse the command line, set up tracing, run the command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    frontdesk::cli::run(frontdesk::cli::Cli::parse())
}
