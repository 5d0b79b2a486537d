//! The JWT claims Circles reads, and the four roles.

use serde::{Deserialize, Serialize};

/// The roles of a token (docs/access.md); a token with any other role is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Clinician,
    Liaison,
    Researcher,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Clinician, Role::Liaison, Role::Researcher, Role::Admin];

    /// The claim value (`clinician`, `liaison`, `researcher`, `admin`).
    pub fn as_claim(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Liaison => "liaison",
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }

    pub fn from_claim(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_claim() == value)
    }
}

/// Registered and private claims of a Circles token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    /// The clinician's agency id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}
