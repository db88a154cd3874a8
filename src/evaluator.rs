//! The alert rules inside `hemtid serve`: client-months whose figures,
//! absences or explanations changed are evaluated once they have been
//! still for 300 ms ([`evaluate::QUIET`]: a batch changing them is
//! judged whole, not halfway), and every client's current and previous month on
//! a schedule and whenever the local date changes, for what time alone
//! changes (a month closing, a visit left open, the pace).

use crate::background::Background;
use hemtid_core::db::Pool;
use hemtid_core::domain::{STOCKHOLM, local_date};
use hemtid_core::evaluate;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often changed client-months are looked for.
const TICK: Duration = Duration::from_millis(150);

/// Starts the evaluator; [`Background::stop`] ends it.
pub fn start(pool: Pool, interval: Duration) -> std::io::Result<Background> {
    Background::spawn("evaluator", move |stop| run(&pool, interval, stop))
}

fn run(pool: &Pool, interval: Duration, stop: &AtomicBool) {
    let mut next_full = Instant::now();
    let mut day = None;
    while !stop.load(Ordering::SeqCst) {
        let now = chrono::Utc::now();
        let today = local_date(now, STOCKHOLM);
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "evaluator: no database connection");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if Instant::now() >= next_full || day != Some(today) {
            match evaluate::all(&mut conn, now) {
                Ok(e) => tracing::info!(
                    client_months = e.client_months,
                    raised = e.raised,
                    updated = e.updated,
                    reopened = e.reopened,
                    resolved = e.resolved,
                    skipped = e.skipped,
                    "alert rules evaluated"
                ),
                Err(e) => tracing::error!(error = %e, "evaluator: the full run failed"),
            }
            next_full = Instant::now() + interval;
            day = Some(today);
        }
        match evaluate::settled(&mut conn, now, 500, evaluate::QUIET) {
            Ok(e) if e.changed() => tracing::debug!(
                client_months = e.client_months,
                raised = e.raised,
                updated = e.updated,
                resolved = e.resolved,
                "changed client-months evaluated"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "evaluator: changed client-months failed"),
        }
        drop(conn);
        std::thread::sleep(TICK);
    }
}
