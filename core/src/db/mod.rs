//! Storage: one module per table with plain create/get/update/list
//! functions over a [`DbConn`] that is either PostgreSQL or SQLite.
//!
//! The backend is chosen from the URL scheme by [`DatabaseUrl::parse`], never
//! by diesel's multi-backend `establish` (which silently falls back to SQLite
//! when PostgreSQL is unreachable).

/// Replaces the rows of the visits `of` in a table keyed by `visit_id`
/// (their stored rows go) with `rows`, in as few statements as keep their
/// shape (see `sql::FEW`): `visit_share` and `visit_service`.
macro_rules! replace_of_visits {
    ($c:expr, $table:ident, $of:expr, $rows:expr) => {{
        use super::schema::$table;
        let (c, of, rows) = ($c, $of, $rows);
        if let [id] = of {
            diesel::delete($table::table.filter($table::visit_id.eq(id))).execute(c)?;
        } else {
            for ids in of.chunks(500) {
                diesel::delete($table::table.filter($table::visit_id.eq_any(ids))).execute(c)?;
            }
        }
        if rows.len() <= super::sql::FEW {
            for row in rows {
                super::execute_on(c, diesel::insert_into($table::table).values(row))?;
            }
        } else {
            for chunk in rows.chunks(500) {
                super::execute_on(c, diesel::insert_into($table::table).values(chunk))?;
            }
        }
        Ok(())
    }};
}
pub(crate) use replace_of_visits;

pub mod absence;
pub mod access;
pub mod access_log;
pub mod alert;
pub mod api_token;
pub mod authority_unit;
pub mod care_order;
pub mod care_plan;
pub mod chain;
pub mod client;
pub mod client_month;
pub mod consent;
pub mod dead_letter;
pub mod decision;
pub mod device;
pub mod device_message;
pub mod digital_key;
pub mod directory;
pub mod explanation;
pub mod figure;
pub mod journal_note;
pub mod material_request;
pub mod month_lock;
pub mod municipality;
pub mod oidc_login;
pub mod provider;
pub mod provider_notice;
pub mod refresh_token;
pub mod retention_run;
pub mod schema;
pub mod service;
pub(crate) mod sql;
pub mod staff_credential;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod user_account;
pub mod visit;
pub mod visit_change;
pub mod visit_event;
pub mod visit_service;
pub mod visit_share;

#[cfg(test)]
mod figure_tests;
#[cfg(test)]
mod storage_tests;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::path::PathBuf;
use std::time::Duration;

/// One database connection, PostgreSQL or SQLite.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A pool of [`DbConn`].
pub type Pool = r2d2::Pool<Manager>;
/// A connection checked out of the [`Pool`].
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Errors from storage functions.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint: the row exists already. Holds the database's
    /// message, which names the constraint, never the values.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("a referenced row does not exist: {0}")]
    ForeignKey(String),
    #[error("a check constraint failed: {0}")]
    Check(String),
    #[error("database: {0}")]
    Database(DieselError),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("connecting: {0}")]
    Connection(#[from] ConnectionError),
    #[error("migrations: {0}")]
    Migration(String),
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("creating the database folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding: {0}")]
    Encode(String),
    /// The provider's month is locked for billing.
    #[error("the month {0} is locked")]
    MonthLocked(String),
    /// A visit without both a start and an end cannot be approved.
    #[error("the visit lacks a start or an end: correct it first")]
    NotApprovable,
    /// A month with visits not yet approved cannot be locked.
    #[error("{0} visits of the month are not approved")]
    NotApproved(i64),
    /// The item is not in a state that allows the change (says why).
    #[error("{0}")]
    WrongState(String),
}

impl StoreError {
    /// A failure of the moment (the database busy, unreachable, or a
    /// transaction that lost a race) rather than of the data: trying the
    /// same thing again later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Pool(_) | StoreError::Connection(_) => true,
            StoreError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::ClosedConnection
                ) || {
                    let m = info.message();
                    // SQLite's SQLITE_BUSY and SQLITE_LOCKED; a full disk
                    // (SQLite's SQLITE_FULL, PostgreSQL's ENOSPC): nothing
                    // is wrong with the data, and it fits once there is room.
                    // PostgreSQL's deadlock (40P01) between two writers, e.g.
                    // gateways sharing a subscription: one of them retries.
                    m.contains("deadlock detected")
                        || m.contains("database is locked")
                        || m.contains("database table is locked")
                        || m.contains("database or disk is full")
                        || m.contains("No space left on device")
                }
            }
            StoreError::Database(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> StoreError {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let msg = info.message().to_string();
                match kind {
                    DatabaseErrorKind::UniqueViolation => StoreError::Conflict(msg),
                    DatabaseErrorKind::ForeignKeyViolation => StoreError::ForeignKey(msg),
                    DatabaseErrorKind::CheckViolation => StoreError::Check(msg),
                    other => StoreError::Database(DieselError::DatabaseError(other, info)),
                }
            }
            other => StoreError::Database(other),
        }
    }
}

