//! sea-orm entities of the Circles database: one module per table, database models only.
//! GraphQL types live in the `circles-api` crate and are built from these models.

pub mod agency;
pub mod audit_event;
pub mod enums;
pub mod funding_restriction;
pub mod group;
pub mod group_focus_tag;
pub mod group_funding_restriction;
pub mod group_language;
pub mod group_liaison;
pub mod group_meeting;
pub mod import_key;
pub mod program;
pub mod program_funding_restriction;
pub mod referral;
pub mod referral_event;
pub mod stats_access_log;
pub mod webhook_attempt;
pub mod webhook_endpoint;
pub mod webhook_message;
