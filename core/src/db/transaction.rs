//! Transactions on either backend; on SQLite begun so that a writer
//! waits for the write lock where it should.

use super::{BUSY_TIMEOUT_MS, ChangeError, DbConn, StoreError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use std::time::Duration;

/// Runs a statement diesel's `MultiConnection` does not take (a
/// multi-row INSERT, an upsert) on the backend `conn` is.
pub(crate) fn execute_on<Q>(conn: &mut DbConn, q: Q) -> Result<usize, StoreError>
where
    Q: diesel::query_dsl::methods::ExecuteDsl<PgConnection>
        + diesel::query_dsl::methods::ExecuteDsl<SqliteConnection>,
{
    use diesel::query_dsl::methods::ExecuteDsl;
    Ok(match conn {
        DbConn::Pg(pg) => ExecuteDsl::<PgConnection>::execute(q, pg)?,
        DbConn::Sqlite(s) => ExecuteDsl::<SqliteConnection>::execute(q, s)?,
    })
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> Result<(), StoreError> {
    Ok(conn.batch_execute("SELECT 1")?)
}

/// Runs `f` in a transaction (a savepoint when one is open already).
///
/// On SQLite the outermost one is `BEGIN IMMEDIATE`: it takes the write
/// lock at the start, waiting up to the busy timeout. A deferred one that
/// reads first and then writes fails at once with "database is locked"
/// when another connection writes meanwhile (SQLite cannot wait there
/// without risking a deadlock).
pub fn transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    transaction_with(conn, f)
}

/// [`transaction`] for a change a rule may refuse ([`ChangeError`]).
pub fn change<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, ChangeError>,
) -> Result<T, ChangeError> {
    transaction_with(conn, f)
}

/// [`transaction`] for callers with their own error type.
pub fn transaction_with<T, E: From<DieselError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    begin_with(conn, "BEGIN IMMEDIATE", f)
}

/// [`transaction`] for callers whose error type takes storage errors
/// (an API's): `f`'s own error passes through unchanged.
pub fn transaction_for<T, E: From<StoreError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    enum Fail<E> {
        Own(E),
        Store(StoreError),
    }
    impl<E> From<DieselError> for Fail<E> {
        fn from(e: DieselError) -> Self {
            Fail::Store(e.into())
        }
    }
    match transaction_with(conn, |c| f(c).map_err(Fail::Own)) {
        Ok(v) => Ok(v),
        Err(Fail::Own(e)) => Err(e),
        Err(Fail::Store(e)) => Err(e.into()),
    }
}

/// [`transaction`] for work that seldom writes, such as the alert
/// evaluator's (most evaluations change nothing). On SQLite `f` runs first
/// in a deferred transaction, which takes the write lock only when `f`
/// writes: a stream of them does not keep the lock from the gateway, which
/// a stream of `BEGIN IMMEDIATE` did (the gateway waited in SQLite's busy
/// handler while the evaluator took the lock again and again). If `f`
/// writes and SQLite refuses the lock there (another connection wrote since
/// `f` began reading: a deferred transaction cannot wait for that), `f`
/// runs again in [`transaction`]. `f` must only work on the database, as
/// it may run twice.
pub fn read_mostly<T>(
    conn: &mut DbConn,
    mut f: impl FnMut(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if let DbConn::Sqlite(s) = conn
        && transaction_depth(s)? == 0
    {
        match begin_with(conn, "BEGIN DEFERRED", &mut f) {
            Err(e) if e.is_transient() => {
                tracing::debug!(error = %e, "a reading transaction could not write; again with the write lock");
            }
            other => return other,
        }
    }
    transaction(conn, f)
}

fn transaction_depth(s: &mut diesel::SqliteConnection) -> Result<u32, DieselError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    Ok(AnsiTransactionManager::transaction_manager_status_mut(s)
        .transaction_depth()?
        .map_or(0, |d| d.get()))
}

/// [`transaction`] for SQLite's single writer ([`crate::writer`]), which
/// commits many requests at once: it waits for the write lock by trying
/// again every quarter of a millisecond, where SQLite's busy handler sleeps
/// 1, 2, 5, 10, 15 ms … between tries. Another connection's write of a
/// millisecond (a restart of the log, a gateway batch) cost the writer 8
/// or 18 ms, and every request it held as much (measured in the phone
/// bench: the 99th percentile). Gives up after the busy timeout, as
/// SQLite would. Elsewhere as [`transaction`].
pub fn transaction_polling<T, E: From<DieselError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    begin_by(conn, begin_polling, f)
}

/// `BEGIN IMMEDIATE`, tried again every quarter of a millisecond while
/// another connection holds the write lock, up to the busy timeout.
fn begin_polling(s: &mut SqliteConnection) -> Result<(), DieselError> {
    use diesel::connection::AnsiTransactionManager;
    s.batch_execute("PRAGMA busy_timeout = 0")?;
    let deadline = std::time::Instant::now() + Duration::from_millis(u64::from(BUSY_TIMEOUT_MS));
    let begun = loop {
        match AnsiTransactionManager::begin_transaction_sql(s, "BEGIN IMMEDIATE") {
            Err(DieselError::DatabaseError(_, info))
                if info.message().contains("database is locked")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_micros(250));
            }
            other => break other,
        }
    };
    s.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))?;
    begun
}

/// A transaction begun with `begin` on SQLite (at the outermost level; a
/// savepoint inside one), diesel's on PostgreSQL.
fn begin_with<T, E: From<DieselError>>(
    conn: &mut DbConn,
    begin: &str,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    use diesel::connection::AnsiTransactionManager;
    begin_by(
        conn,
        |s| AnsiTransactionManager::begin_transaction_sql(s, begin),
        f,
    )
}

/// [`begin_with`], the outermost SQLite transaction begun by `begin`.
fn begin_by<T, E: From<DieselError>>(
    conn: &mut DbConn,
    begin: impl FnOnce(&mut SqliteConnection) -> Result<(), DieselError>,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    let DbConn::Sqlite(s) = conn else {
        return conn.transaction(f);
    };
    if transaction_depth(s)? > 0 {
        return conn.transaction(f);
    }
    begin(s)?;
    finish(conn, f)
}

/// Runs `f` in the SQLite transaction just begun, and commits it or rolls
/// it back.
fn finish<T, E: From<DieselError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let result = f(conn);
    let DbConn::Sqlite(s) = conn else {
        return Err(DieselError::BrokenTransactionManager.into());
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(s)?;
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(s) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