/// The database backend, from the URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `HEMTID_DATABASE_URL`: `postgres://…`, `postgresql://…` or
/// `sqlite://PATH` (relative, or absolute as `sqlite:///abs/path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::InvalidUrl("sqlite:// needs a file path".into()));
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else {
            Err(StoreError::InvalidUrl(
                "expected postgres://… or sqlite://PATH".into(),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact_password(u),
        }
    }

    /// Opens one connection to the backend the URL names.
    pub fn establish(&self) -> Result<DbConn, StoreError> {
        match self {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Plan each statement for its values: no prepared statement
                // is kept (each is sent with its values, one round trip, as
                // an unnamed statement). diesel kept them for the
                // connection's life, and a generic plan made while a table
                // was small (a new deployment, or statistics not yet
                // gathered) scanned the whole table ever after. This used to
                // be `plan_cache_mode = force_custom_plan`, which also
                // applies to the foreign-key checks' own plans: every
                // inserted row's checks were planned again (16 % of the
                // server's time in the simulator); those keep theirs now
                // (docs/BENCHMARKS.md).
                conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
                Ok(DbConn::Pg(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir)?;
                }
                // Personal data: readable by hemtid's user only. SQLite
                // gives the -wal and -shm files the database file's mode.
                create_private_file(path)?;
                let url = path.to_string_lossy();
                let mut conn = SqliteConnection::establish(&url)?;
                // Per-connection settings: wait instead of failing on a
                // locked database, WAL for readers during writes, every
                // commit synced to disk before it returns (`FULL`: a
                // receipt tells a lock to delete its event, so what was
                // receipted must survive a power cut; `NORMAL` in WAL mode
                // may lose the last commits), and foreign keys (off by
                // default in SQLite). A commit copies
                // the log back into the database once it holds 10,000
                // pages (40 MiB; SQLite's default is 1,000): `hemtid serve`
                // and `hemtid gateway` do it on a thread of their own long
                // before (`checkpoint`), this bounds the log without them.
                // A page cache of up to 16 MiB (SQLite's default is 2 MiB)
                // holds a gateway batch's changed pages (about 7 per event):
                // with 2 MiB, a batch of 256 events spilled pages to the log
                // before its commit and read them back. Statement journals (a statement that
                // fails inside a transaction is undone with one) stay in
                // memory instead of a temporary file. Together: about 20 %
                // more events per second in the simulator (docs/BENCHMARKS.md).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -16384; \
                     PRAGMA temp_store = MEMORY;"
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// What makes the database lose commits it has acknowledged after a power
/// cut or an OS crash: PostgreSQL with `fsync` or `synchronous_commit`
/// off, SQLite below `synchronous = FULL`. One sentence each; empty when
/// it is durable.
pub fn durability_warnings(c: &mut DbConn) -> Result<Vec<String>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    let mut out = Vec::new();
    match c {
        DbConn::Pg(pg) => {
            for name in ["fsync", "synchronous_commit"] {
                let v: Setting =
                    diesel::sql_query("SELECT setting FROM pg_settings WHERE name = $1")
                        .bind::<diesel::sql_types::Text, _>(name)
                        .get_result(pg)?;
                if v.setting == "off" {
                    out.push(format!(
                        "PostgreSQL runs with {name} = off: commits hemtid has receipted or \
                         answered 201 can be lost in a power cut; set it on"
                    ));
                }
            }
        }
        DbConn::Sqlite(s) => {
            #[derive(diesel::QueryableByName)]
            struct Sync {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                synchronous: i32,
            }
            let v: Sync = diesel::sql_query("PRAGMA synchronous").get_result(s)?;
            if v.synchronous < 2 {
                out.push(format!(
                    "SQLite runs with synchronous = {} (FULL is 2): the last commits can be lost in a power cut",
                    v.synchronous
                ));
            }
        }
    }
    Ok(out)
}

/// What leaves the way to PostgreSQL open to a listener or an impostor:
/// a server on another machine reached without TLS, or with TLS that
/// checks neither the server's certificate nor its name (any `sslmode`
/// but `verify-full`). Loopback and Unix sockets need neither. One
/// sentence, or none; the URL's password never in it.
pub fn transport_warnings(url: &DatabaseUrl, c: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let (DatabaseUrl::Postgres(url), DbConn::Pg(pg)) = (url, c) else {
        return Ok(Vec::new());
    };
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let encrypted = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(pg)
        .optional()?
        .is_some_and(|s| s.ssl);
    let (host, sslmode) = postgres_host_and_sslmode(url);
    Ok(transport_warning(&host, sslmode.as_deref(), encrypted)
        .into_iter()
        .collect())
}

/// The host a `postgres://` URL names (its `host` parameter wins, as in
/// libpq) and its `sslmode`.
fn postgres_host_and_sslmode(url: &str) -> (String, Option<String>) {
    let Ok(parsed) = url::Url::parse(url) else {
        return (String::new(), None);
    };
    let mut host = parsed.host_str().unwrap_or_default().to_string();
    let mut sslmode = None;
    for (k, v) in parsed.query_pairs() {
        match &*k {
            "host" => host = v.into_owned(),
            "sslmode" => sslmode = Some(v.into_owned()),
            _ => {}
        }
    }
    (host, sslmode)
}

fn transport_warning(host: &str, sslmode: Option<&str>, encrypted: bool) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let local = bare.is_empty()
        || bare.starts_with('/')
        || bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local || sslmode == Some("verify-full") {
        return None;
    }
    Some(if encrypted {
        format!(
            "PostgreSQL at {bare} is reached over TLS without checking its certificate and name \
             (sslmode={}): anyone between can pose as it; add sslmode=verify-full and \
             sslrootcert=<its CA file> to database_url",
            sslmode.unwrap_or("prefer")
        )
    } else {
        format!(
            "PostgreSQL at {bare} is reached without TLS: personal data and the password cross \
             the network in the clear; turn ssl on in the server and add sslmode=verify-full and \
             sslrootcert=<its CA file> to database_url"
        )
    })
}

/// Creates `dir` (and its missing parents) readable by this user only; an
/// existing folder is left as it is (it may be the operator's choice).
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates an empty file readable and writable by this user only, unless
/// it exists.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// r2d2 manager that opens connections by [`DatabaseUrl`].
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        self.url.establish()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        Ok(conn.batch_execute("SELECT 1")?)
    }

    /// A connection left inside a transaction (a panic in the middle of
    /// one) is not handed out again.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let depth = match conn {
            DbConn::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map(|d| d.is_some()),
            DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map(|d| d.is_some()),
        };
        depth.unwrap_or(true)
    }
}

