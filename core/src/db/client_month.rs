//! A client's month: ordered against performed time, computed from the
//! orders and the stored visits. (The variance figures will keep this
//! incrementally; this is the straightforward reading.)

use super::care_order::{self, CareOrder};
use super::municipality::Municipality;
use super::schema::care_order as care_order_t;
use super::schema::decision as decision_t;
use super::{DbConn, StoreError, visit, visit_event};
use crate::domain::performed::MonthSeconds;
use crate::domain::{MonthConvention, YearMonth, monthly_ordered_time};
use crate::model::{DecisionKind, ProviderId, VisitStatus};
use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Ordered and performed time of one client in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMonth {
    pub month: YearMonth,
    /// The binding ordered minutes of every order valid in the month.
    pub ordered_minutes: i64,
    /// Ordered minutes per service id, from the order lines.
    pub ordered_by_service: BTreeMap<String, i64>,
    pub performed: MonthSeconds,
    /// Visits whose time counts.
    pub counted_visits: usize,
    pub open_visits: usize,
    /// Exceptions not yet approved: their time does not count.
    pub exception_visits: usize,
    /// Visits (counted or not) that wait for a provider admin's approval.
    pub awaiting_approval: usize,
    /// Declined visits (avböjda besök, R21).
    pub declined_visits: usize,
}

/// The client's orders overlapping `month`, of `provider_id` if given.
fn orders_in(
    conn: &mut DbConn,
    client_id: &str,
    provider_id: Option<&str>,
    month: YearMonth,
) -> Result<Vec<CareOrder>, StoreError> {
    let mut q = care_order_t::table
        .filter(care_order_t::client_id.eq(client_id))
        .filter(care_order_t::valid_from.le(month.last_day()))
        .filter(
            care_order_t::valid_to
                .is_null()
                .or(care_order_t::valid_to.ge(month.first_day())),
        )
        .select(CareOrder::as_select())
        .into_boxed();
    if let Some(p) = provider_id {
        q = q.filter(care_order_t::provider_id.eq(p.to_string()));
    }
    Ok(q.load(conn)?)
}

/// What the orders valid in a month grant a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderedMonth {
    /// The binding ordered minutes of every order valid in the month.
    pub minutes: i64,
    /// Ordered minutes per service id, from the order lines.
    pub by_service: BTreeMap<String, i64>,
    /// Some order is under a frame decision: the total binds, time may
    /// move between services (R8). Otherwise each service is judged too.
    pub frame: bool,
    /// The provider of the latest of the orders.
    pub provider_id: Option<ProviderId>,
    /// Each order's valid days (inclusive) and daily visits (R8).
    pub periods: Vec<(NaiveDate, Option<NaiveDate>, Option<i32>)>,
}

impl OrderedMonth {
    /// Visits the orders valid on `day` ask for; `None` when none sets any.
    pub fn daily_visits(&self, day: NaiveDate) -> Option<i64> {
        self.periods
            .iter()
            .filter(|(from, to, _)| *from <= day && to.is_none_or(|t| day <= t))
            .filter_map(|(_, _, n)| n.map(i64::from))
            .reduce(|a, b| a + b)
    }

    /// Whether some order is valid in the month.
    pub fn any(&self) -> bool {
        !self.periods.is_empty()
    }
}

/// The ordered time of a client's month, of one provider's orders if given.
pub fn ordered(
    conn: &mut DbConn,
    municipality: &Municipality,
    client_id: &str,
    provider_id: Option<&str>,
    month: YearMonth,
) -> Result<OrderedMonth, StoreError> {
    let convention = municipality
        .month_convention()
        .unwrap_or(MonthConvention::Average);
    let mut out = OrderedMonth::default();
    let mut orders = orders_in(conn, client_id, provider_id, month)?;
    orders.sort_by_key(|o| o.fields.valid_from);
    for o in orders {
        let full = care_order::get_with_lines(conn, &municipality.id, &o.id)?;
        let Some(spec) = full.spec() else { continue };
        let t = monthly_ordered_time(&spec, month, convention);
        out.minutes += t.total_minutes;
        for (line, minutes) in full.lines.iter().zip(&t.line_minutes) {
            *out.by_service
                .entry(line.line.fields.service_id.to_string())
                .or_default() += minutes;
        }
        let kind: DecisionKind = decision_t::table
            .find(&o.fields.decision_id)
            .select(decision_t::kind)
            .first(conn)?;
        out.frame |= kind == DecisionKind::Frame;
        out.provider_id = Some(o.fields.provider_id.clone());
        out.periods.push((
            o.fields.valid_from,
            o.fields.valid_to,
            o.fields.daily_visits,
        ));
    }
    Ok(out)
}

