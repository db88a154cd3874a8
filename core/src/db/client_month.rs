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
    pub provider_id: Option<String>,
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
                .entry(line.line.fields.service_id.clone())
                .or_default() += minutes;
        }
        let kind: String = decision_t::table
            .find(&o.fields.decision_id)
            .select(decision_t::kind)
            .first(conn)?;
        out.frame |= kind == "frame";
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
/// queries, whatever the number of clients): for reports.
pub fn ordered_for_municipality(
    conn: &mut DbConn,
    municipality: &Municipality,
    month: YearMonth,
) -> Result<BTreeMap<String, OrderedMonth>, StoreError> {
    use super::care_order::OrderLine;
    use super::schema::{client as client_t, order_line as line_t};
    let convention = municipality
        .month_convention()
        .unwrap_or(MonthConvention::Average);
    // Three joined reads: the month's orders with their decision's kind,
    // and their lines (a list of ids per chunk cost tens of round trips
    // for a large municipality).
    let in_month = care_order_t::valid_from.le(month.last_day()).and(
        care_order_t::valid_to
            .is_null()
            .or(care_order_t::valid_to.ge(month.first_day())),
    );
    let mut orders: Vec<(CareOrder, String)> = care_order_t::table
        .inner_join(client_t::table)
        .inner_join(decision_t::table)
        .filter(client_t::municipality_id.eq(&municipality.id))
        .filter(in_month)
        .select((CareOrder::as_select(), decision_t::kind))
        .load(conn)?;
    orders.sort_by_key(|(o, _)| o.fields.valid_from);
    let mut lines: BTreeMap<String, Vec<OrderLine>> = BTreeMap::new();
    for l in line_t::table
        .inner_join(care_order_t::table.inner_join(client_t::table))
        .filter(client_t::municipality_id.eq(&municipality.id))
        .filter(in_month)
        .order((line_t::care_order_id, line_t::position))
        .select(OrderLine::as_select())
        .load::<OrderLine>(conn)?
    {
        lines.entry(l.care_order_id.clone()).or_default().push(l);
    }
    let mut out: BTreeMap<String, OrderedMonth> = BTreeMap::new();
    for (o, kind) in orders {
        let f = &o.fields;
        let own = lines.remove(&o.id).unwrap_or_default();
        let spec = care_order::spec_of(f, own.iter().map(|l| &l.fields));
        let Some(spec) = spec else { continue };
        let t = monthly_ordered_time(&spec, month, convention);
        let entry = out.entry(f.client_id.clone()).or_default();
        entry.minutes += t.total_minutes;
        for (line, minutes) in own.iter().zip(&t.line_minutes) {
            *entry
                .by_service
                .entry(line.fields.service_id.clone())
                .or_default() += minutes;
        }
        entry.frame |= kind == "frame";
        entry.provider_id = Some(f.provider_id.clone());
        entry
            .periods
            .push((f.valid_from, f.valid_to, f.daily_visits));
    }
    Ok(out)
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
    let visits: Vec<visit::ClientVisit> =
        visit::for_client(conn, client_id, from, month.last_day())?
            .into_iter()
            .filter(|cv| provider_id.is_none_or(|p| cv.visit.fields.provider_id == p))
            .collect();
    let in_month = |v: &visit::Visit| YearMonth::of(v.fields.local_date) == month;
    let count = |f: &dyn Fn(&visit::Visit) -> bool| {
        visits
            .iter()
            .filter(|cv| f(&cv.visit) && in_month(&cv.visit))
            .count()
    };
    let mut out = ClientMonth {
        month,
        ordered_minutes,
        ordered_by_service,
        performed: MonthSeconds::default(),
        counted_visits: count(&|v| v.counts()),
        open_visits: count(&|v| v.fields.status == "open" && !v.counts() && !v.voided),
        exception_visits: count(&|v| v.fields.status == "exception" && !v.counts() && !v.voided),
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
