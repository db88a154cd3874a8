//! What each retention run deleted (counts per table, never the data).

use super::schema::retention_run;
use super::{DbConn, StoreError};
use crate::model::MunicipalityId;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// One run for one municipality.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = retention_run)]
pub struct RetentionRun {
    pub id: String,
    pub municipality_id: MunicipalityId,
    pub ran_at: NaiveDateTime,
    pub access_log_before: NaiveDateTime,
    pub orders_ended_before: NaiveDate,
    pub clients_purged: i32,
    pub clients_kept: i32,
    pub rows_deleted: i64,
    /// JSON: table name to rows deleted.
    pub counts: String,
}

/// The municipality's latest runs, newest first.
pub fn latest(
    c: &mut DbConn,
    municipality_id: &str,
    limit: i64,
) -> Result<Vec<RetentionRun>, StoreError> {
    Ok(retention_run::table
        .filter(retention_run::municipality_id.eq(municipality_id))
        .order(retention_run::ran_at.desc())
        .limit(limit)
        .select(RetentionRun::as_select())
        .load(c)?)
}