/// The backend a pool's connections are of (takes one to see).
pub fn backend_of(pool: &Pool) -> Result<Backend, StoreError> {
    Ok(match *pool.get()? {
        DbConn::Pg(_) => Backend::Postgres,
        DbConn::Sqlite(_) => Backend::Sqlite,
    })
}

/// Builds a pool; fails if the database cannot be reached.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<Pool, StoreError> {
    // One direct attempt first: it fails fast with the driver's own message
    // instead of r2d2 retrying until its timeout.
    drop(url.establish()?);
    Ok(r2d2::Pool::builder()
        .max_size(max_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .build(Manager { url: url.clone() })?)
}

/// Builds a pool without connecting: connections open on first use, so a
/// database that is down surfaces later (readiness checks, tools).
pub fn pool_lazy(url: &DatabaseUrl, max_size: u32) -> Pool {
    r2d2::Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(2))
        .build_unchecked(Manager { url: url.clone() })
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Runs the pending embedded migrations; returns the versions applied.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    let applied: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
    // The measures' figures of the visits stored before they were kept.
    if applied.iter().any(|v| v.contains(MEASURE_FIGURES)) {
        figure::rebuild_all_staff(conn)?;
    }
    Ok(applied)
}

/// The migration that added the measures' figures (`figure_staff_day`).
const MEASURE_FIGURES: &str = "000019";

/// Reverts the last applied migration (for tests of a migration).
pub fn revert_last_migration(conn: &mut DbConn) -> Result<String, StoreError> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_last_migration(PG_MIGRATIONS),
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(reverted.to_string())
}

/// Reverts every applied migration (for tests and `hemtid migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(reverted.iter().map(|v| v.to_string()).collect())
}

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

/// How long a SQLite connection waits for a lock before it fails.
const BUSY_TIMEOUT_MS: u32 = 10_000;

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

/// [`transaction`] for callers with their own error type.
pub fn transaction_with<T, E: From<DieselError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    begin_with(conn, "BEGIN IMMEDIATE", f)
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

