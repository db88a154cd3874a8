//! SQLite's write-ahead log copied back into the database file.

use super::{BUSY_TIMEOUT_MS, DbConn, StoreError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// What a checkpoint found in SQLite's write-ahead log: pages (frames) in
/// it, and how many of them are in the database file now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Checkpoint {
    /// 1 if the checkpoint could not finish (a restart that waited in vain).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub checkpointed: i32,
}

/// SQLite: copies what the write-ahead log holds into the database file,
/// as far as no reader still needs it, without waiting for anyone (a
/// passive checkpoint). `None` on PostgreSQL.
pub fn checkpoint(conn: &mut DbConn) -> Result<Option<Checkpoint>, StoreError> {
    match conn {
        DbConn::Sqlite(s) => Ok(Some(
            diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(s)?,
        )),
        DbConn::Pg(_) => Ok(None),
    }
}

/// SQLite: copies the whole write-ahead log into the database file and
/// starts it again from its beginning (a restart checkpoint): waits for the
/// writer and for readers of older snapshots, and holds new writers back
/// meanwhile. Under a steady load passive checkpoints never catch up with
/// every reader, the log is never started again, and once it passes
/// `wal_autocheckpoint` every commit checkpoints (and syncs) inside its own
/// transaction. `None` on PostgreSQL.
///
/// It waits at most `wait_ms` for the readers and the writer (a long
/// report would otherwise hold the gateway back for the whole busy
/// timeout); one that could not wait long enough reports `busy` and leaves
/// the log as it was.
pub fn restart_log(conn: &mut DbConn, wait_ms: u32) -> Result<Option<Checkpoint>, StoreError> {
    match conn {
        DbConn::Sqlite(s) => {
            s.batch_execute(&format!("PRAGMA busy_timeout = {wait_ms}"))?;
            let done = diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result(s);
            s.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))?;
            Ok(Some(done?))
        }
        DbConn::Pg(_) => Ok(None),
    }
}
