//! A connection to either backend, and the pool of them.

use super::{Backend, DatabaseUrl, StoreError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2;
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