/// A new id (UUID v7, stored as text): ordered by the time it was made,
/// so rows made together sit together in the indexes of their ids (a
/// batch's events, their visits and shares) instead of one random page
/// each, which SQLite writes whole into its log for every commit. Not a
/// secret: the creation time can be read from it.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now in UTC, to the microsecond (what PostgreSQL keeps), for timestamps.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// Serde helpers: timestamps are stored as UTC `NaiveDateTime` and shown
/// as RFC 3339 with `Z`.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.and_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }

    pub mod option {
        use chrono::NaiveDateTime;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            t: &Option<NaiveDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Maps "0 rows affected" to [`StoreError::NotFound`].
pub(crate) fn one_row(affected: usize) -> Result<(), StoreError> {
    if affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite file, its log and the folder made for them hold personal
    /// data: only hemtid's user may read them (they were 0644 and 0755).
    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("hemtid-mode-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).unwrap();
        let data = root.join("data");
        let path = data.join("hemtid.sqlite3");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let mut c = url.establish().unwrap();
        c.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
        let wal = data.join("hemtid.sqlite3-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        // A folder that was there keeps its mode.
        assert_eq!(mode(&root) & 0o700, 0o700);
        drop(c);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_database_is_durable_and_says_so_when_it_is_not() {
        let db = testing::TestDb::empty();
        let mut c = db.pool().get().unwrap();
        assert_eq!(durability_warnings(&mut c).unwrap(), Vec::<String>::new());
        // The same connection made unsafe: named.
        let unsafe_setting = match &*c {
            DbConn::Pg(_) => "SET synchronous_commit = off",
            DbConn::Sqlite(_) => "PRAGMA synchronous = NORMAL",
        };
        c.batch_execute(unsafe_setting).unwrap();
        let w = durability_warnings(&mut c).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("power cut"), "{w:?}");
    }

    #[test]
    fn parses_database_urls_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/hemtid.sqlite3").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/hemtid.sqlite3"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/hemtid/db.sqlite3").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/hemtid/db.sqlite3"))
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        for bad in ["mysql://x", "sqlite://", "data/db.sqlite3", ""] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_remote_postgres_without_verified_tls_is_warned_of() {
        let warn = |url: &str, encrypted: bool| {
            let (host, mode) = postgres_host_and_sslmode(url);
            transport_warning(&host, mode.as_deref(), encrypted)
        };
        // Loopback, a Unix socket, or verify-full: nothing to say.
        assert_eq!(warn("postgres://h:pw@127.0.0.1:5432/h", false), None);
        assert_eq!(warn("postgres://h@localhost/h", false), None);
        assert_eq!(warn("postgres://h@[::1]:5432/h", false), None);
        assert_eq!(warn("postgres:///h?host=/var/run/postgresql", false), None);
        let full = "postgres://h@db.kommun.se/h?sslmode=verify-full&sslrootcert=/etc/ca.pem";
        assert_eq!(warn(full, true), None);
        // Another machine without TLS, or with TLS that trusts anyone.
        let plain = warn("postgres://h:secret@db.kommun.se/h", false).unwrap();
        assert!(
            plain.contains("db.kommun.se") && plain.contains("without TLS"),
            "{plain}"
        );
        assert!(!plain.contains("secret"));
        let unchecked = warn("postgres://h@10.1.2.3/h?sslmode=require", true).unwrap();
        assert!(unchecked.contains("sslmode=require"), "{unchecked}");
        let ca_only = warn("postgres://h@db/h?sslmode=verify-ca", true).unwrap();
        assert!(ca_only.contains("verify-full"), "{ca_only}");
        // The host parameter wins over the authority, as in libpq.
        assert!(warn("postgres://h@localhost/h?host=db.kommun.se", false).is_some());
    }

    #[test]
    fn unreachable_postgres_is_an_error_not_a_sqlite_file() {
        // Port 1 is closed: the connection must fail rather than fall back.
        let url =
            DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none?connect_timeout=2").unwrap();
        assert!(matches!(url.establish(), Err(StoreError::Connection(_))));
        assert!(!std::path::Path::new("postgres:").exists());
    }

    #[test]
    fn redacts_passwords() {
        let u = DatabaseUrl::parse("postgres://app:s3cret@db:5432/hemtid").unwrap();
        assert_eq!(u.redacted(), "postgres://app:***@db:5432/hemtid");
    }

    #[test]
    fn migration_folders_have_the_same_versions() {
        let names = |dir: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(dir);
            let mut v: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let pg = names("migrations/postgres");
        assert!(!pg.is_empty());
        assert_eq!(pg, names("migrations/sqlite"), "migration folders drifted");
        for dir in &pg {
            for file in ["up.sql", "down.sql"] {
                for backend in ["postgres", "sqlite"] {
                    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../migrations")
                        .join(backend)
                        .join(dir)
                        .join(file);
                    assert!(p.is_file(), "missing {}", p.display());
                }
            }
        }
    }
}
