//! Retention inside `hemtid serve`: once a day each municipality's
//! records past their retention period are deleted
//! ([`hemtid_core::retention`]); the run and its counts are logged and
//! recorded in `retention_run`.

use crate::background::Background;
use hemtid_core::auth::lock_keys::LockKeys;
use hemtid_core::db::Pool;
use hemtid_core::db::schema::retention_run;
use hemtid_core::retention;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The first look, a while after start (not in the way of a busy start).
const FIRST: Duration = Duration::from_secs(5 * 60);
/// How often it looks whether a day has passed since the last run.
const EVERY: Duration = Duration::from_secs(60 * 60);
/// A run is due this long after the last one.
const DAY: chrono::TimeDelta = chrono::TimeDelta::hours(23);

/// Starts the job; [`Background::stop`] ends it.
pub fn start(pool: Pool, keys: LockKeys) -> std::io::Result<Background> {
    Background::spawn("retention", move |stop| run(&pool, &keys, stop))
}

fn run(pool: &Pool, keys: &LockKeys, stop: &AtomicBool) {
    let mut next = Instant::now() + FIRST;
    while !stop.load(Ordering::SeqCst) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        }
        next = Instant::now() + EVERY;
        if let Err(e) = once(pool, keys) {
            tracing::error!(error = %e, "retention: the run failed; it is tried again within the hour");
        }
    }
}

/// Runs each municipality whose last run is a day old.
fn once(pool: &Pool, keys: &LockKeys) -> anyhow::Result<()> {
    use diesel::prelude::*;
    let mut c = pool.get()?;
    let now = chrono::Utc::now();
    for m in hemtid_core::db::municipality::list(&mut c)? {
        let last: Option<chrono::NaiveDateTime> = retention_run::table
            .filter(retention_run::municipality_id.eq(&m.id))
            .select(diesel::dsl::max(retention_run::ran_at))
            .first(&mut *c)?;
        if last.is_some_and(|t| now.naive_utc() - t < DAY) {
            continue;
        }
        let o = retention::run(&mut c, &m, now, keys, false)?;
        tracing::info!(
            municipality = %m.code,
            clients_purged = o.clients_purged,
            clients_kept = o.clients_kept,
            rows_deleted = o.rows_deleted(),
            counts = %serde_json::to_string(&o.counts).unwrap_or_default(),
            "retention: records past their period deleted"
        );
    }
    Ok(())
}
