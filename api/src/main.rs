//! The `circles` binary: load `.env`, set up logging, run the chosen command.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    circles::telemetry::init();
    circles::cli::run(circles::cli::Cli::parse()).await
}
