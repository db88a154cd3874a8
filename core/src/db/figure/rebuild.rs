//! The figures recomputed from the visits: to repair them, and for the
//! tests and the simulator to compare with those kept incrementally.

use super::{apply, input_of, inputs_of};
use crate::db::municipality::Municipality;
use crate::db::schema::{client, figure_day, figure_month, figure_staff_day, visit, visit_event};
use crate::db::visit::{Attribution, Visit};
use crate::db::{self, DbConn, StoreError};
use crate::domain::figures::{self, Cells, Figures, StaffCells};
use crate::domain::{Rules, YearMonth};
use chrono::{Days, NaiveDate};
use diesel::prelude::*;

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
    db::transaction(c, |c| {
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
    db::transaction(c, |c| {
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
    for m in db::municipality::list(c)? {
        // As in `rebuild_month`: a municipality whose stored time zone does
        // not read is an error, not a municipality without figures.
        let rules = m
            .rules()
            .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))?;
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
    let no_attribution = Attribution::default();
    let mut staff = StaffCells::new();
    for v in &visits {
        if let Some(input) = input_of(v, &no_attribution) {
            figures::add_staff(&mut staff, &input, rules.tz, 1);
        }
    }
    figures::prune(&mut staff);
    Ok(staff)
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
        .filter(visit_event::kind.eq(crate::domain::EventKind::Declined))
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
