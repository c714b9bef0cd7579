//! The dashboards of past periods an instance keeps while what they count
//! is unchanged (decision 103): each is kept with the epoch of its days
//! (`veille_storage::figures::epoch`), read before it was computed, and shown
//! again while the epoch read at the next request is the same. The epoch is
//! in the database, moved by triggers in the transaction of every write the
//! figures count, so a change made through any instance, the CLI, a sync or
//! an import is seen by all of them at their next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Dashboard;

/// How many dashboards an instance keeps (the least recently shown goes
/// first); a dashboard at a million encounters is some tens of kilobytes.
const KEPT: usize = 64;

/// The dashboards kept, exact (suppression is applied to a copy, for whoever
/// asks).
#[derive(Default)]
pub struct Kept {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped at each use: the least recently shown has the smallest.
    clock: u64,
    /// Dashboards shown again as kept.
    hits: u64,
    entries: HashMap<String, Entry>,
}

struct Entry {
    epoch: i64,
    used: u64,
    dashboard: Arc<Dashboard>,
}

impl Kept {
    /// The dashboard kept under `key` if it was computed at `epoch`.
    pub(crate) fn get(&self, key: &str, epoch: i64) -> Option<Arc<Dashboard>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(key).filter(|e| e.epoch == epoch)?;
        entry.used = now;
        let dashboard = entry.dashboard.clone();
        inner.hits += 1;
        Some(dashboard)
    }

    /// Keeps `dashboard`, computed at `epoch`, under `key`.
    pub(crate) fn put(&self, key: String, epoch: i64, dashboard: Arc<Dashboard>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if inner.entries.len() >= KEPT && !inner.entries.contains_key(&key) {
            if let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(key, Entry { epoch, used, dashboard });
    }

    /// How many dashboards are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.len()
    }

    /// How many times a kept dashboard was shown again.
    pub fn hits(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).hits
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
