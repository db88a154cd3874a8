//! Performed-time figures per client, provider, local day and service, and
//! per month: kept incrementally as visits change (in the same transaction
//! as the change), so reading a month never rescans visits or events.
//! [`rebuild_month`] recomputes a month from the visits; a test checks the
//! two agree.

use super::municipality::Municipality;
use super::schema::{client, figure_day, figure_month, figure_staff_day, visit, visit_event};
use super::sql::{Statement, Value, markers};
use super::visit::Visit;
use super::{DbConn, StoreError, now};
use crate::domain::Rules;
use crate::domain::YearMonth;
use crate::domain::figures::{
    self, Amounts, CellKey, Cells, Figures, FrameWindow, StaffAmounts, StaffCells, StaffKey,
    VisitFigureInput, WHOLE,
};
use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// What the figures need of visits `ids` (those that exist).
pub fn inputs(c: &mut DbConn, ids: &[&str]) -> Result<Vec<VisitFigureInput>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let visits: Vec<Visit> = visit::table
        .filter(visit::id.eq_any(ids))
        .select(Visit::as_select())
        .load(c)?;
    inputs_of(c, visits)
}

fn inputs_of(c: &mut DbConn, visits: Vec<Visit>) -> Result<Vec<VisitFigureInput>, StoreError> {
    let visits: Vec<Visit> = visits.into_iter().filter(Visit::counts).collect();
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut attributions = super::visit::attributions(c, &ids)?;
    Ok(visits
        .iter()
        .filter_map(|v| input_of(v, &attributions.remove(&v.id).unwrap_or_default()))
        .collect())
}

/// What the figures need of visit `v` with its shares and services, if it
/// counts.
pub fn input_of(v: &Visit, a: &super::visit::Attribution) -> Option<VisitFigureInput> {
    if !v.counts() {
        return None;
    }
    let (start, end) = (v.start()?, v.end()?);
    let mut services: Vec<(String, String, i64)> = a
        .services
        .iter()
        .filter(|s| !s.declined)
        .map(|s| {
            (
                s.client_id.clone(),
                s.service_id.clone(),
                i64::from(s.seconds),
            )
        })
        .collect();
    services.sort();
    let shares = if a.shares.is_empty() {
        vec![(v.fields.client_id.clone(), 10_000)]
    } else {
        a.shares
            .iter()
            .map(|s| (s.client_id.clone(), i64::from(s.basis_points)))
            .collect()
    };
    Some(VisitFigureInput {
        client_id: v.fields.client_id.clone(),
        staff_id: v.fields.staff_id.clone(),
        verified: v.fields.verified && !v.corrected(),
        provider_id: v.fields.provider_id.clone(),
        local_date: v.fields.local_date,
        counts: true,
        double_staffing: v.fields.double_staffing,
        start,
        end,
        shares,
        services,
    })
}

/// The change between the visits as they were and as they are.
pub fn delta(
    before: &[VisitFigureInput],
    after: &[VisitFigureInput],
    tz: Tz,
    window: FrameWindow,
) -> Figures {
    let mut f = Figures::default();
    f.add_visits(before, tz, window, -1);
    f.add_visits(after, tz, window, 1);
    f.prune();
    f
}

/// Runs `f`, which changes visits `ids`, and brings the figures along.
pub fn track<T>(
    c: &mut DbConn,
    ids: &[&str],
    rules: Rules,
    f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let before = inputs(c, ids)?;
    let out = f(c)?;
    let after = inputs(c, ids)?;
    apply(c, &delta(&before, &after, rules.tz, rules.window))?;
    Ok(out)
}

/// The rules of the municipality a visit's client belongs to.
pub fn rules_for_visit(c: &mut DbConn, visit_id: &str) -> Result<Rules, StoreError> {
    let municipality_id: String = visit::table
        .inner_join(client::table.on(client::id.eq(visit::client_id)))
        .filter(visit::id.eq(visit_id))
        .select(client::municipality_id)
        .first(c)?;
    let m = super::municipality::get(c, &municipality_id)?;
    m.rules()
        .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))
}

/// Adds `f` to the day, month and measures' figures and marks the
/// client-months of its time figures for the alert rules.
pub fn apply(c: &mut DbConn, f: &Figures) -> Result<(), StoreError> {
    apply_marking(c, f, &BTreeSet::new())
}

