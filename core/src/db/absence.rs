//! Client absences (frånvaro): a hospital stay, short-term care, travel.
//! Registered by the provider or the caseworker; the ordered time of the
//! absent days is shown as explained instead of as under-time.

use super::schema::absence;
use super::{DbConn, StoreError, new_id};
use crate::domain::YearMonth;
use crate::model::ClientId;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::BTreeSet;

/// Why the client was away.
pub const CAUSES: &[&str] = &["hospital", "short_term_care", "travel", "other"];

/// A registered absence; days are local and inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = absence)]
pub struct Absence {
    pub id: String,
    pub client_id: ClientId,
    pub starts_on: NaiveDate,
    /// Unset while it lasts.
    pub ends_on: Option<NaiveDate>,
    /// `hospital`, `short_term_care`, `travel` or `other`.
    pub cause: String,
    pub note: String,
    pub registered_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Registered by mistake: kept, but no longer counts.
    pub cancelled_at: Option<NaiveDateTime>,
}

/// A new absence.
#[derive(Debug, Clone)]
pub struct NewAbsence<'a> {
    pub client_id: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub cause: &'a str,
    pub note: &'a str,
    pub registered_by: &'a str,
}

/// Stores an absence and marks the months it touches for the alert rules.
pub fn create(
    c: &mut DbConn,
    a: &NewAbsence<'_>,
    id: Option<String>,
    at: NaiveDateTime,
) -> Result<Absence, StoreError> {
    let id = id.unwrap_or_else(new_id);
    super::transaction(c, |c| {
        diesel::insert_into(absence::table)
            .values((
                absence::id.eq(&id),
                absence::client_id.eq(a.client_id),
                absence::starts_on.eq(a.starts_on),
                absence::ends_on.eq(a.ends_on),
                absence::cause.eq(a.cause),
                absence::note.eq(a.note),
                absence::registered_by.eq(a.registered_by),
                absence::created_at.eq(at),
                absence::updated_at.eq(at),
            ))
            .execute(c)?;
        let row = get(c, &id)?;
        mark(c, &row, at)?;
        Ok(row)
    })
}

/// Ends an ongoing absence, or changes its end.
pub fn set_end(
    c: &mut DbConn,
    id: &str,
    ends_on: Option<NaiveDate>,
    at: NaiveDateTime,
) -> Result<Absence, StoreError> {
    super::transaction(c, |c| {
        let before = get(c, id)?;
        diesel::update(absence::table.find(id))
            .set((absence::ends_on.eq(ends_on), absence::updated_at.eq(at)))
            .execute(c)?;
        let after = get(c, id)?;
        mark(c, &before, at)?;
        mark(c, &after, at)?;
        Ok(after)
    })
}

/// Cancels an absence registered by mistake.
pub fn cancel(c: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<Absence, StoreError> {
    super::transaction(c, |c| {
        diesel::update(absence::table.find(id))
            .set((
                absence::cancelled_at.eq(Some(at)),
                absence::updated_at.eq(at),
            ))
            .execute(c)?;
        let row = get(c, id)?;
        mark(c, &row, at)?;
        Ok(row)
    })
}

/// The months an absence touches need their alerts evaluated again.
fn mark(c: &mut DbConn, a: &Absence, at: NaiveDateTime) -> Result<(), StoreError> {
    let today = at.date();
    let last = a.ends_on.unwrap_or(today).max(a.starts_on);
    let mut months = Vec::new();
    let mut m = YearMonth::of(a.starts_on);
    while m <= YearMonth::of(last) && months.len() < 24 {
        months.push(m.to_string());
        m = m.next();
    }
    super::figure::mark_dirty(c, months.iter().map(|m| (a.client_id.as_str(), m.as_str())))
}

pub fn get(c: &mut DbConn, id: &str) -> Result<Absence, StoreError> {
    Ok(absence::table
        .find(id)
        .select(Absence::as_select())
        .first(c)?)
}

/// A client's absences, newest first (cancelled ones included).
pub fn list_for_client(c: &mut DbConn, client_id: &str) -> Result<Vec<Absence>, StoreError> {
    Ok(absence::table
        .filter(absence::client_id.eq(client_id))
        .order((absence::starts_on.desc(), absence::id))
        .select(Absence::as_select())
        .load(c)?)
}

/// The local days of `month` the client was absent, up to `until`
/// (inclusive) for absences that have not ended.
pub fn days(
    c: &mut DbConn,
    client_id: &str,
    month: YearMonth,
    until: NaiveDate,
) -> Result<BTreeSet<NaiveDate>, StoreError> {
    let rows: Vec<Absence> = absence::table
        .filter(absence::client_id.eq(client_id))
        .filter(absence::cancelled_at.is_null())
        .filter(absence::starts_on.le(month.last_day()))
        .filter(
            absence::ends_on
                .is_null()
                .or(absence::ends_on.ge(month.first_day())),
        )
        .select(Absence::as_select())
        .load(c)?;
    Ok(rows
        .into_iter()
        .flat_map(|a| days_within(a.starts_on, a.ends_on, month, until))
        .collect())
}

/// The days of `[from, to]` within `month`; an absence without an end
/// lasts until `until`.
pub fn days_within(
    from: NaiveDate,
    to: Option<NaiveDate>,
    month: YearMonth,
    until: NaiveDate,
) -> BTreeSet<NaiveDate> {
    let from = from.max(month.first_day());
    let to = to.unwrap_or(until).min(month.last_day());
    from.iter_days().take_while(|d| *d <= to).collect()
}
