//! Errors while seeding.

use crate::auth;
use crate::db::{ChangeError, RuleError, StoreError};

/// Errors while seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// A rule refused a change of the seed (a locked month).
    #[error(transparent)]
    Rule(RuleError),
}

impl From<ChangeError> for SeedError {
    fn from(e: ChangeError) -> SeedError {
        match e {
            ChangeError::Store(e) => SeedError::Store(e),
            ChangeError::Rule(e) => SeedError::Rule(e),
        }
    }
}

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> SeedError {
        SeedError::Store(e.into())
    }
}