/// [`ordered`] for every client of a municipality in one go (a few
/// queries, whatever the number of clients): for reports. Each order's
/// minutes in the month are remembered in `order_month` while the order
/// and the month convention stay the same, so a report reads one row per
/// order instead of every order line.
pub fn ordered_for_municipality(
    conn: &mut DbConn,
    municipality: &Municipality,
    month: YearMonth,
) -> Result<std::collections::HashMap<String, OrderedMonth>, StoreError> {
    ordered_for(conn, municipality, None, month)
}

/// [`ordered`] of one provider's orders for each of its clients (what
/// [`ordered`] with that provider answers, client by client), in the same
/// few queries as [`ordered_for_municipality`]: the care worker's list of
/// clients.
pub fn ordered_for_provider(
    conn: &mut DbConn,
    municipality: &Municipality,
    provider_id: &str,
    month: YearMonth,
) -> Result<std::collections::HashMap<String, OrderedMonth>, StoreError> {
    ordered_for(conn, municipality, Some(provider_id), month)
}

fn ordered_for(
    conn: &mut DbConn,
    municipality: &Municipality,
    provider_id: Option<&str>,
    month: YearMonth,
) -> Result<std::collections::HashMap<String, OrderedMonth>, StoreError> {
    use super::schema::{client as client_t, order_month as memo_t};
    let convention = municipality
        .month_convention()
        .unwrap_or(MonthConvention::Average);
    let month_key = month.to_string();
    type Row = (
        OrderHead,
        chrono::NaiveDateTime,
        DecisionKind,
        Option<(String, chrono::NaiveDateTime, Option<i64>, String)>,
    );
    let mut q = care_order_t::table
        .inner_join(client_t::table)
        .inner_join(decision_t::table)
        .left_join(
            memo_t::table.on(memo_t::care_order_id
                .eq(care_order_t::id)
                .and(memo_t::month.eq(&month_key))),
        )
        .filter(client_t::municipality_id.eq(&municipality.id))
        .filter(care_order_t::valid_from.le(month.last_day()))
        .filter(
            care_order_t::valid_to
                .is_null()
                .or(care_order_t::valid_to.ge(month.first_day())),
        )
        .select((
            (
                care_order_t::id,
                care_order_t::client_id,
                care_order_t::provider_id,
                care_order_t::valid_from,
                care_order_t::valid_to,
                care_order_t::daily_visits,
            ),
            care_order_t::updated_at,
            decision_t::kind,
            (
                memo_t::convention,
                memo_t::order_updated_at,
                memo_t::minutes,
                memo_t::by_service,
            )
                .nullable(),
        ))
        .into_boxed();
    if let Some(p) = provider_id {
        q = q.filter(care_order_t::provider_id.eq(p.to_string()));
    }
    let mut orders: Vec<Row> = q.load(conn)?;
    orders.sort_by_key(|((_, _, _, from, _, _), ..)| *from);
    // What is remembered and still holds; the rest is computed (and
    // remembered) now.
    let mut known: std::collections::HashMap<String, OrderMinutes> =
        std::collections::HashMap::with_capacity(orders.len());
    let mut stale: Vec<(&str, chrono::NaiveDateTime)> = Vec::new();
    for ((id, ..), updated, _, memo) in &orders {
        let held = memo
            .as_ref()
            .filter(|(conv, at, _, _)| conv == convention.as_str() && at == updated)
            .and_then(|(_, _, minutes, by_service)| {
                // A row that does not read back is computed and written again.
                let by_service = serde_json::from_str(by_service).ok()?;
                Some(OrderMinutes {
                    minutes: *minutes,
                    by_service,
                })
            });
        match held {
            Some(m) => {
                known.insert(id.clone(), m);
            }
            None => stale.push((id.as_str(), *updated)),
        }
    }
    if !stale.is_empty() {
        let ids: Vec<&str> = stale.iter().map(|(id, _)| *id).collect();
        let computed = compute_order_minutes(conn, &ids, month, convention)?;
        // Remembering is an optimisation: where it cannot write (a read
        // replica, a busy SQLite file) the report goes on with what it
        // computed, and the savepoint keeps a caller's transaction usable.
        if let Err(e) = super::transaction(conn, |c| {
            remember(c, &stale, &computed, &month_key, convention)
        }) {
            tracing::warn!(error = %e, "could not remember the orders' minutes of the month");
        }
        known.extend(computed);
    }
    let mut out: std::collections::HashMap<String, OrderedMonth> =
        std::collections::HashMap::with_capacity(orders.len());
    for ((id, client_id, provider_id, from, to, daily), _, kind, _) in orders {
        let Some(OrderMinutes {
            minutes: Some(minutes),
            by_service,
        }) = known.remove(&id)
        else {
            continue;
        };
        let entry = out.entry(client_id).or_default();
        entry.minutes += minutes;
        for (service, m) in by_service {
            *entry.by_service.entry(service).or_default() += m;
        }
        entry.frame |= kind == DecisionKind::Frame;
        entry.provider_id = Some(provider_id.into());
        entry.periods.push((from, to, daily));
    }
    Ok(out)
}

