//! The database URL, and opening a connection by it.

use super::{BUSY_TIMEOUT_MS, DbConn, StoreError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::path::PathBuf;

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
                let mut conn = establish_pg(url)?;
                // Statements are kept prepared for the connection's life
                // (diesel's cache, named statements at the protocol level,
                // which PgBouncer 1.21 and later keeps in transaction
                // pooling with `max_prepared_statements`): parsing and
                // planning every statement anew was a quarter of the
                // server's time in the ingest bench (docs/BENCHMARKS.md).
                // A kept statement gets a generic plan after five runs when
                // that is no dearer, made for the tables as they are then;
                // PostgreSQL makes a new one when their statistics change
                // (autovacuum, ANALYZE). The engine's statements read and
                // write by index one key at a time (`unnest`, LATERAL),
                // whatever the tables' size, and a test checks their
                // generic plans on empty tables. Until 5 December no
                // statement was kept (a generic plan made while a table
                // was empty had scanned it whole ever after, on a server
                // without autovacuum); before that `plan_cache_mode =
                // force_custom_plan` re-planned every foreign-key check of
                // every row.
                conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Unbounded);
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

/// Opens a PostgreSQL connection. libpq's TLS is OpenSSL's; initialised by
/// libpq, OpenSSL frees its global state at exit while another thread may
/// be opening a connection (the pool's, a gateway lane's): a test process
/// crashed so after its tests had passed (in `ENGINE_pkey_asn1_find_str`,
/// under libpq's client hello). `openssl_sys::init` initialises OpenSSL
/// first, without the exit handler (`OPENSSL_INIT_NO_ATEXIT`), once.
pub(crate) fn establish_pg(url: &str) -> Result<PgConnection, diesel::ConnectionError> {
    openssl_sys::init();
    PgConnection::establish(url)
}
