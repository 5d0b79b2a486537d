//! A short-lived cache of directory query responses.
//!
//! Clinic systems run the same directory searches over and over, and listings change
//! rarely. A query whose top-level fields are all directory reads (`groups`, `group`,
//! `programs`, `program`, `fundingRestrictions`) and that answered without errors is kept,
//! keyed by the caller's role and the exact request, for `CIRCLES_DIRECTORY_CACHE_TTL`
//! seconds (default 5; 0 turns the cache off). Any mutation on this server empties it at
//! once; a write through another replica is seen within the TTL at the latest.
//! Referrals, statistics, `me` and the audit log are never cached.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{OperationDefinition, OperationType, Selection};
use lru::LruCache;

const CACHEABLE_FIELDS: &[&str] = &["groups", "group", "programs", "program", "fundingRestrictions", "__typename"];

struct Entry {
    stored: Instant,
    body: String,
    /// One caller is already recomputing this expired entry; the others get it meanwhile.
    refreshing: bool,
}

pub struct DirectoryCache {
    ttl: Duration,
    entries: Mutex<LruCache<String, Entry>>,
    /// Bumped by `clear`, so a read that began before a mutation never stores its answer.
    generation: AtomicU64,
}

impl DirectoryCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self { ttl, entries: Mutex::new(LruCache::new(capacity)), generation: AtomicU64::new(0) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The cache key of a request, when its operation only reads the directory (the variables
    /// are written out only then: every other request, and all when the cache is off, skip it).
    pub fn key_for(
        &self,
        op: &OperationDefinition,
        role: &str,
        operation_name: Option<&str>,
        query: &str,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<String> {
        if !self.enabled() || op.ty != OperationType::Query || !op.directives.is_empty() {
            return None;
        }
        let cacheable = op.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(f) => CACHEABLE_FIELDS.contains(&f.node.name.node.as_str()) && f.node.directives.is_empty(),
            _ => false,
        });
        if !cacheable {
            return None;
        }
        // Variables that do not serialize are not cached (never keyed as if they were empty).
        let variables = serde_json::to_string(variables).ok()?;
        Some(format!("{role}\u{0}{}\u{0}{query}\u{0}{variables}", operation_name.unwrap_or("")))
    }

    /// A fresh answer; or, once expired, `None` for the first caller (who recomputes it) and
    /// the expired answer for callers that come while that recomputation runs (at most one
    /// more TTL), so an expiry never makes every concurrent request recompute at once.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get_mut(key)?;
        let age = entry.stored.elapsed();
        if age < self.ttl {
            return Some(entry.body.clone());
        }
        if entry.refreshing && age < self.ttl * 2 {
            return Some(entry.body.clone());
        }
        entry.refreshing = true;
        None
    }

    /// The current generation; pass it to `put` with the answer computed after reading it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores an answer unless a mutation happened since `generation` was read.
    pub fn put(&self, key: String, body: String, generation: u64) {
        if let Ok(mut entries) = self.entries.lock()
            && self.generation.load(Ordering::Acquire) == generation
        {
            entries.put(key, Entry { stored: Instant::now(), body, refreshing: false });
        }
    }

    /// Forgets everything (after any mutation).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::DocumentOperations;

    fn op(query: &str) -> OperationDefinition {
        match parse_query(query).map(|d| d.operations) {
            Ok(DocumentOperations::Single(op)) => op.node,
            _ => panic!("one operation expected"),
        }
    }

    #[test]
    fn only_directory_reads_are_cached() {
        let cache = DirectoryCache::new(Duration::from_secs(5), 10);
        let vars = serde_json::Map::new();
        let key = |q: &str| cache.key_for(&op(q), "researcher", None, q, &vars);
        assert!(key("{ groups { totalCount } programs { name } }").is_some());
        assert!(key("{ me { role } }").is_none());
        assert!(key("{ groups { totalCount } referrals { totalCount } }").is_none());
        assert!(key("{ ...F } fragment F on Query { groups { totalCount } }").is_none());
        assert!(key("mutation { createAgency(input: { name: \"x\" }) { id } }").is_none());
        assert_ne!(
            cache.key_for(&op("{ programs { name } }"), "admin", None, "q", &vars),
            cache.key_for(&op("{ programs { name } }"), "liaison", None, "q", &vars)
        );
        // The variables are part of the key: another region is another answer.
        let region = |r: &str| serde_json::json!({ "region": r }).as_object().cloned().unwrap();
        let q = "query($region: String) { groups(filter: { region: $region }) { totalCount } }";
        assert_ne!(cache.key_for(&op(q), "admin", None, q, &region("Ontario")), cache.key_for(&op(q), "admin", None, q, &region("Berlin")));
        let off = DirectoryCache::new(Duration::ZERO, 10);
        assert!(off.key_for(&op("{ programs { name } }"), "admin", None, "q", &vars).is_none());
    }

    #[test]
    fn entries_expire_and_clear() {
        let cache = DirectoryCache::new(Duration::from_millis(50), 10);
        cache.put("k".into(), "body".into(), cache.generation());
        assert_eq!(cache.get("k").as_deref(), Some("body"));
        let before = cache.generation();
        cache.clear();
        assert_eq!(cache.get("k"), None);
        cache.put("k".into(), "stale".into(), before);
        assert_eq!(cache.get("k"), None, "an answer read before a mutation is not stored after it");
        cache.put("k".into(), "body".into(), cache.generation());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("k"), None, "the first caller after expiry recomputes");
        assert_eq!(cache.get("k").as_deref(), Some("body"), "the others get the expired answer meanwhile");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(cache.get("k"), None, "but not for longer than another TTL");
    }
}