/// An order's minutes in a month: `None` when it has no valid
/// specification; per service from its lines.
#[derive(Debug, Clone)]
struct OrderMinutes {
    minutes: Option<i64>,
    by_service: Vec<(String, i64)>,
}

/// Reads the orders `ids` with their lines and computes their minutes.
fn compute_order_minutes(
    conn: &mut DbConn,
    ids: &[&str],
    month: YearMonth,
    convention: MonthConvention,
) -> Result<std::collections::HashMap<String, OrderMinutes>, StoreError> {
    use super::care_order::OrderLine;
    use super::schema::order_line as line_t;
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let orders: Vec<CareOrder> = care_order_t::table
            .filter(care_order_t::id.eq_any(chunk))
            .select(CareOrder::as_select())
            .load(conn)?;
        let mut lines: std::collections::HashMap<String, Vec<OrderLine>> =
            std::collections::HashMap::new();
        for l in line_t::table
            .filter(line_t::care_order_id.eq_any(chunk))
            .order((line_t::care_order_id, line_t::position))
            .select(OrderLine::as_select())
            .load::<OrderLine>(conn)?
        {
            lines.entry(l.care_order_id.clone()).or_default().push(l);
        }
        for o in orders {
            let own = lines.remove(&o.id).unwrap_or_default();
            let minutes =
                care_order::spec_of(&o.fields, own.iter().map(|l| &l.fields)).map(|spec| {
                    let t = monthly_ordered_time(&spec, month, convention);
                    let mut by_service: BTreeMap<String, i64> = BTreeMap::new();
                    for (line, m) in own.iter().zip(&t.line_minutes) {
                        *by_service
                            .entry(line.fields.service_id.to_string())
                            .or_default() += m;
                    }
                    (t.total_minutes, by_service.into_iter().collect())
                });
            out.insert(
                o.id,
                OrderMinutes {
                    minutes: minutes.as_ref().map(|(m, _)| *m),
                    by_service: minutes.map(|(_, s)| s).unwrap_or_default(),
                },
            );
        }
    }
    Ok(out)
}

/// The columns of an order row that the report reads.
type OrderHead = (
    String,
    String,
    String,
    NaiveDate,
    Option<NaiveDate>,
    Option<i32>,
);

