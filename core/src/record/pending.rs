//! What the events of one transaction share.

use crate::db::{self, DbConn, StoreError};
use std::collections::HashMap;

/// What the events of one transaction share (see `record::record_deferred`):
/// the change to the figures, applied once before the commit, and the
/// month locks read so far.
#[derive(Default)]
pub struct Pending {
    pub figures: crate::domain::figures::Figures,
    /// Client-months with a visit already open past the municipality's
    /// limit when it was recorded (a check-in that arrived late): they
    /// change no figure, so nothing else would have the alert rules look
    /// at them before the next full run.
    pub stale_open: std::collections::BTreeSet<(String, String)>,
    /// The clients and local days of the visits recorded: their planned
    /// visits are judged again at once (issue 25).
    pub visited: std::collections::BTreeSet<(String, chrono::NaiveDate)>,
    locks: HashMap<(String, crate::domain::YearMonth), bool>,
    /// The services' weights read so far (a visit's services are shared
    /// by them): a batch's visits mostly name the same few.
    pub(super) weights: super::attribute::Weights,
    /// PostgreSQL: staff members whose events this transaction holds.
    pub(super) staff: std::collections::HashSet<String>,
}

impl Pending {
    /// Adds the figures and marks their client-months, and those of
    /// [`Pending::stale_open`], for the alert rules; asks for the planned
    /// visits of the clients visited to be judged.
    pub fn apply(&self, c: &mut DbConn) -> Result<(), StoreError> {
        db::figure::apply_marking(c, &self.figures, &self.stale_open)?;
        mark_plans(c, &self.visited)
    }

    /// Adds what another transaction part deferred (one that was kept).
    pub fn merge(&mut self, other: Pending) {
        self.figures.merge(other.figures);
        self.stale_open.extend(other.stale_open);
        self.visited.extend(other.visited);
        self.locks.extend(other.locks);
        self.staff.extend(other.staff);
        self.weights.extend(other.weights);
    }

    /// An empty part of this transaction that knows what it has read and
    /// locked: for a savepoint whose changes count only if it is kept.
    pub(super) fn sharing(&self) -> Pending {
        Pending {
            locks: self.locks.clone(),
            staff: self.staff.clone(),
            weights: self.weights.clone(),
            ..Pending::default()
        }
    }

    /// What an undone part read (month locks, services' weights), without
    /// its changes.
    pub(super) fn keep_reads(&mut self, other: Pending) {
        self.locks.extend(other.locks);
        self.weights.extend(other.weights);
    }

    /// Whether the provider's month is locked for billing (R6), read once per
    /// transaction (a lock taken meanwhile is seen by the next one, as it
    /// would be if the two had run the other way round).
    pub(super) fn is_locked(
        &mut self,
        c: &mut DbConn,
        provider_id: &str,
        month: crate::domain::YearMonth,
    ) -> Result<bool, StoreError> {
        let key = (provider_id.to_string(), month);
        if let Some(l) = self.locks.get(&key) {
            return Ok(*l);
        }
        let l = db::month_lock::is_locked(c, provider_id, month)?;
        self.locks.insert(key, l);
        Ok(l)
    }
}

/// Asks for the planned visits of `visited` (clients and local days) to be
/// judged at the next run, with those of the days either side (a visit
/// near midnight may keep a plan of either): one row per client and day,
/// whatever number of plans they hold.
pub(crate) fn mark_plans(
    c: &mut DbConn,
    visited: &std::collections::BTreeSet<(String, chrono::NaiveDate)>,
) -> Result<(), StoreError> {
    if visited.is_empty() {
        return Ok(());
    }
    db::visited_day::ask(c, visited, chrono::Utc::now().naive_utc())?;
    Ok(())
}
