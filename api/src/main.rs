//! The `circles` binary: load `.env`, read settings, run the chosen command.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    circles::telemetry::init();
    let cli = circles::cli::Cli::parse();
    // Commands that read nothing and must create nothing (no data directory, no secrets).
    if circles::cli::runs_without_settings(&cli) {
        return circles::cli::run_without_settings(cli).await;
    }
    let settings = circles::config::Settings::from_env()?;
    circles::cli::run(cli, settings).await
}
