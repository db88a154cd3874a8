//! What the broker refused, counted and logged as one line per interval:
//! a flood of failed sign-ins or idle connections writes one line every
//! ten seconds with the counts, never one line per attempt.

use super::rules::Refusal;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often the counts are logged (when any is not zero).
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Counters since the last log line, and totals for `/metrics`.
#[derive(Default)]
pub struct Tally {
    counts: Mutex<BTreeMap<&'static str, u64>>,
    slowed: AtomicU64,
    /// Since the start, for tests and metrics: refused sign-ins.
    pub refused_total: AtomicU64,
    /// Since the start: connections closed or refused by the guard.
    pub dropped_total: AtomicU64,
}

impl Tally {
    fn add(&self, what: &'static str) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry(what).or_default() += 1;
    }

    /// A refused sign-in, by reason.
    pub fn refused(&self, reason: &'static str) {
        self.refused_total.fetch_add(1, Ordering::Relaxed);
        self.add(match reason {
            "bad_credentials" => "sign_in_bad_credentials",
            "reserved_identity" => "sign_in_reserved_identity",
            "wrong_client_id" => "sign_in_wrong_client_id",
            "database_unavailable" => "sign_in_database_unavailable",
            _ => "sign_in_other",
        });
    }

    pub fn refused_publish(&self, r: Refusal) {
        self.add(match r {
            Refusal::InvalidTopic => "publish_invalid_topic",
            Refusal::NotAllowed => "publish_not_allowed",
            Refusal::Retained => "publish_retained",
            Refusal::TooLarge => "publish_too_large",
        });
    }

    pub fn refused_subscribe(&self, r: Refusal) {
        self.add(match r {
            Refusal::InvalidTopic => "subscribe_invalid_filter",
            _ => "subscribe_not_allowed",
        });
    }

    /// A connection the guard closed or refused.
    pub fn dropped(&self, why: &'static str) {
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        self.add(why);
    }

    /// A device slowed down by its rate limit.
    pub fn slowed(&self) {
        self.slowed.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts since the last call, emptied.
    pub fn take(&self) -> BTreeMap<&'static str, u64> {
        let mut out = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        let slowed = self.slowed.swap(0, Ordering::Relaxed);
        if slowed > 0 {
            out.insert("publish_slowed_by_rate_limit", slowed);
        }
        out
    }

    /// Logs the counts every [`INTERVAL`] while any is not zero.
    pub async fn log_every_interval(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            let counts = self.take();
            if !counts.is_empty() {
                let total: u64 = counts.values().sum();
                tracing::warn!(
                    total,
                    counts = ?counts,
                    seconds = INTERVAL.as_secs(),
                    "MQTT broker refused or slowed connections in the last interval"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_taken_once() {
        let t = Tally::default();
        for _ in 0..3 {
            t.refused("bad_credentials");
        }
        t.refused_publish(Refusal::Retained);
        t.slowed();
        let c = t.take();
        assert_eq!(c["sign_in_bad_credentials"], 3);
        assert_eq!(c["publish_retained"], 1);
        assert_eq!(c["publish_slowed_by_rate_limit"], 1);
        assert!(t.take().is_empty());
        assert_eq!(t.refused_total.load(Ordering::Relaxed), 3);
    }
}
