//! The directory's version: bumped by database triggers on every change to
//! the rows the gateway looks up for each device event (devices, care
//! workers, staff credentials, orders, municipalities), so a cache of them
//! is good while the version stays the same.

use super::schema::directory_version;
use super::{DbConn, StoreError};
use diesel::prelude::*;

/// The current version (read inside the transaction that uses the cache).
pub fn version(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(directory_version::table
        .find(1)
        .select(directory_version::version)
        .first(conn)?)
}

/// The version of the credentials the broker checked at sign-in: bumped
/// by database triggers when a device is retired or deleted, its secret
/// rotated, or an integration token revoked.
pub fn credential_version(conn: &mut DbConn) -> Result<i64, StoreError> {
    use super::schema::credential_version;
    Ok(credential_version::table
        .find(1)
        .select(credential_version::version)
        .first(conn)?)
}
