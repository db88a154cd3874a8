//! SQLite only: copies the write-ahead log back into the database file on
//! a thread of its own (a passive checkpoint, which neither waits for nor
//! blocks the writers), so the commit that crosses SQLite's threshold does
//! not do it inside the gateway's batch. On PostgreSQL nothing runs.

use crate::background::Background;
use hemtid_core::db::{self, Backend, Pool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(250);

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
        let done = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| db::checkpoint(&mut c).map_err(|e| e.to_string()));
        match done {
            Ok(_) => failing = false,
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
