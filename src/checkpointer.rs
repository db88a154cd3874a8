//! SQLite only: copies the write-ahead log back into the database file on
//! a thread of its own (a passive checkpoint, which neither waits for nor
//! blocks the writers), so the commit that crosses SQLite's threshold does
//! not do it inside the gateway's batch. On PostgreSQL nothing runs.

use hemtid_core::db::{self, DbConn, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(250);

/// The running checkpointer; [`Checkpointer::stop`] ends it.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts one for a SQLite pool; `None` for PostgreSQL.
    pub fn start(pool: Pool) -> std::io::Result<Option<Checkpointer>> {
        let sqlite = pool.get().is_ok_and(|c| matches!(*c, DbConn::Sqlite(_)));
        if !sqlite {
            return Ok(None);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("checkpointer".into())
            .spawn(move || {
                let mut failing = false;
                while !flag.load(Ordering::SeqCst) {
                    let done = pool
                        .get()
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| db::checkpoint(&mut c).map_err(|e| e.to_string()));
                    match done {
                        Ok(_) => failing = false,
                        // Once per spell of failures; the commits' own
                        // checkpoints still bound the log meanwhile.
                        Err(e) if !failing => {
                            tracing::warn!(error = %e, "checkpoint of the SQLite log failed");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                    std::thread::sleep(EVERY);
                }
            })?;
        Ok(Some(Checkpointer {
            stop,
            thread: Some(thread),
        }))
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
