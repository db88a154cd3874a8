//! Slows down repeated failed sign-ins without locking real users out.
//! After a number of free failures each further attempt must wait twice as
//! long as the one before (1 s, 2 s, 4 s … up to 15 minutes); a success, or
//! a quiet window, forgets the failures. In memory: one process's view.
//!
//! Three counts, and who waits for them ([`LoginThrottle::begin`]):
//! - an account from one address: five free failures, then that address
//!   waits for that account; another address with the right password is
//!   not kept out (an attacker retrying cannot block a known login);
//! - an account from everywhere: fifty free failures, then only addresses
//!   that have failed for the account wait (a guesser spread over many
//!   addresses gets one try from each, the user's own phone none);
//! - an address for all accounts: twenty free failures, then it waits for
//!   the accounts it has failed for, never for another account's first
//!   attempt (a shared address is not shut).
//!
//! The check and the count are one step under one lock: an attempt is
//! counted as failed when it is let through and taken back when it
//! succeeds, so concurrent attempts cannot pass the check together.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures an account may have before it is slowed down.
pub const FREE_PER_ACCOUNT: u32 = 5;
/// Failures an address may have before it is slowed down (shared NAT).
pub const FREE_PER_ADDRESS: u32 = 20;
/// Failures an account may have from all addresses together before the
/// addresses that failed for it are slowed down.
pub const FREE_PER_ACCOUNT_EVERYWHERE: u32 = 50;
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

    /// Failures of `key` counted in the window at `now`.
    fn failures(&self, key: &str, now: Instant) -> u32 {
        self.entries
            .get(key)
            .filter(|e| now.saturating_duration_since(e.last) < WINDOW)
            .map_or(0, |e| e.failures)
    }

    /// Takes back one provisional failure of `key`.
    fn take_back(&mut self, key: &str) {
        if let Some(e) = self.entries.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
            if e.failures == 0 {
                self.entries.remove(key);
            }
        }
    }

    /// Lets a sign-in attempt of `user` from `address` through, counting
    /// it as failed until [`LoginThrottle::succeeded`]; or `Err(wait)`.
    pub fn begin(&mut self, user: &str, address: &str, now: Instant) -> Result<Attempt, Duration> {
        let a = Attempt {
            pair: format!("pair:{user}|{address}"),
            account: format!("user:{user}"),
            address: format!("addr:{address}"),
        };
        let mut wait = self.check(&a.pair, FREE_PER_ACCOUNT, now).err();
        // The shared counts bind only an address that has failed for
        // this account.
        if self.failures(&a.pair, now) > 0 {
            for (key, free) in [
                (&a.account, FREE_PER_ACCOUNT_EVERYWHERE),
                (&a.address, FREE_PER_ADDRESS),
            ] {
                if let Err(w) = self.check(key, free, now) {
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for key in [&a.pair, &a.account, &a.address] {
            self.record_failure(key, now);
        }
        Ok(a)
    }

    /// The attempt signed in: its address's failures for the account are
    /// forgotten and its provisional count is taken back.
    pub fn succeeded(&mut self, a: &Attempt) {
        self.record_success(&a.pair);
        self.take_back(&a.account);
        self.take_back(&a.address);
    }
}

/// An attempt let through by [`LoginThrottle::begin`].
#[derive(Debug, Clone)]
pub struct Attempt {
    pair: String,
    account: String,
    address: String,
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
    fn a_guesser_waits_but_the_user_elsewhere_does_not() {
        let mut t = LoginThrottle::new();
        let t0 = Instant::now();
        // Five wrong passwords for anna from the attacker's address.
        for _ in 0..FREE_PER_ACCOUNT {
            t.begin("anna", "203.0.113.9", t0).unwrap();
        }
        assert_eq!(
            t.begin("anna", "203.0.113.9", t0).err(),
            Some(Duration::from_secs(1))
        );
        // Anna's phone, another address: let through, and her success
        // takes its count back.
        let mine = t.begin("anna", "198.51.100.4", t0).unwrap();
        t.succeeded(&mine);
        assert_eq!(t.failures("user:anna", t0), FREE_PER_ACCOUNT);
        // Concurrent attempts are counted as they pass: the sixth waits
        // even before any of the five has been answered.
        let mut t = LoginThrottle::new();
        let passed = (0..40)
            .filter(|_| t.begin("bo", "192.0.2.1", t0).is_ok())
            .count();
        assert_eq!(passed, FREE_PER_ACCOUNT as usize);
    }

    #[test]
    fn an_address_over_its_budget_keeps_other_accounts_first_attempts() {
        let mut t = LoginThrottle::new();
        let t0 = Instant::now();
        // Twenty-five accounts guessed once each from one address.
        for i in 0..25 {
            t.begin(&format!("u{i}"), "192.0.2.1", t0).unwrap();
        }
        // The admin behind the same address signs in.
        assert!(t.begin("admin", "192.0.2.1", t0).is_ok());
        // A guessed account's second guess from there waits.
        assert!(t.begin("u3", "192.0.2.1", t0).is_err());
    }

    #[test]
    fn a_guesser_spread_over_addresses_gets_one_try_from_each() {
        let mut t = LoginThrottle::new();
        let t0 = Instant::now();
        for i in 0..FREE_PER_ACCOUNT_EVERYWHERE {
            t.begin("anna", &format!("10.0.{}.{}", i / 250, i % 250), t0)
                .unwrap();
        }
        // A new address still gets its first try, not a second one.
        assert!(t.begin("anna", "10.9.9.9", t0).is_ok());
        assert!(t.begin("anna", "10.9.9.9", t0).is_err());
        // Anna's own phone, never failed: not kept out.
        assert!(t.begin("anna", "198.51.100.4", t0).is_ok());
    }

    #[test]
    fn waits_are_capped() {
        assert_eq!(delay(0), Duration::from_secs(1));
        assert_eq!(delay(3), Duration::from_secs(8));
        assert_eq!(delay(40), MAX_DELAY);
        assert_eq!(delay(200), MAX_DELAY);
    }
}
