//! Circles: a GraphQL API over a directory of mental-health self-help groups and the
//! referrals agencies send to them.
//!
//! Layout: `config` and `startup` build the server; `auth` reads tokens; `policy` says who
//! may do what; `domain` holds plain rules; `repo` all database access; `services` the
//! workflows and reports built from them; `graphql` the schema (thin resolvers); `http` the
//! GraphQL-over-HTTP handler, health, metrics and the statistics CSV; `seed` demo data.

pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod errors;
pub mod graphql;
pub mod http;
pub mod import_cli;
pub mod policy;
pub mod repo;
pub mod seed;
pub mod services;
pub mod standards;
pub mod startup;
pub mod telemetry;
