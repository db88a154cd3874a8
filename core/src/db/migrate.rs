//! The embedded migrations.

use super::{DbConn, StoreError, figure};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

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
