//! Plain domain rules, free of GraphQL and database types, each with unit tests.

pub mod geo;
pub mod text;
pub mod validate;
