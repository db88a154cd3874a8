//! SQLite only: copies the write-ahead log back into the database file on
//! a thread of its own (a passive checkpoint, which neither waits for nor
//! blocks the writers), so the commit that crosses SQLite's threshold does
//! not do it inside the gateway's batch; and starts the log again when it
//! has grown long, which passive checkpoints under a steady load never do.
//! On PostgreSQL nothing runs.

use crate::background::Background;
use hemtid_core::db::{self, Backend, Pool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(250);

/// A log this long (in pages) is started again ([`db::restart_log`]),
/// well before the commits' own threshold (`wal_autocheckpoint`, 10,000).
const RESTART_AT: i32 = 4000;

/// How long a restart waits for readers of older snapshots; one that
/// gives up is tried again at the next tick. With 100 ms under the
/// simulator's load 14 of 33 restarts gave up and the log reached 15,000
/// pages (past the commits' own threshold); with 1 s, 4 of 41.
const RESTART_WAIT_MS: u32 = 1000;

/// Starts the checkpointer for a SQLite database; `None` for PostgreSQL.
pub fn start(pool: Pool, backend: Backend) -> std::io::Result<Option<Background>> {
    match backend {
        Backend::Sqlite => {
            Background::spawn("checkpointer", move |stop| run(&pool, stop)).map(Some)
        }
        Backend::Postgres => Ok(None),
    }
}

fn run(pool: &Pool, stop: &AtomicBool) {
    let mut failing = false;
    while !stop.load(Ordering::SeqCst) {
        match pool
            .get()
            .map_err(db::StoreError::from)
            .and_then(|mut c| once(&mut c))
        {
            Ok(()) => failing = false,
            // Once per spell of failures; the commits' own checkpoints
            // still bound the log meanwhile.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "checkpoint of the SQLite log failed");
                failing = true;
            }
            Err(_) => {}
        }
        std::thread::sleep(EVERY);
    }
}

/// A passive checkpoint, and a restart when the log has grown long.
fn once(c: &mut db::DbConn) -> Result<(), db::StoreError> {
    let Some(passive) = db::checkpoint(c)? else {
        return Ok(());
    };
    if passive.log >= RESTART_AT {
        let restart = db::restart_log(c, RESTART_WAIT_MS)?;
        if restart.is_some_and(|r| r.busy == 0) {
            tracing::debug!(?passive, ?restart, "SQLite log started again");
        } else {
            tracing::debug!(
                ?passive,
                ?restart,
                "SQLite log not started again: a reader stayed"
            );
        }
    }
    Ok(())
}
