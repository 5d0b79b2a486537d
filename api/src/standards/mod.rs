//! The standard formats Circles speaks besides its GraphQL API (docs/standards.md): Open
//! Referral HSDS 3.0, the Meeting Guide feed and FHIR R4. Each module maps the same
//! `repo::listings::Listing` (and, for FHIR, the same referrals) to its format, and the
//! import formats back to group listings; the HTTP routes are in `http/`.

pub mod fhir;
pub mod meeting_guide;

use actix_web::HttpRequest;

use crate::config::Settings;

/// The base of the links a feed gives: `CIRCLES_PUBLIC_URL`, else the request's scheme
/// and host.
pub fn base_url(req: &HttpRequest, settings: &Settings) -> String {
    match &settings.public_url {
        Some(url) => url.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}