/// Stores the computed minutes of `orders` (id, `updated_at`) in
/// `order_month` with what they depend on (replacing what no longer held;
/// two reports at once write the same).
fn remember(
    conn: &mut DbConn,
    orders: &[(&str, chrono::NaiveDateTime)],
    computed: &std::collections::HashMap<String, OrderMinutes>,
    month_key: &str,
    convention: MonthConvention,
) -> Result<(), StoreError> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    let mut rows = Vec::with_capacity(orders.len());
    for (id, updated) in orders {
        let Some(m) = computed.get(*id) else { continue };
        let by_service =
            serde_json::to_string(&m.by_service).map_err(|e| StoreError::Encode(e.to_string()))?;
        rows.push((*id, *updated, m.minutes, by_service));
    }
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO order_month (care_order_id, month, convention, order_updated_at, minutes, by_service) \
             VALUES {} ON CONFLICT (care_order_id, month) DO UPDATE SET \
             convention = excluded.convention, order_updated_at = excluded.order_updated_at, \
             minutes = excluded.minutes, by_service = excluded.by_service",
            super::figure::placeholders(conn, chunk.len(), 6)
        );
        macro_rules! run {
            ($conn:expr, $backend:ty) => {{
                let mut q = diesel::sql_query(sql).into_boxed::<$backend>();
                for (id, updated, minutes, by_service) in chunk {
                    q = q
                        .bind::<Text, _>(*id)
                        .bind::<Text, _>(month_key)
                        .bind::<Text, _>(convention.as_str())
                        .bind::<Timestamp, _>(*updated)
                        .bind::<Nullable<BigInt>, _>(*minutes)
                        .bind::<Text, _>(by_service.as_str());
                }
                q.execute($conn)?;
            }};
        }
        match conn {
            DbConn::Pg(pg) => run!(pg, diesel::pg::Pg),
            DbConn::Sqlite(s) => run!(s, diesel::sqlite::Sqlite),
        }
    }
    Ok(())
}

/// Reads one client's month; `provider_id` limits it to one provider's
/// orders and visits (what a provider sees).
pub fn read(
    conn: &mut DbConn,
    municipality: &Municipality,
    client_id: &str,
    provider_id: Option<&str>,
    month: YearMonth,
) -> Result<ClientMonth, StoreError> {
    let ordered = ordered(conn, municipality, client_id, provider_id, month)?;
    let ordered_minutes = ordered.minutes;
    let ordered_by_service = ordered.by_service;
    // Visits that started up to two days before the month can reach into it.
    let from = month
        .first_day()
        .checked_sub_days(Days::new(2))
        .unwrap_or(month.first_day());
    // Counted only: their shares and services are not read.
    let visits: Vec<visit::Visit> = visit::shared_by(conn, client_id, from, month.last_day())?
        .into_iter()
        .filter(|v| provider_id.is_none_or(|p| v.fields.provider_id == p))
        .collect();
    let in_month = |v: &visit::Visit| YearMonth::of(v.fields.local_date) == month;
    let count =
        |f: &dyn Fn(&visit::Visit) -> bool| visits.iter().filter(|v| f(v) && in_month(v)).count();
    let mut out = ClientMonth {
        month,
        ordered_minutes,
        ordered_by_service,
        performed: MonthSeconds::default(),
        counted_visits: count(&|v| v.counts()),
        open_visits: count(&|v| v.fields.status == VisitStatus::Open && !v.counts() && !v.voided),
        exception_visits: count(&|v| {
            v.fields.status == VisitStatus::Exception && !v.counts() && !v.voided
        }),
        awaiting_approval: count(&|v| v.needs_approval()),
        declined_visits: visit_event::declined_for_client(
            conn,
            client_id,
            month.first_day(),
            month.last_day(),
        )?
        .iter()
        .filter(|e| provider_id.is_none_or(|p| e.provider_id == p))
        .count(),
    };
    // Performed time from the kept figures (the same numbers the alerts
    // and reports use), not by adding up the visits again.
    let f = super::figure::client_month(conn, client_id, provider_id, month)?;
    out.performed = MonthSeconds {
        total: f.total.seconds,
        unassigned: f.unassigned_seconds(),
        by_service: f
            .by_service
            .iter()
            .map(|(id, a)| (id.clone(), a.seconds))
            .collect(),
    };
    Ok(out)
}