/// [`apply`], marking the client-months of `also` (client id, month) for
/// the alert rules too, in the same statement.
pub fn apply_marking(
    c: &mut DbConn,
    f: &Figures,
    also: &BTreeSet<(String, String)>,
) -> Result<(), StoreError> {
    let staff: Vec<(&StaffKey, &StaffAmounts)> = f.staff.iter().collect();
    for chunk in staff.chunks(500) {
        upsert_staff(c, chunk)?;
    }
    let cells = &f.cells;
    if cells.is_empty() {
        return mark_dirty(c, also.iter().map(|(cl, m)| (cl.as_str(), m.as_str())));
    }
    let mut months: BTreeMap<(String, String, String, String), Amounts> = BTreeMap::new();
    for (k, a) in cells {
        let m = months
            .entry((
                k.client_id.clone(),
                k.provider_id.clone(),
                YearMonth::of(k.local_date).to_string(),
                k.service_id.clone(),
            ))
            .or_default();
        m.seconds += a.seconds;
        m.frame_seconds += a.frame_seconds;
        m.visits += a.visits;
        m.declined += a.declined;
    }
    let days: Vec<(&CellKey, &Amounts)> = cells.iter().collect();
    for chunk in days.chunks(500) {
        upsert(
            c,
            "figure_day",
            "local_date",
            chunk.iter().map(|(k, a)| {
                (
                    k.client_id.as_str(),
                    k.provider_id.as_str(),
                    Key::Date(k.local_date),
                    k.service_id.as_str(),
                    **a,
                )
            }),
        )?;
    }
    let rows: Vec<_> = months.iter().collect();
    for chunk in rows.chunks(500) {
        upsert(
            c,
            "figure_month",
            "month",
            chunk.iter().map(|((cl, p, m, s), a)| {
                (
                    cl.as_str(),
                    p.as_str(),
                    Key::Month(m.as_str()),
                    s.as_str(),
                    **a,
                )
            }),
        )?;
    }
    let dirty: BTreeSet<(&str, String)> = months
        .keys()
        .map(|(cl, _, m, _)| (cl.as_str(), m.clone()))
        .chain(also.iter().map(|(cl, m)| (cl.as_str(), m.clone())))
        .collect();
    mark_dirty(c, dirty.iter().map(|(cl, m)| (*cl, m.as_str())))
}

/// The date column of a figure table: a day or a month.
enum Key<'a> {
    Date(NaiveDate),
    Month(&'a str),
}

/// `INSERT … ON CONFLICT DO UPDATE` adding the amounts (raw SQL: diesel's
/// multi-backend connection has no upsert), on the connection's own backend.
fn upsert<'a>(
    c: &mut DbConn,
    table: &str,
    date_column: &str,
    rows: impl Iterator<Item = (&'a str, &'a str, Key<'a>, &'a str, Amounts)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} (client_id, provider_id, {date_column}, service_id, seconds, frame_seconds, visits, declined) \
         VALUES {} ON CONFLICT (client_id, provider_id, {date_column}, service_id) DO UPDATE SET \
         seconds = {table}.seconds + excluded.seconds, \
         frame_seconds = {table}.frame_seconds + excluded.frame_seconds, \
         visits = {table}.visits + excluded.visits, \
         declined = {table}.declined + excluded.declined",
        markers(rows.len(), 8)
    );
    let mut q = Statement::for_rows(&sql, rows.len());
    for (client_id, provider_id, key, service_id, a) in rows {
        q = q
            .bind(Value::Text(client_id))
            .bind(Value::Text(provider_id));
        q = q.bind(match key {
            Key::Date(d) => Value::Date(d),
            Key::Month(m) => Value::Text(m),
        });
        q = q
            .bind(Value::Text(service_id))
            .bind(Value::BigInt(a.seconds))
            .bind(Value::BigInt(a.frame_seconds))
            .bind(Value::BigInt(a.visits))
            .bind(Value::BigInt(a.declined));
    }
    q.execute(c)?;
    Ok(())
}

