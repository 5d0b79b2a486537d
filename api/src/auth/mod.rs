//! Who is calling: JWT validation (`jwt`), the claims and roles (`claims`) and the
//! per-request `Viewer` built from them (`viewer`).

pub mod claims;
pub mod jwt;
pub mod viewer;

pub use claims::{Claims, Role};
pub use jwt::TokenVerifier;
pub use viewer::{Authn, Viewer};
