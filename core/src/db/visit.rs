//! The `visit` table: visits derived from the events by the pairing rule
//! (`crate::record` derives and writes them), stored so that reads never
//! re-pair; and the reads of a visit's shares and services.

use super::schema::{visit, visit_service, visit_share};
use super::sql::{in_list, json_list};
use super::{DbConn, StoreError};
use crate::model::{
    ClientId, EventId, Method, ProviderId, UserId, VisitException, VisitId, VisitStatus,
};
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// A stored visit: one staff member's time at one client.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = visit)]
pub struct Visit {
    pub id: VisitId,
    #[serde(flatten)]
    #[diesel(embed)]
    pub fields: VisitFields,
    #[serde(with = "super::utc::option")]
    pub approved_at: Option<NaiveDateTime>,
    pub approved_by: Option<String>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    pub updated_at: NaiveDateTime,
    /// A provider admin's correction of the start; wins over the check-in.
    #[serde(with = "super::utc::option")]
    pub corrected_started_at: Option<NaiveDateTime>,
    /// A provider admin's correction of the end; wins over the check-out.
    #[serde(with = "super::utc::option")]
    pub corrected_ended_at: Option<NaiveDateTime>,
    /// Registered by mistake: kept, but its time never counts.
    pub voided: bool,
}

/// What the pairing derives for a visit.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Queryable,
    QueryableByName,
    Selectable,
    Insertable,
    AsChangeset,
    Serialize,
)]
#[diesel(
    table_name = visit,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct VisitFields {
    pub staff_id: UserId,
    pub provider_id: ProviderId,
    pub client_id: ClientId,
    pub check_in_event_id: Option<EventId>,
    pub check_out_event_id: Option<EventId>,
    #[serde(with = "super::utc::option")]
    pub started_at: Option<NaiveDateTime>,
    #[serde(with = "super::utc::option")]
    pub ended_at: Option<NaiveDateTime>,
    /// Real elapsed seconds, when both ends are known.
    pub seconds: Option<i32>,
    /// The local day it started (or ended, without a check-in).
    pub local_date: NaiveDate,
    /// `open`, `closed` or `exception`.
    pub status: VisitStatus,
    /// `missing_check_in`, `missing_check_out` or `too_long`.
    pub exception: Option<VisitException>,
    /// How the check-in was made: `nfc`, `lock`, `manual` or `entry`.
    pub method: Option<Method>,
    /// The second person of a double-staffed visit (R20).
    pub double_staffing: bool,
    /// Why it needs a provider admin's approval, comma-separated:
    /// `manual_method`, `unplanned`, `entered_after`, `exception`.
    pub approval_reasons: String,
    /// Both ends by a lock or an NFC tag, neither entered afterwards (the
    /// verification rate; a correction is left out where it is counted).
    #[serde(skip)]
    pub verified: bool,
}

impl Visit {
    /// The local day the visit belongs to: the day it started, as
    /// corrected if it was (or ended, with no start known).
    pub fn day(&self, tz: Tz) -> NaiveDate {
        self.start()
            .or(self.end())
            .map_or(self.fields.local_date, |t| {
                crate::domain::local_date(t.and_utc(), tz)
            })
    }

    /// The start, corrected or as checked in.
    pub fn start(&self) -> Option<NaiveDateTime> {
        self.corrected_started_at.or(self.fields.started_at)
    }

    /// The end, corrected or as checked out.
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.corrected_ended_at.or(self.fields.ended_at)
    }

    /// Real elapsed seconds between [`Visit::start`] and [`Visit::end`].
    pub fn elapsed_seconds(&self) -> Option<i64> {
        let s = (self.end()? - self.start()?).num_seconds();
        (s >= 0).then_some(s)
    }

    /// Flagged (manual, unplanned, entered after, exception) or corrected,
    /// and not yet approved or voided.
    pub fn needs_approval(&self) -> bool {
        (!self.fields.approval_reasons.is_empty() || self.corrected())
            && self.approved_at.is_none()
            && !self.voided
    }

    pub fn corrected(&self) -> bool {
        self.corrected_started_at.is_some() || self.corrected_ended_at.is_some()
    }

    /// Whether its time counts as performed: not voided, both ends known,
    /// and closed by its events, corrected, or approved as it is (an
    /// over-long visit). Visits that wait for approval for other reasons
    /// (manual, unplanned, entered after) count while they wait.
    pub fn counts(&self) -> bool {
        !self.voided
            && self.elapsed_seconds().is_some()
            && (self.fields.status == VisitStatus::Closed
                || self.corrected()
                || self.approved_at.is_some())
    }
}

