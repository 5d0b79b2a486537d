//! The caller of one request, as far as the token and the database tell.
//!
//! A clinician's agency is checked against the database when the request starts; a liaison's
//! group assignments are read from the database on first use in each request, so an
//! unassignment takes effect at once.

use std::collections::HashSet;

use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use crate::auth::{Role, TokenVerifier};
use crate::errors::{ApiError, ApiResult};
use crate::repo;

/// A caller with a valid token.
#[derive(Debug)]
pub struct Viewer {
    pub subject: String,
    pub role: Role,
    /// The registered agency of a clinician.
    pub agency_id: Option<i64>,
    /// When the token expires (`exp`, Unix seconds): a WebSocket connection ends then.
    pub expires_at: i64,
    assigned_groups: OnceCell<HashSet<i64>>,
}

impl Viewer {
    pub fn new(subject: String, role: Role, agency_id: Option<i64>, expires_at: i64) -> Self {
        Self { subject, role, agency_id, expires_at, assigned_groups: OnceCell::new() }
    }

    /// The groups this liaison is assigned to now (empty for other roles).
    pub async fn assigned_groups(&self, db: &DatabaseConnection) -> ApiResult<&HashSet<i64>> {
        self.assigned_groups
            .get_or_try_init(|| async {
                if self.role != Role::Liaison {
                    return Ok(HashSet::new());
                }
                repo::liaisons::groups_of(db, &self.subject).await
            })
            .await
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, badly signed, expired, or with claims that are not allowed.
    InvalidToken(String),
    /// A clinician token whose agency is not registered.
    AgencyNotRegistered,
}

/// The authentication state of a request. Anonymous and invalid callers still get
/// `__typename` and introspection; every data field answers UNAUTHENTICATED.
#[derive(Debug)]
pub enum Authn {
    Anonymous,
    /// A token was given and refused: invalid (UNAUTHENTICATED) or valid for an agency that
    /// is not registered (FORBIDDEN).
    Refused(Refusal),
    Viewer(Viewer),
}

impl Authn {
    /// The viewer, or the error every data field answers with.
    pub fn viewer(&self) -> ApiResult<&Viewer> {
        match self {
            Authn::Viewer(v) => Ok(v),
            other => Err(other.refusal()),
        }
    }

    /// The viewer, owned (for routes outside GraphQL), or the same error as `viewer`.
    pub fn into_viewer(self) -> ApiResult<Viewer> {
        match self {
            Authn::Viewer(v) => Ok(v),
            other => Err(other.refusal()),
        }
    }

    fn refusal(&self) -> ApiError {
        match self {
            Authn::Refused(Refusal::AgencyNotRegistered) => ApiError::Forbidden("the token's agency is not registered".into()),
            Authn::Refused(Refusal::InvalidToken(reason)) => ApiError::Unauthenticated(reason.clone()),
            Authn::Anonymous | Authn::Viewer(_) => ApiError::Unauthenticated("a bearer token is required".into()),
        }
    }

    /// Authenticates the `Authorization` header value of a request.
    pub async fn from_header(header: Option<&str>, verifier: &TokenVerifier, db: &DatabaseConnection) -> ApiResult<Self> {
        let Some(header) = header else {
            return Ok(Authn::Anonymous);
        };
        let refused = |reason: &str| Ok(Authn::Refused(Refusal::InvalidToken(reason.into())));
        let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
            return refused("the Authorization header must be `Bearer <token>`");
        };
        let claims = match verifier.verify(token.trim()) {
            Ok(claims) => claims,
            Err(reason) => return refused(&reason),
        };
        let Some(role) = Role::from_claim(&claims.role) else {
            return refused("token role is not one of clinician, liaison, researcher, admin");
        };
        if claims.sub.trim().is_empty() {
            return refused("token subject is empty");
        }
        // The subject is written to the audit log and the logs as it is: nothing that could
        // forge a line or reorder what a reader sees, and nothing a database cannot store.
        if claims.sub.len() > 200 || claims.sub.chars().any(|c| c.is_control() || crate::domain::input_rules::forbidden_char(c)) {
            return refused("token subject holds a control or bidirectional-override character, or is longer than 200 bytes");
        }
        let agency_id = match (role, claims.agency.as_deref()) {
            (Role::Clinician, None) => return refused("a clinician token needs an agency claim"),
            (Role::Clinician, Some(agency)) => {
                let registered = match agency.trim().parse::<i64>() {
                    Ok(id) if verifier.knows_agency(id) => Some(id),
                    Ok(id) => {
                        let known = repo::agencies::exists(db, id).await?;
                        if known {
                            verifier.remember_agency(id);
                        }
                        known.then_some(id)
                    }
                    Err(_) => None,
                };
                match registered {
                    Some(id) => Some(id),
                    None => {
                        return Ok(Authn::Refused(Refusal::AgencyNotRegistered));
                    }
                }
            }
            _ => None,
        };
        Ok(Authn::Viewer(Viewer::new(claims.sub, role, agency_id, claims.exp)))
    }
}