/// [`upsert`] for the measures' figures.
fn upsert_staff(c: &mut DbConn, rows: &[(&StaffKey, &StaffAmounts)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO figure_staff_day (client_id, local_date, staff_id, visits, seconds, verified, daytime) \
         VALUES {} ON CONFLICT (client_id, local_date, staff_id) DO UPDATE SET \
         visits = figure_staff_day.visits + excluded.visits, \
         seconds = figure_staff_day.seconds + excluded.seconds, \
         verified = figure_staff_day.verified + excluded.verified, \
         daytime = figure_staff_day.daytime + excluded.daytime",
        markers(rows.len(), 7)
    );
    let mut q = Statement::for_rows(&sql, rows.len());
    for (k, a) in rows {
        q = q
            .bind(Value::Text(&k.client_id))
            .bind(Value::Date(k.local_date))
            .bind(Value::Text(&k.staff_id))
            .bind(Value::BigInt(a.visits))
            .bind(Value::BigInt(a.seconds))
            .bind(Value::BigInt(a.verified))
            .bind(Value::BigInt(a.daytime));
    }
    q.execute(c)?;
    Ok(())
}

/// `(…), (…)` bind markers for a multi-row insert on the connection's
/// backend: `$1, $2, …` on PostgreSQL, `?` on SQLite.
pub(crate) fn placeholders(c: &DbConn, rows: usize, columns: usize) -> String {
    let pg = matches!(c, DbConn::Pg(_));
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|k| {
                    if pg {
                        format!("${}", r * columns + k)
                    } else {
                        "?".into()
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Marks client-months for re-evaluation of their alerts.
pub fn mark_dirty<'a>(
    c: &mut DbConn,
    client_months: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &str)> = client_months.collect();
    let at = now();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO figure_dirty (client_id, month, marked_at) VALUES {} \
             ON CONFLICT (client_id, month) DO UPDATE SET marked_at = excluded.marked_at",
            markers(chunk.len(), 3)
        );
        let mut q = Statement::for_rows(&sql, chunk.len());
        for (client_id, month) in chunk {
            q = q
                .bind(Value::Text(client_id))
                .bind(Value::Text(month))
                .bind(Value::Timestamp(at));
        }
        q.execute(c)?;
    }
    Ok(())
}

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

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub visits: usize,
    pub declined: usize,
    pub day_cells: usize,
}

/// Recomputes a municipality's figures for `month` from its visits and
/// declined visits, replacing what was kept incrementally (the measures'
/// figures too).
pub fn rebuild_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
) -> Result<Rebuilt, StoreError> {
    let rules = m
        .rules()
        .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))?;
    super::transaction(c, |c| {
        // One read of the month's visits for both kinds of figures.
        let (figures, visits, declined) = compute_month_figures(c, m, month, rules)?;
        let clients = client::table
            .filter(client::municipality_id.eq(&m.id))
            .select(client::id);
        diesel::delete(
            figure_day::table
                .filter(figure_day::local_date.between(month.first_day(), month.last_day()))
                .filter(figure_day::client_id.eq_any(clients)),
        )
        .execute(c)?;
        let clients = client::table
            .filter(client::municipality_id.eq(&m.id))
            .select(client::id);
        diesel::delete(
            figure_month::table
                .filter(figure_month::month.eq(month.to_string()))
                .filter(figure_month::client_id.eq_any(clients)),
        )
        .execute(c)?;
        delete_staff_month(c, m, month)?;
        apply(c, &figures)?;
        Ok(Rebuilt {
            visits,
            declined,
            day_cells: figures.cells.len(),
        })
    })
}

/// Deletes the measures' figures of a municipality's month.
fn delete_staff_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
) -> Result<(), StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    diesel::delete(
        figure_staff_day::table
            .filter(figure_staff_day::local_date.between(month.first_day(), month.last_day()))
            .filter(figure_staff_day::client_id.eq_any(clients)),
    )
    .execute(c)?;
    Ok(())
}

/// Recomputes the measures' figures of a municipality's `month` from its
/// visits; returns how many cells it wrote.
pub fn rebuild_staff_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    rules: Rules,
) -> Result<usize, StoreError> {
    super::transaction(c, |c| {
        let staff = compute_staff_month(c, m, month, rules)?;
        delete_staff_month(c, m, month)?;
        let n = staff.len();
        apply(
            c,
            &Figures {
                cells: Cells::new(),
                staff,
            },
        )?;
        Ok(n)
    })
}