pub use super::visit_service::{VisitService, services_for};
pub use super::visit_share::VisitShare;

/// Whose time and which services a visit was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub shares: Vec<VisitShare>,
    pub services: Vec<VisitService>,
}

/// PostgreSQL's [`holding`]: the visit with each id given as check-in,
/// and as check-out (a visit with both comes twice).
pub(crate) const HOLDING_SQL: &str = "SELECT v.* FROM (SELECT DISTINCT unnest(?::text[]) AS id) e \
    CROSS JOIN LATERAL ( \
      (SELECT * FROM visit WHERE check_in_event_id = e.id LIMIT 1) \
      UNION ALL \
      (SELECT * FROM visit WHERE check_out_event_id = e.id LIMIT 1) \
    ) v";

/// PostgreSQL: deletes a visit (its shares and services with it).
pub(crate) const DELETE_SQL: &str = "DELETE FROM visit WHERE id = ?";

/// The stored visits holding any of `ids` as check-in or check-out.
pub(crate) fn holding(c: &mut DbConn, ids: &[&str]) -> Result<Vec<Visit>, StoreError> {
    Ok(match c {
        DbConn::Sqlite(s) => {
            let list = json_list(ids)?;
            visit::table
                .filter(
                    in_list("check_in_event_id", &list).or(in_list("check_out_event_id", &list)),
                )
                .select(Visit::as_select())
                .load(s)?
        }
        DbConn::Pg(pg) => {
            // A lookup in each unique index per id, whatever the planner
            // would guess: `= ANY(ids) OR = ANY(ids)` was a whole-table scan
            // until the tables had statistics and, with them, until they
            // were large (docs/BENCHMARKS.md).
            let rows: Vec<Visit> = super::unnest::Query::new(HOLDING_SQL)
                .bind(super::unnest::Column::Text(ids.to_vec()))
                .load(pg)?;
            // A visit whose check-in and check-out are both among the ids
            // comes twice.
            let mut seen = std::collections::HashSet::new();
            rows.into_iter()
                .filter(|v| seen.insert(v.id.clone()))
                .collect()
        }
    })
}

/// The shares and services of visits `ids`, by visit (shares by client,
/// services as [`services_for`] orders them).
pub fn attributions(
    c: &mut DbConn,
    ids: &[&str],
) -> Result<HashMap<VisitId, Attribution>, StoreError> {
    let mut out: HashMap<VisitId, Attribution> = HashMap::new();
    let service_order = (
        visit_service::visit_id,
        visit_service::declined,
        visit_service::client_id,
        visit_service::service_id,
    );
    for chunk in ids.chunks(500) {
        let (shares, services): (Vec<VisitShare>, Vec<VisitService>) = match c {
            DbConn::Sqlite(s) => {
                let list = json_list(chunk)?;
                (
                    visit_share::table
                        .filter(in_list("visit_id", &list))
                        .order((visit_share::visit_id, visit_share::client_id))
                        .select(VisitShare::as_select())
                        .load(s)?,
                    visit_service::table
                        .filter(in_list("visit_id", &list))
                        .order(service_order)
                        .select(VisitService::as_select())
                        .load(s)?,
                )
            }
            DbConn::Pg(pg) => (
                by_visit(pg, "visit_share", "visit_id, client_id", chunk)?,
                by_visit(
                    pg,
                    "visit_service",
                    "visit_id, declined, client_id, service_id",
                    chunk,
                )?,
            ),
        };
        for s in shares {
            out.entry(s.visit_id.clone()).or_default().shares.push(s);
        }
        for s in services {
            out.entry(s.visit_id.clone()).or_default().services.push(s);
        }
    }
    Ok(out)
}

