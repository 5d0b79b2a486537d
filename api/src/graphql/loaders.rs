//! DataLoaders for the fields nested under groups and programs, so that a page of groups
//! costs the same number of SQL statements whatever its size. One `DirectoryLoader` is
//! created per request (see `http::graphql`) and answers several key types.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entities::{funding_restriction, group_liaison, group_meeting, program};

use crate::errors::ApiError;
use crate::repo::{self, Db};

/// The per-request loader of directory data.
pub struct DirectoryLoader {
    db: Db,
}

impl DirectoryLoader {
    pub fn new_dataloader(db: Db) -> DataLoader<Self> {
        DataLoader::new(Self { db }, tokio::spawn)
    }
}

pub type LoadError = Arc<ApiError>;

macro_rules! keyed_loader {
    ($(#[$meta:meta])* $key:ident => $value:ty, |$db:ident, $ids:ident| $body:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for DirectoryLoader {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                let $db = self.db.conn();
                let $ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let found = $body.await.map_err(Arc::new)?;
                Ok(found.into_iter().map(|(k, v)| ($key(k), v)).collect())
            }
        }
    };
}

keyed_loader!(
    /// A program by id.
    ProgramById => program::Model, |db, ids| repo::programs::by_ids(db, &ids)
);
keyed_loader!(
    /// The flags of a program.
    ProgramFlags => Vec<funding_restriction::Model>, |db, ids| repo::flags::for_programs(db, &ids)
);
keyed_loader!(
    /// The group's own flags (not its program's).
    GroupOwnFlags => Vec<funding_restriction::Model>, |db, ids| repo::flags::for_groups(db, &ids)
);
keyed_loader!(GroupMeetings => Vec<group_meeting::Model>, |db, ids| repo::group_parts::meetings(db, &ids));
keyed_loader!(GroupFocus => Vec<String>, |db, ids| repo::group_parts::focus_tags(db, &ids));
keyed_loader!(GroupLanguages => Vec<String>, |db, ids| repo::group_parts::languages(db, &ids));
keyed_loader!(GroupLiaisons => Vec<group_liaison::Model>, |db, ids| repo::liaisons::for_groups(db, &ids));
