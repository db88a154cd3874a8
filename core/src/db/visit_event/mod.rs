//! The raw events of visits: check-ins, check-outs and declined visits from
//! phones, devices and entries after the fact. Never changed or deleted:
//! they are the evidence a billing dispute relies on.

use super::schema::visit_event;
use super::{DbConn, StoreError};
use crate::domain::pairing;
use crate::domain::{EventKind, Method, Source};
use crate::model::{ClientId, EventId, ProviderId, ServiceId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

mod window;

pub use window::all_for_staff;
#[cfg(test)]
pub(crate) use window::{PAIR_KINDS, WINDOWS_SQL};
pub(crate) use window::{Window, window_span, windows};

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = visit_event)]
pub struct VisitEvent {
    pub id: EventId,
    /// `phone`, `device` or `entry`.
    pub source: Source,
    pub source_key: String,
    /// The sender's UUID.
    pub event_id: String,
    /// `check_in`, `check_out` or `declined`.
    pub kind: EventKind,
    pub staff_id: UserId,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub occurred_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub local_date: NaiveDate,
    /// `nfc`, `lock`, `manual` or `entry`.
    pub method: Option<Method>,
    /// The NFC tag uid or lock id.
    pub method_ref: Option<String>,
    /// Why: a manual check-in, an unplanned visit, a declined visit.
    pub reason: Option<String>,
    /// JSON of [`Payload`].
    pub payload: String,
}

/// What an event carries besides its columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Check-out: services performed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<PerformedService>,
    /// Check-out and declined visits: services the client declined (ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined_services: Vec<ServiceId>,
    /// Check-in: the second staff member of a double-staffed visit (R20).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub double_staffing: bool,
    /// Check-in: a visit the plan did not have.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unplanned: bool,
    /// Check-out: co-habiting clients sharing the visit (sammanboende).
    /// Empty: all of it is the visit's client's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<ClientShare>,
}

/// A co-habiting client's share of a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientShare {
    pub client_id: ClientId,
    /// 10,000 = all of the visit.
    pub basis_points: u32,
}

/// A service performed, with minutes if the care worker entered them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerformedService {
    pub service_id: ServiceId,
    /// For a shared visit: whose service (default: the visit's client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
}

impl VisitEvent {
    /// The payload; an unreadable one (impossible through the API) is empty.
    pub fn payload(&self) -> Payload {
        serde_json::from_str(&self.payload).unwrap_or_default()
    }

    /// The event as the pairing sees it; `None` for declined visits.
    pub fn pairing(&self) -> Option<pairing::Event> {
        let kind = self.kind.pairing()?;
        Some(pairing::Event {
            id: self.id.clone(),
            kind,
            client_id: self.client_id.clone(),
            at: self.occurred_at,
        })
    }
}

/// An event to store.
// `None` is NULL, not DEFAULT: SQLite takes many rows in one INSERT only
// without DEFAULT (diesel inserts them one by one otherwise).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = visit_event, treat_none_as_default_value = false)]
pub struct NewVisitEvent {
    pub id: EventId,
    pub source: Source,
    pub source_key: String,
    pub event_id: String,
    pub kind: EventKind,
    pub staff_id: UserId,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub occurred_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub local_date: NaiveDate,
    pub method: Option<Method>,
    pub method_ref: Option<String>,
    pub reason: Option<String>,
    pub payload: String,
}

#[cfg(test)]
impl NewVisitEvent {
    /// The same event sent again: a new row id, the same sender identity.
    pub(crate) fn resent(&self) -> NewVisitEvent {
        NewVisitEvent {
            id: super::new_id().into(),
            ..self.clone()
        }
    }
}

/// Inserts the events whose sender's event id was not seen before (also
/// not earlier in `events`), in one statement per 500, and returns each as
/// stored (`None` for a repeat): times kept to the microsecond, as both
/// backends keep them. No error on a repeat, so a PostgreSQL transaction
/// goes on after one.
pub(crate) fn insert_many(
    conn: &mut DbConn,
    events: &[&NewVisitEvent],
) -> Result<Vec<Option<VisitEvent>>, StoreError> {
    use chrono::SubsecRound;
    let rows: Vec<NewVisitEvent> = events
        .iter()
        .map(|e| NewVisitEvent {
            occurred_at: e.occurred_at.trunc_subsecs(6),
            received_at: e.received_at.trunc_subsecs(6),
            ..NewVisitEvent::clone(e)
        })
        .collect();
    if let DbConn::Pg(pg) = conn {
        return insert_many_pg(pg, rows);
    }
    let mut out = Vec::with_capacity(rows.len());
    // A few rows one statement each, kept prepared (see `sql::FEW`).
    if rows.len() <= super::sql::FEW {
        for row in rows {
            let n = super::execute_on(
                conn,
                diesel::insert_into(visit_event::table)
                    .values(&row)
                    .on_conflict_do_nothing(),
            )?;
            out.push((n == 1).then(|| stored(row)));
        }
        return Ok(out);
    }
    for chunk in rows.chunks(500) {
        let n = super::execute_on(
            conn,
            diesel::insert_into(visit_event::table)
                .values(chunk)
                .on_conflict_do_nothing(),
        )?;
        // The ids are new: a row with one of them is the one just inserted.
        let inserted: std::collections::HashSet<EventId> = if n == chunk.len() {
            chunk.iter().map(|r| r.id.clone()).collect()
        } else {
            let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
            visit_event::table
                .filter(visit_event::id.eq_any(&ids))
                .select(visit_event::id)
                .load(conn)?
                .into_iter()
                .collect()
        };
        out.extend(
            chunk
                .iter()
                .map(|row| inserted.contains(&row.id).then(|| stored(row.clone()))),
        );
    }
    Ok(out)
}

