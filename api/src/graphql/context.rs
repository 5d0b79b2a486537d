//! What every resolver reads from the request context: the database, the settings and the
//! viewer, and the parsing of IDs.

use async_graphql::{Context, ID};

use crate::auth::{Authn, Viewer};
use crate::config::Settings;
use crate::errors::{ApiError, ApiResult};
use crate::policy::{self, Operation, Scope};
use crate::repo::Db;

pub trait ContextExt {
    fn db(&self) -> &Db;
    fn settings(&self) -> &Settings;
    /// The viewer, or UNAUTHENTICATED (FORBIDDEN for an unregistered agency).
    fn viewer(&self) -> ApiResult<&Viewer>;
    /// The viewer and its scope for `op`, or the error to answer.
    fn authorize(&self, op: Operation) -> ApiResult<(&Viewer, Scope)>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> &Db {
        self.data_unchecked::<Db>()
    }

    fn settings(&self) -> &Settings {
        self.data_unchecked::<Settings>()
    }

    fn viewer(&self) -> ApiResult<&Viewer> {
        match self.data_opt::<Authn>() {
            Some(authn) => authn.viewer(),
            None => Err(ApiError::Unauthenticated("a bearer token is required".into())),
        }
    }

    fn authorize(&self, op: Operation) -> ApiResult<(&Viewer, Scope)> {
        let viewer = self.viewer()?;
        Ok((viewer, policy::authorize(viewer, op)?))
    }
}

/// A numeric ID; anything else is BAD_USER_INPUT on `field`.
pub fn parse_id(field: &str, id: &ID) -> ApiResult<i64> {
    id.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| ApiError::bad_input(field, format!("{:?} is not a valid id", id.as_str())))
}

/// The page size of a connection: `first` (default 20) within 1..=`max`, else
/// BAD_USER_INPUT on `first`.
/// The `after` cursor of a newest-first log (`auditEvents`, `statsAccessLog`): the sequence
/// number or id of the last entry seen; anything else is BAD_USER_INPUT on `after`.
pub fn before_id(after: Option<&str>) -> ApiResult<Option<i64>> {
    after.map(|c| c.parse::<i64>().map_err(|_| ApiError::bad_input("after", "not a cursor of this connection"))).transpose()
}

pub fn page_size(first: Option<i32>, max: u64) -> ApiResult<u64> {
    match first {
        None => Ok(20.min(max)),
        Some(n) if n >= 1 && (n as u64) <= max => Ok(n as u64),
        Some(_) => Err(ApiError::bad_input("first", format!("first must be between 1 and {max}"))),
    }
}
