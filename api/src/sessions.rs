//! Whether a signed-in user's access token still belongs to a live
//! sign-in. Access tokens are signed and short-lived, but deactivating an
//! account, a new password, logging out, revoking a care worker's keys and
//! a provider admin's "end the sessions" must end them at once, not when
//! they expire (issue 22).
//!
//! A sign-in is live while its account is active and its refresh-token
//! family has a token that is not revoked: every one of those actions
//! revokes the families, so one rule covers them all and the state lives
//! where the refresh tokens are, in the database every process shares.
//! Each process remembers an answer for at most [`FRESH`], so a revocation
//! made by another process takes effect within a second, and one made in
//! this process at once ([`forget`]); a busy phone costs one
//! small query a second instead of one per request.

use hemtid_core::db::{DbConn, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an answer is trusted.
pub const FRESH: Duration = Duration::from_secs(1);
/// Answers kept at most; beyond it the memory starts over.
const MAX_ENTRIES: usize = 50_000;

/// Bumped by every revocation this process makes: older answers are not
/// used.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// An answer: live, when asked, under which generation.
type Answer = (bool, Instant, u64);

#[derive(Default)]
pub struct Sessions {
    /// (user, sign-in) → the answer.
    known: Mutex<HashMap<(String, String), Answer>>,
}

impl Sessions {
    /// Whether sign-in `sid` of `user_id` is live, when a fresh answer is
    /// remembered; `None` means ask the database ([`ask`]).
    pub fn live(&self, user_id: &str, sid: &str, now: Instant) -> Option<bool> {
        self.live_under(user_id, sid, now, generation())
    }

    /// [`Sessions::live`] when the current generation is `generation`.
    fn live_under(&self, user_id: &str, sid: &str, now: Instant, generation: u64) -> Option<bool> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .get(&(user_id.to_string(), sid.to_string()))
            .filter(|(_, at, g)| *g == generation && now.duration_since(*at) < FRESH)
            .map(|(live, _, _)| *live)
    }

    /// Remembers the database's answer, asked at `at` under `generation`.
    pub fn remember(&self, user_id: &str, sid: &str, live: bool, at: Instant, generation: u64) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_ENTRIES {
            known.clear();
        }
        known.insert(
            (user_id.to_string(), sid.to_string()),
            (live, at, generation),
        );
    }
}

/// The current generation, read before asking the database.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Forgets every remembered answer of this process: call after revoking
/// sign-ins.
pub fn forget() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Whether sign-in `sid` of `user_id` is live: remembered, or asked.
pub async fn check(
    state: &actix_web::web::Data<crate::AppState>,
    user_id: &str,
    sid: &str,
) -> Result<bool, crate::error::ApiError> {
    let asked = Instant::now();
    if let Some(live) = state.sessions.live(user_id, sid, asked) {
        return Ok(live);
    }
    let at = generation();
    let (user, s) = (user_id.to_string(), sid.to_string());
    let live = state.db(move |c| Ok(ask(c, &user, &s)?)).await?;
    state.sessions.remember(user_id, sid, live, asked, at);
    Ok(live)
}

/// Asks the database whether sign-in `sid` of `user_id` is live.
pub fn ask(c: &mut DbConn, user_id: &str, sid: &str) -> Result<bool, StoreError> {
    hemtid_core::db::refresh_token::session_live(c, user_id, sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_trusted_for_a_second_and_until_a_revocation() {
        // Generations fixed here: other tests revoke sign-ins meanwhile.
        let s = Sessions::default();
        let t0 = Instant::now();
        assert_eq!(s.live_under("u", "s", t0, 7), None);
        s.remember("u", "s", true, t0, 7);
        let soon = t0 + Duration::from_millis(900);
        assert_eq!(s.live_under("u", "s", soon, 7), Some(true));
        // Older than a second: asked again (another process may have
        // revoked it).
        assert_eq!(s.live_under("u", "s", t0 + FRESH, 7), None);
        // A revocation in this process: asked again at once.
        assert_eq!(s.live_under("u", "s", soon, 8), None);
        // And forget() makes that revocation.
        let before = generation();
        forget();
        assert!(generation() > before);
    }
}
