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