/// PostgreSQL: the rows of `table` (a visit's shares or services) of the
/// visits `ids`, in `order`, read by the visit's index one id at a time.
/// With `visit_id = ANY(ids)` the planner chose a whole-table scan while the
/// table had no statistics (it guessed half the rows would match) and with
/// them while it was small; `OFFSET 0` keeps the lookup a loop over the ids.
fn by_visit<T>(
    pg: &mut diesel::PgConnection,
    table: &'static str,
    order: &'static str,
    ids: &[&str],
) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(super::unnest::Query::new(&by_visit_sql(table, order))
        .bind(super::unnest::Column::Text(ids.to_vec()))
        .load(pg)?)
}

/// The statement of [`by_visit`].
pub(crate) fn by_visit_sql(table: &str, order: &str) -> String {
    format!(
        "{} ORDER BY {order}",
        super::unnest::by_key_sql(table, "visit_id")
    )
}

/// The stored attribution of a visit.
pub fn attribution(c: &mut DbConn, visit_id: &str) -> Result<Attribution, StoreError> {
    Ok(attributions(c, &[visit_id])?
        .remove(visit_id)
        .unwrap_or_default())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Visit, StoreError> {
    Ok(visit::table
        .find(id)
        .select(Visit::as_select())
        .first(conn)?)
}

/// The staff member's open visit, if any (at most one by construction).
pub fn open_for_staff(conn: &mut DbConn, staff_id: &str) -> Result<Option<Visit>, StoreError> {
    Ok(visit::table
        .filter(visit::staff_id.eq(staff_id))
        .filter(visit::status.eq(crate::model::VisitStatus::Open))
        .select(Visit::as_select())
        .first(conn)
        .optional()?)
}

/// A staff member's visits on local dates `from..=to`.
pub fn for_staff(
    conn: &mut DbConn,
    staff_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    Ok(visit::table
        .filter(visit::staff_id.eq(staff_id))
        .filter(visit::local_date.between(from, to))
        .order((visit::local_date, visit::started_at, visit::id))
        .select(Visit::as_select())
        .load(conn)?)
}

/// A visit as one client's: the client's services and every share.
#[derive(Debug, Clone)]
pub struct ClientVisit {
    pub visit: Visit,
    /// All clients' shares; the client's own is [`ClientVisit::own_share`].
    pub shares: Vec<VisitShare>,
    pub own_share: usize,
    /// The client's services in the visit.
    pub services: Vec<VisitService>,
}

/// Visits the client has a share of, whose local date is within
/// `from..=to` (a visit across midnight is listed under the day it
/// started), without their shares and services: one statement.
pub fn shared_by(
    conn: &mut DbConn,
    client_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    let shared = visit_share::table
        .filter(visit_share::client_id.eq(client_id))
        .select(visit_share::visit_id);
    Ok(visit::table
        .filter(visit::id.eq_any(shared))
        .filter(visit::local_date.between(from, to))
        .order((visit::local_date, visit::started_at, visit::id))
        .select(Visit::as_select())
        .load(conn)?)
}

/// Visits the client has a share of, whose local date is within
/// `from..=to` (a visit across midnight is listed under the day it
/// started), with the client's services.
pub fn for_client(
    conn: &mut DbConn,
    client_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ClientVisit>, StoreError> {
    let visits = shared_by(conn, client_id, from, to)?;
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut services: HashMap<VisitId, Vec<VisitService>> = HashMap::new();
    for s in visit_service::table
        .filter(visit_service::visit_id.eq_any(&ids))
        .filter(visit_service::client_id.eq(client_id))
        .order((visit_service::declined, visit_service::service_id))
        .select(VisitService::as_select())
        .load::<VisitService>(conn)?
    {
        services.entry(s.visit_id.clone()).or_default().push(s);
    }
    let mut shares: HashMap<VisitId, Vec<VisitShare>> = HashMap::new();
    for s in visit_share::table
        .filter(visit_share::visit_id.eq_any(&ids))
        .order((visit_share::visit_id, visit_share::client_id))
        .select(VisitShare::as_select())
        .load::<VisitShare>(conn)?
    {
        shares.entry(s.visit_id.clone()).or_default().push(s);
    }
    Ok(visits
        .into_iter()
        .map(|visit| {
            let shares = shares.remove(&visit.id).unwrap_or_default();
            let own_share = shares
                .iter()
                .position(|s| s.client_id == client_id)
                .unwrap_or(0);
            ClientVisit {
                services: services.remove(&visit.id).unwrap_or_default(),
                visit,
                shares,
                own_share,
            }
        })
        .collect())
}
