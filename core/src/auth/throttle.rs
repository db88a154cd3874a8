//! Slows down repeated failed sign-ins, per account and per address. After
//! a number of free failures each further attempt must wait twice as long
//! as the one before (1 s, 2 s, 4 s … up to 15 minutes); a success, or a
//! quiet window, forgets the failures. In memory: one process's view.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures an account may have before it is slowed down.
pub const FREE_PER_ACCOUNT: u32 = 5;
/// Failures an address may have before it is slowed down (shared NAT).
pub const FREE_PER_ADDRESS: u32 = 20;
/// Failures older than this are forgotten.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Entries kept before stale ones are pruned.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// Failure counts by key (`user:<name>`, `addr:<ip>`).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: HashMap<String, Entry>,
}

impl LoginThrottle {
    pub fn new() -> LoginThrottle {
        LoginThrottle::default()
    }

    /// `Err(wait)` when `key` has to wait before its next attempt.
    pub fn check(&self, key: &str, free: u32, now: Instant) -> Result<(), Duration> {
        let Some(e) = self.entries.get(key) else {
            return Ok(());
        };
        let since = now.saturating_duration_since(e.last);
        if since >= WINDOW || e.failures < free {
            return Ok(());
        }
        let wait = delay(e.failures - free);
        if since >= wait {
            Ok(())
        } else {
            Err(wait - since)
        }
    }

    pub fn record_failure(&mut self, key: &str, now: Instant) {
        if self.entries.len() >= PRUNE_AT {
            self.entries
                .retain(|_, e| now.saturating_duration_since(e.last) < WINDOW);
        }
        let e = self.entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= WINDOW {
            e.failures = 0;
        }
        e.failures += 1;
        e.last = now;
    }

    pub fn record_success(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// 1 s after the first failure past the free ones, doubling, capped.
fn delay(excess: u32) -> Duration {
    let secs = 1u64.checked_shl(excess).unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_waits() {
        let mut t = LoginThrottle::new();
        let t0 = Instant::now();
        for i in 0..FREE_PER_ACCOUNT {
            assert!(
                t.check("user:a", FREE_PER_ACCOUNT, t0).is_ok(),
                "attempt {i}"
            );
            t.record_failure("user:a", t0);
        }
        assert_eq!(
            t.check("user:a", FREE_PER_ACCOUNT, t0),
            Err(Duration::from_secs(1))
        );
        assert!(
            t.check("user:a", FREE_PER_ACCOUNT, t0 + Duration::from_secs(1))
                .is_ok()
        );
        t.record_failure("user:a", t0 + Duration::from_secs(1));
        assert_eq!(
            t.check("user:a", FREE_PER_ACCOUNT, t0 + Duration::from_millis(1500)),
            Err(Duration::from_millis(1500))
        );
        // Another key is not affected.
        assert!(t.check("user:b", FREE_PER_ACCOUNT, t0).is_ok());
    }

    #[test]
    fn success_and_quiet_window_forget() {
        let mut t = LoginThrottle::new();
        let t0 = Instant::now();
        for _ in 0..10 {
            t.record_failure("k", t0);
        }
        assert!(t.check("k", 5, t0).is_err());
        assert!(t.check("k", 5, t0 + WINDOW).is_ok());
        t.record_success("k");
        assert!(t.check("k", 5, t0).is_ok());
    }

    #[test]
    fn waits_are_capped() {
        assert_eq!(delay(0), Duration::from_secs(1));
        assert_eq!(delay(3), Duration::from_secs(8));
        assert_eq!(delay(40), MAX_DELAY);
        assert_eq!(delay(200), MAX_DELAY);
    }
}
