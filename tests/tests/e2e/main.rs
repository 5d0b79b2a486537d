//! End-to-end tests of Circles over HTTP. One binary (faster to link) with a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
pub mod common;
pub mod fixtures;
pub mod receiver;

mod access;
mod audit;
mod auth;
mod consolidation;
mod fhir;
mod group_commit;
mod group_filters;
mod group_survival;
mod group_writes;
mod hardening;
mod hsds;
mod hsds_import;
mod http;
pub mod km;
mod listing_fields;
mod literature;
pub mod meeting_guide;
mod meeting_size;
pub mod referral_responses;
pub mod referrals;
mod stats;
mod stats_privacy;
mod sync;
mod tenure;
mod text_search;
mod webhooks;