/// PostgreSQL's [`insert_many`]: one statement for any number of rows,
/// kept prepared (`db::unnest`), that says which rows it inserted.
fn insert_many_pg(
    pg: &mut diesel::PgConnection,
    rows: Vec<NewVisitEvent>,
) -> Result<Vec<Option<VisitEvent>>, StoreError> {
    use super::unnest::{Column, Query, opt_texts, texts};
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let inserted: std::collections::HashSet<String> = Query::new(
        "INSERT INTO visit_event (id, source, source_key, event_id, kind, staff_id, client_id, \
         provider_id, occurred_at, received_at, local_date, method, method_ref, reason, payload) \
         SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::text[], ?::text[], ?::timestamp[], ?::timestamp[], ?::date[], ?::text[], ?::text[], \
         ?::text[], ?::text[]) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(texts(&rows, |r| r.id.as_str()))
    .bind(texts(&rows, |r| r.source.as_str()))
    .bind(texts(&rows, |r| r.source_key.as_str()))
    .bind(texts(&rows, |r| r.event_id.as_str()))
    .bind(texts(&rows, |r| r.kind.as_str()))
    .bind(texts(&rows, |r| r.staff_id.as_str()))
    .bind(texts(&rows, |r| r.client_id.as_str()))
    .bind(texts(&rows, |r| r.provider_id.as_str()))
    .bind(Column::Timestamp(
        rows.iter().map(|r| r.occurred_at).collect(),
    ))
    .bind(Column::Timestamp(
        rows.iter().map(|r| r.received_at).collect(),
    ))
    .bind(Column::Date(rows.iter().map(|r| r.local_date).collect()))
    .bind(opt_texts(&rows, |r| r.method.map(|m| m.as_str())))
    .bind(opt_texts(&rows, |r| r.method_ref.as_deref()))
    .bind(opt_texts(&rows, |r| r.reason.as_deref()))
    .bind(texts(&rows, |r| r.payload.as_str()))
    .load::<Inserted>(pg)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    Ok(rows
        .into_iter()
        .map(|row| inserted.contains(row.id.as_str()).then(|| stored(row)))
        .collect())
}

/// An inserted row as [`VisitEvent`].
fn stored(row: NewVisitEvent) -> VisitEvent {
    VisitEvent {
        id: row.id,
        source: row.source,
        source_key: row.source_key,
        event_id: row.event_id,
        kind: row.kind,
        staff_id: row.staff_id,
        client_id: row.client_id,
        provider_id: row.provider_id,
        occurred_at: row.occurred_at,
        received_at: row.received_at,
        local_date: row.local_date,
        method: row.method,
        method_ref: row.method_ref,
        reason: row.reason,
        payload: row.payload,
    }
}

/// The stored event with this sender identity.
pub fn find(
    conn: &mut DbConn,
    source: Source,
    source_key: &str,
    event_id: &str,
) -> Result<Option<VisitEvent>, StoreError> {
    Ok(visit_event::table
        .filter(visit_event::source.eq(source))
        .filter(visit_event::source_key.eq(source_key))
        .filter(visit_event::event_id.eq(event_id))
        .select(VisitEvent::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<VisitEvent, StoreError> {
    Ok(visit_event::table
        .find(id)
        .select(VisitEvent::as_select())
        .first(conn)?)
}

/// The events with these ids (in no particular order; unknown ids are
/// left out).
pub(crate) fn by_ids(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<VisitEvent>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<VisitEvent> = match conn {
            DbConn::Sqlite(s) => {
                let list = super::sql::json_list(chunk)?;
                visit_event::table
                    .filter(super::sql::in_list("id", &list))
                    .select(VisitEvent::as_select())
                    .load(s)?
            }
            DbConn::Pg(pg) => {
                super::unnest::Query::new(&super::unnest::by_key_sql("visit_event", "id"))
                    .bind(super::unnest::Column::Text(chunk.to_vec()))
                    .load(pg)?
            }
        };
        out.extend(rows);
    }
    Ok(out)
}

/// How a visit was verified: the staff member's events at the client from
/// a little before its start to a little after its end (the check-in and
/// check-out, their confirmations from other devices, tag reads inside).
pub fn evidence(
    conn: &mut DbConn,
    staff_id: &str,
    client_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<VisitEvent>, StoreError> {
    let margin = chrono::Duration::seconds(crate::domain::pairing::MERGE_SECONDS);
    Ok(visit_event::table
        .filter(visit_event::staff_id.eq(staff_id))
        .filter(visit_event::client_id.eq(client_id))
        .filter(visit_event::kind.eq_any([
            EventKind::CheckIn,
            EventKind::CheckOut,
            EventKind::Presence,
        ]))
        .filter(visit_event::occurred_at.between(from - margin, to + margin))
        .order((visit_event::occurred_at, visit_event::id))
        .select(VisitEvent::as_select())
        .load(conn)?)
}

/// Declined visits of a client between two local dates (inclusive).
pub fn declined_for_client(
    conn: &mut DbConn,
    client_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<VisitEvent>, StoreError> {
    Ok(visit_event::table
        .filter(visit_event::client_id.eq(client_id))
        .filter(visit_event::kind.eq(EventKind::Declined))
        .filter(visit_event::local_date.between(from, to))
        .order(visit_event::occurred_at)
        .select(VisitEvent::as_select())
        .load(conn)?)
}
