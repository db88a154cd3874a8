//! What the gateway's batches and the phone's items look up, kept across
//! batches and requests.

use crate::db::service::Catalogue;
use crate::db::{StoreError, device, municipality, user_account};
use chrono::NaiveDate;
use std::collections::HashMap;

/// What the gateway's batches and the phone's items look up that seldom
/// changes: devices, care workers, staff credentials, orders,
/// municipalities, clients and service catalogues, kept across batches and
/// requests while the directory's version ([`crate::db::directory`], bumped
/// by database triggers on every change to those rows) stays the same. One
/// per gateway and one per API; lanes and requests share it.
pub struct Directory {
    known: std::sync::Mutex<Known>,
    /// Emptied at the next batch when it holds more entries.
    pub(crate) max_entries: usize,
    /// Dead letters each device may still leave (a token bucket).
    budget: std::sync::Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

/// Dead letters a device may leave at once, and then per hour: what a
/// faulty or hostile device sends beyond that is counted, not kept.
pub const DEAD_LETTERS_PER_DEVICE_BURST: f64 = 120.0;
pub const DEAD_LETTERS_PER_DEVICE_HOUR: f64 = 120.0;

impl Default for Directory {
    fn default() -> Self {
        Directory::with_max_entries(DIRECTORY_MAX_ENTRIES)
    }
}

#[derive(Default)]
pub(crate) struct Known {
    /// The version the entries were read at (or after).
    pub(crate) version: Option<i64>,
    pub(crate) devices: HashMap<String, Option<device::Device>>,
    pub(crate) municipalities: HashMap<String, municipality::Municipality>,
    pub(crate) staff: HashMap<(String, String), user_account::UserAccount>,
    pub(crate) credentials: HashMap<(String, String), Option<String>>,
    pub(crate) orders: HashMap<(String, String, NaiveDate), bool>,
    /// A client's household by (municipality, client); `None`: no such
    /// client.
    pub(crate) clients: HashMap<(String, String), Option<Option<String>>>,
    /// Service catalogues by municipality.
    pub(crate) catalogues: HashMap<String, std::sync::Arc<Catalogue>>,
}

impl Known {
    pub(crate) fn len(&self) -> usize {
        self.devices.len()
            + self.municipalities.len()
            + self.staff.len()
            + self.credentials.len()
            + self.orders.len()
            + self.clients.len()
            + self.catalogues.len()
    }
}

/// A [`Directory`] holding more entries is emptied at the next batch: a
/// large city's devices, staff and credentials (about 20,000) and four
/// weeks of its clients' orders by day fit under it.
const DIRECTORY_MAX_ENTRIES: usize = 500_000;

impl Directory {
    /// A directory emptied whenever it holds more than `n` entries.
    pub fn with_max_entries(n: usize) -> Directory {
        Directory {
            known: std::sync::Mutex::default(),
            max_entries: n,
            budget: std::sync::Mutex::default(),
        }
    }

    pub(crate) fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // A lane that panicked while holding it left plain maps behind.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Empties the directory if it holds another version than `version`
    /// (just read from the database) or more entries than it may.
    pub(crate) fn at(&self, version: i64) {
        let mut k = self.known();
        // Orders are kept by day: a directory nothing changes for days
        // would grow by a municipality's clients every day.
        if k.version != Some(version) || k.len() > self.max_entries {
            *k = Known {
                version: Some(version),
                ..Known::default()
            };
        }
    }

    /// Keeps the devices' last contact as a committed batch left it.
    pub fn committed(&self, contacts: Contacts) {
        let mut k = self.known();
        if contacts.version.is_none() || k.version != contacts.version {
            return;
        }
        for d in contacts.devices {
            k.devices.insert(d.id.to_string(), Some(d));
        }
    }

    /// Whether `device_id` may leave one more dead letter now.
    pub(crate) fn may_dead_letter(&self, device_id: &str) -> bool {
        let mut b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if b.len() > 100_000 {
            b.clear();
        }
        let (tokens, at) = b
            .entry(device_id.to_string())
            .or_insert((DEAD_LETTERS_PER_DEVICE_BURST, now));
        let refill = now.duration_since(*at).as_secs_f64() * DEAD_LETTERS_PER_DEVICE_HOUR / 3600.0;
        *tokens = (*tokens + refill).min(DEAD_LETTERS_PER_DEVICE_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How many entries it holds (for tests and metrics).
    pub fn len(&self) -> usize {
        self.known().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The devices a batch saw, as it wrote them, for [`Directory::committed`]
/// once the batch's transaction has committed.
#[derive(Debug, Default)]
pub struct Contacts {
    /// The directory's version the batch read; `None` without a directory.
    pub(crate) version: Option<i64>,
    pub(crate) devices: Vec<device::Device>,
}

/// How exactly a device's last contact is kept: a lock's events at a
/// client's door come seconds apart (unlock, lock), and writing the device
/// for each was one statement per event.
pub const CONTACT_RESOLUTION_SECONDS: i64 = 60;

/// `local[key]`, else the directory's (if it is still at the version the
/// batch read), else read with `load` and kept in both.
pub(crate) fn cached<K: std::hash::Hash + Eq + Clone, V: Clone>(
    local: &mut HashMap<K, V>,
    directory: Option<&(std::sync::Arc<Directory>, i64)>,
    pick: fn(&mut Known) -> &mut HashMap<K, V>,
    key: K,
    load: impl FnOnce() -> Result<V, StoreError>,
) -> Result<V, StoreError> {
    if let Some(v) = local.get(&key) {
        return Ok(v.clone());
    }
    let v = match directory {
        Some((dir, version)) => dir.kept(*version, pick, key.clone(), load)?,
        None => load()?,
    };
    local.insert(key, v.clone());
    Ok(v)
}

impl Directory {
    /// The entry for `key` if the directory is still at `version` (the one
    /// its caller read), else read with `load` and kept if it still is.
    pub(crate) fn kept<K: std::hash::Hash + Eq, V: Clone>(
        &self,
        version: i64,
        pick: fn(&mut Known) -> &mut HashMap<K, V>,
        key: K,
        load: impl FnOnce() -> Result<V, StoreError>,
    ) -> Result<V, StoreError> {
        {
            let mut k = self.known();
            if k.version == Some(version)
                && let Some(v) = pick(&mut k).get(&key)
            {
                return Ok(v.clone());
            }
        }
        let v = load()?;
        let mut k = self.known();
        if k.version == Some(version) {
            pick(&mut k).insert(key, v.clone());
        }
        Ok(v)
    }
}
