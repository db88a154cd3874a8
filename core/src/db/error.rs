//! Errors from storage functions.

use crate::domain::YearMonth;
use diesel::ConnectionError;
use diesel::r2d2;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
    /// The single writer failed rather than a write's data: it panicked,
    /// stopped, or its commit failed (`transient`: trying again later can
    /// succeed).
    #[error("the writer: {message}")]
    Writer { message: String, transient: bool },
}

/// A change a rule does not allow now. Nothing is wrong with storage or
/// with the request's form: the data is in a state that forbids it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The provider's month is locked for billing (R6).
    #[error("the month {0} is locked")]
    MonthLocked(YearMonth),
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

/// What a change can fail with: storage, or a rule that refuses it.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rule(#[from] RuleError),
}

impl From<DieselError> for ChangeError {
    fn from(e: DieselError) -> ChangeError {
        ChangeError::Store(e.into())
    }
}

impl ChangeError {
    /// [`StoreError::is_transient`]; a rule's refusal never is.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChangeError::Store(e) if e.is_transient())
    }
}

impl StoreError {
    /// A failure of the moment (the database busy, unreachable, or a
    /// transaction that lost a race) rather than of the data: trying the
    /// same thing again later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Pool(_) | StoreError::Connection(_) => true,
            StoreError::Writer { transient, .. } => *transient,
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

/// A hand-written statement ([`super::sql`], [`super::unnest`]) given
/// other values than its `?` markers ask for: a defect in the caller.
pub(super) fn mismatch() -> DieselError {
    DieselError::QueryBuilderError("a statement's values do not match its markers".into())
}
