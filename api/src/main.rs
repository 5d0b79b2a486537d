//! The `circles` binary: load `.env`, read settings, run the chosen command.

use clap::Parser;

/// mimalloc: glibc's allocator spent a third of the server's time in malloc/free under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    circles::telemetry::init();
    let cli = circles::cli::Cli::parse();
    let settings = circles::config::Settings::from_env()?;
    circles::cli::run(cli, settings).await
}
