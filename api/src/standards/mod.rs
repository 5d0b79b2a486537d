//! The standard formats Circles speaks besides its GraphQL API (docs/standards.md): Open
//! Referral HSDS 3.0, the Meeting Guide feed and FHIR R4. Each module maps the same
//! `repo::listings::Listing` (and, for FHIR, the same referrals) to its format, and the
//! import formats back to group listings; the HTTP routes are in `http/`.

pub mod fhir;
pub mod hsds;
pub mod hsds_import;
pub mod hsds_schedule;
pub mod hsds_types;
pub mod meeting_guide;
pub mod meeting_guide_import;

use actix_web::HttpRequest;

use crate::config::Settings;
use crate::repo::groups::GroupDraft;

/// One listing read from an imported file.
#[derive(Debug)]
pub struct Incoming {
    /// Where it came from, for reports: `[3] sunday-serenity`.
    pub at: String,
    pub draft: GroupDraft,
    /// The source says the group is temporarily closed (it is PAUSED).
    pub paused: bool,
    /// Codes the source has and Circles does not keep, reported as ignored.
    pub ignored_types: Vec<String>,
}

/// A record of an imported file that cannot be imported: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub at: String,
    pub reason: String,
}

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
