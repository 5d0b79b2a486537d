//! The `circles` binary: load `.env`, set up logging, run the chosen command.

use clap::Parser;

/// mimalloc rather than glibc's malloc: a GraphQL response is built from many small
/// allocations, freed on other threads than the one that made them (perf of the uncached
/// directory path: about 21 % of the server's CPU in malloc/free with glibc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    circles::telemetry::init();
    circles::cli::run(circles::cli::Cli::parse()).await
}
