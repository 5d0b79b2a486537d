//! DataLoaders for the fields nested under groups and programs, so that a page of groups
//! costs the same number of SQL statements whatever its size. One `DirectoryLoader` is
//! created per request (see `http::graphql`) and answers several key types.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entities::{agency, funding_restriction, group, group_liaison, group_meeting, program, referral_event};

use crate::errors::ApiError;
use crate::repo::{self, Db};

/// The per-request loader of directory data.
pub struct DirectoryLoader {
    db: Db,
}

impl DirectoryLoader {
    /// A loader that caches for the request it serves, so `prefetch` can load a page's
    /// nested data in one batch per kind before the fields ask for it.
    pub fn new_dataloader(db: Db) -> DataLoader<Self, HashMapCache> {
        DataLoader::with_cache(Self { db }, tokio::spawn, HashMapCache::default())
    }
}

pub type LoadError = Arc<ApiError>;

/// What a key with no rows maps to: an empty list for list values, nothing for a record.
trait Missing: Sized {
    fn missing() -> Option<Self>;
}

impl<T> Missing for Vec<T> {
    fn missing() -> Option<Self> {
        Some(Vec::new())
    }
}

macro_rules! no_default {
    ($($t:ty),+) => { $(impl Missing for $t { fn missing() -> Option<Self> { None } })+ };
}
no_default!(program::Model, group::Model, agency::Model);

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
                let mut found = $body.await.map_err(Arc::new)?;
                // Every key gets an answer (an empty list when nothing matched), so the
                // request cache also remembers "none" and does not ask again.
                Ok(keys.iter().filter_map(|k| found.remove(&k.0).or_else(<$value as Missing>::missing).map(|v| (*k, v))).collect())
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
keyed_loader!(
    /// The flags that apply to a group: its own and its program's.
    GroupEffectiveFlags => Vec<funding_restriction::Model>, |db, ids| repo::flags::effective_for_groups(db, &ids)
);
keyed_loader!(GroupMeetings => Vec<group_meeting::Model>, |db, ids| repo::group_parts::meetings(db, &ids));
keyed_loader!(GroupFocus => Vec<String>, |db, ids| repo::group_parts::focus_tags(db, &ids));
keyed_loader!(GroupLanguages => Vec<String>, |db, ids| repo::group_parts::languages(db, &ids));
keyed_loader!(GroupById => group::Model, |db, ids| repo::groups::by_ids(db, &ids));
keyed_loader!(AgencyById => agency::Model, |db, ids| repo::agencies::by_ids(db, &ids));
keyed_loader!(ReferralEvents => Vec<referral_event::Model>, |db, ids| repo::referrals::events_for(db, &ids));
keyed_loader!(GroupLiaisons => Vec<group_liaison::Model>, |db, ids| repo::liaisons::for_groups(db, &ids));

/// The request's loader.
pub type RequestLoader = DataLoader<DirectoryLoader, HashMapCache>;

/// Loads `keys` in one statement now and puts the answers into the request's cache, where
/// the fields then find them. For a resolver that knows every key its children will ask for
/// (a page of groups): `load_many` would wait the loader's batching delay (1 ms, on a timer
/// thread) and run the load on a task of its own first.
pub async fn prefetch<K>(loader: &RequestLoader, keys: impl IntoIterator<Item = K>) -> Result<(), LoadError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    DirectoryLoader: Loader<K, Error = LoadError>,
{
    let keys: Vec<K> = keys.into_iter().collect::<HashSet<K>>().into_iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    let values = loader.loader().load(&keys).await?;
    loader.feed_many(values).await;
    Ok(())
}
