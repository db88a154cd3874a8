//! Writing visit rows: what the visit engine's re-derivation writes
//! (`record::write`), each kind in the fewest statements its backend keeps
//! prepared.

use super::schema::visit;
use super::visit::{Visit, VisitFields};
use super::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A visit row to insert (its corrections and `voided` keep the table's
/// defaults). `None` is NULL, not DEFAULT: SQLite takes many rows in one
/// INSERT only without DEFAULT.
#[derive(Insertable)]
#[diesel(table_name = visit, treat_none_as_default_value = false)]
pub(crate) struct VisitRow<'a> {
    id: &'a str,
    #[diesel(embed)]
    fields: VisitFields,
    approved_at: Option<NaiveDateTime>,
    approved_by: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

pub(crate) fn row_of(v: &Visit) -> VisitRow<'_> {
    VisitRow {
        id: &v.id,
        fields: v.fields.clone(),
        approved_at: v.approved_at,
        approved_by: v.approved_by.as_deref(),
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

/// Updates the derived fields of a stored visit, the columns
/// [`upsert_visits`] updates, in a statement kept prepared (an upsert is
/// prepared anew each time).
pub(crate) fn update_visit(
    c: &mut DbConn,
    v: &Visit,
    clear_approval: bool,
) -> Result<(), StoreError> {
    use super::sql::{Statement, Value};
    let f = &v.fields;
    // Raw, so it is kept prepared: diesel prepares its UPDATEs anew on
    // every run.
    let sql = if clear_approval {
        UPDATE_CLEARING_SQL
    } else {
        UPDATE_SQL
    };
    let n = Statement::new(sql)
        .bind(Value::OptText(f.check_out_event_id.as_deref()))
        .bind(Value::OptTimestamp(f.started_at))
        .bind(Value::OptTimestamp(f.ended_at))
        .bind(Value::OptInt(f.seconds))
        .bind(Value::Text(f.status.as_str()))
        .bind(Value::OptText(f.exception.map(|e| e.as_str())))
        .bind(Value::OptText(f.method.map(|m| m.as_str())))
        .bind(Value::Bool(f.double_staffing))
        .bind(Value::Text(&f.approval_reasons))
        .bind(Value::Bool(f.verified))
        .bind(Value::Timestamp(v.updated_at))
        .bind(Value::Text(&v.id))
        .execute(c)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// [`update_visit`]'s statement: the derived columns.
const UPDATE_SQL: &str = "UPDATE visit SET check_out_event_id = ?, started_at = ?, ended_at = ?, \
    seconds = ?, status = ?, exception = ?, method = ?, double_staffing = ?, \
    approval_reasons = ?, verified = ?, updated_at = ? WHERE id = ?";

/// [`UPDATE_SQL`], the approval cleared too.
const UPDATE_CLEARING_SQL: &str = "UPDATE visit SET check_out_event_id = ?, started_at = ?, \
    ended_at = ?, seconds = ?, status = ?, exception = ?, method = ?, double_staffing = ?, \
    approval_reasons = ?, verified = ?, updated_at = ?, approved_at = NULL, approved_by = NULL \
    WHERE id = ?";

/// Inserts the visits, or updates the derived fields of those stored;
/// `clear_approval`: their approval goes too (they changed).
///
/// A conflict is on the id, the event the visit is named after, and the
/// client, staff member, provider, check-in and day follow from that
/// event: an update sets only the other columns. Each column an UPDATE
/// sets rewrites its index entries, changed or not, and on SQLite each
/// such entry is a page more in the log.
pub(crate) fn upsert_visits(
    c: &mut DbConn,
    visits: &[Visit],
    clear_approval: bool,
) -> Result<(), StoreError> {
    use diesel::upsert::excluded;
    for chunk in visits.chunks(500) {
        let rows: Vec<VisitRow> = chunk.iter().map(row_of).collect();
        let own = (
            visit::check_out_event_id.eq(excluded(visit::check_out_event_id)),
            visit::started_at.eq(excluded(visit::started_at)),
            visit::ended_at.eq(excluded(visit::ended_at)),
            visit::seconds.eq(excluded(visit::seconds)),
            visit::status.eq(excluded(visit::status)),
            visit::exception.eq(excluded(visit::exception)),
            visit::method.eq(excluded(visit::method)),
            visit::double_staffing.eq(excluded(visit::double_staffing)),
            visit::approval_reasons.eq(excluded(visit::approval_reasons)),
            visit::verified.eq(excluded(visit::verified)),
            visit::updated_at.eq(excluded(visit::updated_at)),
        );
        let clear = (
            visit::approved_at.eq(None::<NaiveDateTime>),
            visit::approved_by.eq(None::<String>),
        );
        // One row: the statement of one row, kept prepared (see [`FEW`]).
        macro_rules! upsert {
            ($values:expr) => {{
                let base = || {
                    diesel::insert_into(visit::table)
                        .values($values)
                        .on_conflict(visit::id)
                        .do_update()
                };
                if clear_approval {
                    super::execute_on(c, base().set((own, clear)))?;
                } else {
                    super::execute_on(c, base().set(own))?;
                }
            }};
        }
        match rows.as_slice() {
            [row] => upsert!(row),
            rows => upsert!(rows),
        }
    }
    Ok(())
}

/// PostgreSQL: the columns [`write_visits_pg`] writes, and their values
/// as one array each (`super::unnest`).
macro_rules! visit_columns {
    () => {
        "INSERT INTO visit (id, staff_id, provider_id, client_id, check_in_event_id, \
         check_out_event_id, started_at, ended_at, seconds, local_date, status, exception, \
         method, double_staffing, approval_reasons, verified, approved_at, approved_by, \
         created_at, updated_at) \
         SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::timestamp[], ?::timestamp[], ?::integer[], ?::date[], ?::text[], ?::text[], \
         ?::text[], ?::boolean[], ?::text[], ?::boolean[], ?::timestamp[], ?::text[], \
         ?::timestamp[], ?::timestamp[])"
    };
}

/// [`upsert_visits`]' update, on PostgreSQL.
macro_rules! visit_update {
    () => {
        " ON CONFLICT (id) DO UPDATE SET check_out_event_id = excluded.check_out_event_id, \
         started_at = excluded.started_at, ended_at = excluded.ended_at, \
         seconds = excluded.seconds, status = excluded.status, exception = excluded.exception, \
         method = excluded.method, double_staffing = excluded.double_staffing, \
         approval_reasons = excluded.approval_reasons, verified = excluded.verified, \
         updated_at = excluded.updated_at"
    };
}

/// How [`write_visits_pg`] writes the visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VisitWrite {
    /// New rows (a stored id is an error).
    Insert,
    /// Stored rows: their derived fields, as [`update_visit`] sets them;
    /// `true`: their approval goes too.
    Update(bool),
}

/// PostgreSQL: writes the visits in one statement, whatever their number,
/// kept prepared (`super::unnest`). An update is an upsert on the id: the
/// conflict is found by the primary key's index, whatever plan the
/// statement was given when the table was small.
pub(crate) fn write_visits_pg(
    pg: &mut diesel::PgConnection,
    visits: &[Visit],
    how: VisitWrite,
) -> Result<(), StoreError> {
    use super::unnest::{Column, Query, opt_texts, texts};
    if visits.is_empty() {
        return Ok(());
    }
    let sql = match how {
        VisitWrite::Insert => visit_columns!(),
        VisitWrite::Update(false) => concat!(visit_columns!(), visit_update!()),
        VisitWrite::Update(true) => concat!(
            visit_columns!(),
            visit_update!(),
            ", approved_at = NULL, approved_by = NULL"
        ),
    };
    let f = |v: &Visit| v.fields.clone();
    let fields: Vec<VisitFields> = visits.iter().map(f).collect();
    let times = |g: fn(&Visit) -> NaiveDateTime| Column::Timestamp(visits.iter().map(g).collect());
    let opt_times = |g: fn(&VisitFields) -> Option<NaiveDateTime>| {
        Column::OptTimestamp(fields.iter().map(g).collect())
    };
    Query::new(sql)
        .bind(texts(visits, |v| v.id.as_str()))
        .bind(texts(&fields, |f| f.staff_id.as_str()))
        .bind(texts(&fields, |f| f.provider_id.as_str()))
        .bind(texts(&fields, |f| f.client_id.as_str()))
        .bind(opt_texts(&fields, |f| f.check_in_event_id.as_deref()))
        .bind(opt_texts(&fields, |f| f.check_out_event_id.as_deref()))
        .bind(opt_times(|f| f.started_at))
        .bind(opt_times(|f| f.ended_at))
        .bind(Column::OptInt(fields.iter().map(|f| f.seconds).collect()))
        .bind(Column::Date(fields.iter().map(|f| f.local_date).collect()))
        .bind(texts(&fields, |f| f.status.as_str()))
        .bind(opt_texts(&fields, |f| f.exception.map(|e| e.as_str())))
        .bind(opt_texts(&fields, |f| f.method.map(|m| m.as_str())))
        .bind(Column::Bool(
            fields.iter().map(|f| f.double_staffing).collect(),
        ))
        .bind(texts(&fields, |f| f.approval_reasons.as_str()))
        .bind(Column::Bool(fields.iter().map(|f| f.verified).collect()))
        .bind(Column::OptTimestamp(
            visits.iter().map(|v| v.approved_at).collect(),
        ))
        .bind(opt_texts(visits, |v| v.approved_by.as_deref()))
        .bind(times(|v| v.created_at))
        .bind(times(|v| v.updated_at))
        .execute(pg)?;
    Ok(())
}
