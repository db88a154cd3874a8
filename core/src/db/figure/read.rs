//! The figures as stored: a client's month and days, a municipality's
//! month.

use crate::db::municipality::Municipality;
use crate::db::schema::{client, figure_day, figure_month, figure_staff_day};
use crate::db::{DbConn, StoreError};
use crate::domain::YearMonth;
use crate::domain::figures::{
    self, Amounts, CellKey, Cells, StaffAmounts, StaffCells, StaffKey, WHOLE,
};
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// A client's month: all providers together, per service and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthFigures {
    /// The whole visits: all time, visit count, declined visits.
    pub total: Amounts,
    /// Per service id (time of visits without services is only in `total`).
    pub by_service: BTreeMap<String, Amounts>,
}

impl MonthFigures {
    /// Time of visits checked out without any service.
    pub fn unassigned_seconds(&self) -> i64 {
        self.total.seconds - self.by_service.values().map(|a| a.seconds).sum::<i64>()
    }
}

type Row = (String, i64, i64, i64, i64);

fn amounts(r: &Row) -> Amounts {
    Amounts {
        seconds: r.1,
        frame_seconds: r.2,
        visits: r.3,
        declined: r.4,
    }
}

/// A client's figures for a month, of one provider if given.
pub fn client_month(
    c: &mut DbConn,
    client_id: &str,
    provider_id: Option<&str>,
    month: YearMonth,
) -> Result<MonthFigures, StoreError> {
    let mut q = figure_month::table
        .filter(figure_month::client_id.eq(client_id))
        .filter(figure_month::month.eq(month.to_string()))
        .select((
            figure_month::service_id,
            figure_month::seconds,
            figure_month::frame_seconds,
            figure_month::visits,
            figure_month::declined,
        ))
        .into_boxed();
    if let Some(p) = provider_id {
        q = q.filter(figure_month::provider_id.eq(p.to_string()));
    }
    let mut out = MonthFigures::default();
    for r in q.load::<Row>(c)? {
        let a = amounts(&r);
        let slot = if r.0 == WHOLE {
            &mut out.total
        } else {
            out.by_service.entry(r.0.clone()).or_default()
        };
        slot.seconds += a.seconds;
        slot.frame_seconds += a.frame_seconds;
        slot.visits += a.visits;
        slot.declined += a.declined;
    }
    out.by_service.retain(|_, a| !a.is_zero());
    Ok(out)
}

/// A client's visits and declined visits per local day of a month (R8).
pub fn client_days(
    c: &mut DbConn,
    client_id: &str,
    month: YearMonth,
) -> Result<BTreeMap<NaiveDate, Amounts>, StoreError> {
    let rows: Vec<(NaiveDate, i64, i64, i64, i64)> = figure_day::table
        .filter(figure_day::client_id.eq(client_id))
        .filter(figure_day::service_id.eq(WHOLE))
        .filter(figure_day::local_date.between(month.first_day(), month.last_day()))
        .select((
            figure_day::local_date,
            figure_day::seconds,
            figure_day::frame_seconds,
            figure_day::visits,
            figure_day::declined,
        ))
        .load(c)?;
    let mut out: BTreeMap<NaiveDate, Amounts> = BTreeMap::new();
    for (d, s, f, v, dec) in rows {
        let a = out.entry(d).or_default();
        a.seconds += s;
        a.frame_seconds += f;
        a.visits += v;
        a.declined += dec;
    }
    Ok(out)
}

/// The seconds performed in a month for each client of a provider (its
/// part only; clients without any are absent): one read for a care
/// worker's list of clients.
pub fn provider_month_seconds(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    Ok(figure_month::table
        .filter(figure_month::provider_id.eq(provider_id))
        .filter(figure_month::month.eq(month.to_string()))
        .filter(figure_month::service_id.eq(WHOLE))
        .select((figure_month::client_id, figure_month::seconds))
        .load::<(String, i64)>(c)?
        .into_iter()
        .fold(std::collections::HashMap::new(), |mut m, (client, s)| {
            *m.entry(client).or_default() += s;
            m
        }))
}

/// Every figure of a municipality's month: (client, provider, service, amounts).
pub fn municipality_month(
    c: &mut DbConn,
    municipality_id: &str,
    month: YearMonth,
) -> Result<Vec<(String, String, String, Amounts)>, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(municipality_id))
        .select(client::id);
    Ok(figure_month::table
        .filter(figure_month::month.eq(month.to_string()))
        .filter(figure_month::client_id.eq_any(clients))
        .select((
            figure_month::client_id,
            figure_month::provider_id,
            figure_month::service_id,
            figure_month::seconds,
            figure_month::frame_seconds,
            figure_month::visits,
            figure_month::declined,
        ))
        .load::<(String, String, String, i64, i64, i64, i64)>(c)?
        .into_iter()
        .map(|(cl, p, s, sec, f, v, d)| {
            (
                cl,
                p,
                s,
                Amounts {
                    seconds: sec,
                    frame_seconds: f,
                    visits: v,
                    declined: d,
                },
            )
        })
        .collect())
}

/// The stored measures' figures of a municipality's month (non-zero), to
/// compare with [`compute_staff_month`].
pub fn stored_staff_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
) -> Result<StaffCells, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let rows: Vec<(String, NaiveDate, String, i64, i64, i64, i64)> = figure_staff_day::table
        .filter(figure_staff_day::local_date.between(month.first_day(), month.last_day()))
        .filter(figure_staff_day::client_id.eq_any(clients))
        .select((
            figure_staff_day::client_id,
            figure_staff_day::local_date,
            figure_staff_day::staff_id,
            figure_staff_day::visits,
            figure_staff_day::seconds,
            figure_staff_day::verified,
            figure_staff_day::daytime,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(
            |(client_id, local_date, staff_id, visits, seconds, verified, daytime)| {
                (
                    StaffKey {
                        client_id: client_id.into(),
                        local_date,
                        staff_id: staff_id.into(),
                    },
                    StaffAmounts {
                        visits,
                        seconds,
                        verified,
                        daytime,
                    },
                )
            },
        )
        .filter(|(_, a)| !figures::CellAmounts::is_zero(a))
        .collect())
}

/// The stored day figures of a municipality's month (non-zero cells), to
/// compare with [`compute_month`].
pub fn stored_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
) -> Result<Cells, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    type DayRow = (String, String, NaiveDate, String, i64, i64, i64, i64);
    let rows: Vec<DayRow> = figure_day::table
        .filter(figure_day::local_date.between(month.first_day(), month.last_day()))
        .filter(figure_day::client_id.eq_any(clients))
        .select((
            figure_day::client_id,
            figure_day::provider_id,
            figure_day::local_date,
            figure_day::service_id,
            figure_day::seconds,
            figure_day::frame_seconds,
            figure_day::visits,
            figure_day::declined,
        ))
        .load(c)?;
    let mut cells = Cells::new();
    for (client_id, provider_id, local_date, service_id, s, f, v, d) in rows {
        cells.insert(
            CellKey {
                client_id: client_id.into(),
                provider_id: provider_id.into(),
                local_date,
                service_id: service_id.into(),
            },
            Amounts {
                seconds: s,
                frame_seconds: f,
                visits: v,
                declined: d,
            },
        );
    }
    figures::prune(&mut cells);
    Ok(cells)
}
