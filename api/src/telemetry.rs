//! Structured logs with `tracing`: JSON lines when `CIRCLES_LOG_FORMAT=json`, readable text
//! otherwise; the level from `RUST_LOG` (default info). Every HTTP request runs in a span
//! with its request id (see `startup`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let json = std::env::var("CIRCLES_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
