//! Plain domain rules, free of database types, each with unit tests. (The referral enums
//! derive `async_graphql::Enum` so that the API names are the domain names.)

pub mod audit;
pub mod client_ref;
pub mod geo;
pub mod input_rules;
pub mod meeting_slug;
pub mod meeting_types;
pub mod perturbation;
pub mod referral;
pub mod referral_code;
pub mod stable_id;
pub mod suppression;
pub mod survival;
pub mod tenure;
pub mod text;
pub mod validate;
pub mod webhook_event;
pub mod webhook_schedule;
pub mod webhook_signature;
pub mod webhook_url;