/// Fills the measures' figures of every municipality's months from their
/// visits (after the migration that added them); returns the cells.
pub fn rebuild_all_staff(c: &mut DbConn) -> Result<usize, StoreError> {
    let mut n = 0;
    for m in super::municipality::list(c)? {
        let Some(rules) = m.rules() else { continue };
        let clients = client::table
            .filter(client::municipality_id.eq(&m.id))
            .select(client::id);
        let span: (Option<NaiveDate>, Option<NaiveDate>) = visit::table
            .filter(visit::client_id.eq_any(clients))
            .select((
                diesel::dsl::min(visit::local_date),
                diesel::dsl::max(visit::local_date),
            ))
            .first(c)?;
        let (Some(first), Some(last)) = span else {
            continue;
        };
        let mut month = YearMonth::of(first);
        while month <= YearMonth::of(last) {
            n += rebuild_staff_month(c, &m, month, rules)?;
            month = month.next();
        }
    }
    Ok(n)
}

/// The measures' figures of a municipality's month computed from scratch.
pub fn compute_staff_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    rules: Rules,
) -> Result<StaffCells, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let visits: Vec<Visit> = visit::table
        .filter(visit::local_date.between(month.first_day(), month.last_day()))
        .filter(visit::client_id.eq_any(clients))
        .select(Visit::as_select())
        .load(c)?;
    let no_attribution = super::visit::Attribution::default();
    let mut staff = StaffCells::new();
    for v in &visits {
        if let Some(input) = input_of(v, &no_attribution) {
            figures::add_staff(&mut staff, &input, rules.tz, 1);
        }
    }
    figures::prune(&mut staff);
    Ok(staff)
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
                        client_id,
                        local_date,
                        staff_id,
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

/// The figures of a municipality's month computed from scratch: the cells,
/// how many visits counted and how many declined visits there were.
pub fn compute_month(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    rules: Rules,
) -> Result<(Cells, usize, usize), StoreError> {
    let (figures, visits, declined) = compute_month_figures(c, m, month, rules)?;
    Ok((figures.cells, visits, declined))
}

/// [`compute_month`] with the measures' figures of the month too, from
/// the same read of the visits.
fn compute_month_figures(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    rules: Rules,
) -> Result<(Figures, usize, usize), StoreError> {
    // A visit is listed under the day it started: take those that started
    // shortly before the month too, as they can reach into it.
    let margin = Days::new(u64::try_from(rules.max_seconds / 86_400).unwrap_or(0) + 2);
    let from = month
        .first_day()
        .checked_sub_days(margin)
        .unwrap_or(month.first_day());
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let visits: Vec<Visit> = visit::table
        .filter(visit::local_date.between(from, month.last_day()))
        .filter(visit::client_id.eq_any(clients))
        .select(Visit::as_select())
        .load(c)?;
    let inputs = inputs_of(c, visits)?;
    let mut cells = Cells::new();
    for v in &inputs {
        figures::add_visit(&mut cells, v, rules.tz, rules.window, 1);
    }
    cells.retain(|k, _| YearMonth::of(k.local_date) == month);
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let declined: Vec<(String, String, NaiveDate)> = visit_event::table
        .filter(visit_event::kind.eq("declined"))
        .filter(visit_event::local_date.between(month.first_day(), month.last_day()))
        .filter(visit_event::client_id.eq_any(clients))
        .select((
            visit_event::client_id,
            visit_event::provider_id,
            visit_event::local_date,
        ))
        .load(c)?;
    for (client_id, provider_id, day) in &declined {
        figures::add_declined(&mut cells, client_id, provider_id, *day, 1);
    }
    figures::prune(&mut cells);
    let mut staff = StaffCells::new();
    let mut counted = 0;
    for v in inputs
        .iter()
        .filter(|v| YearMonth::of(v.local_date) == month)
    {
        figures::add_staff(&mut staff, v, rules.tz, 1);
        counted += 1;
    }
    figures::prune(&mut staff);
    Ok((Figures { cells, staff }, counted, declined.len()))
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
                client_id,
                provider_id,
                local_date,
                service_id,
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
