//! The alerts of planned visits: one per plan and kind, read by plan
//! with what people did with them (the rules write them through
//! [`super::Changes`]).

use super::Alert;
use crate::db::schema::{alert, alert_history};
use crate::db::unnest::{Column, Query};
use crate::db::{DbConn, StoreError};
use crate::model::{AlertAction, AlertState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// The alerts of the planned visits `plans` that are not resolved.
pub fn open_of_plans(c: &mut DbConn, plans: &[&str]) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    for chunk in plans.chunks(500) {
        out.extend(
            alert::table
                .filter(alert::planned_visit_id.eq_any(chunk))
                .filter(alert::state.ne(AlertState::Resolved))
                .select(Alert::as_select())
                .load::<Alert>(c)?,
        );
    }
    Ok(out)
}

/// [`of_plans`] on PostgreSQL. The partial index serves only a query
/// that says `planned_visit_id IS NOT NULL` itself: the join's `=` does
/// not prove it to the planner, and each plan read the whole table.
const OF_PLANS_SQL: &str = "SELECT r.* FROM (SELECT DISTINCT unnest(?::text[]) AS id) e \
    CROSS JOIN LATERAL (SELECT * FROM alert \
        WHERE planned_visit_id = e.id AND planned_visit_id IS NOT NULL OFFSET 0) r";

/// Every alert of the planned visits `plans`, in any state.
pub fn of_plans(c: &mut DbConn, plans: &[&str]) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    for chunk in plans.chunks(500) {
        match c {
            // By the unique index on plan and kind, one plan at a time (a
            // generic plan of `= ANY` read the whole table).
            DbConn::Pg(pg) => out.extend(
                Query::new(OF_PLANS_SQL)
                    .bind(Column::Text(chunk.to_vec()))
                    .load::<Alert>(pg)?,
            ),
            DbConn::Sqlite(_) => out.extend(
                alert::table
                    .filter(alert::planned_visit_id.eq_any(chunk))
                    .select(Alert::as_select())
                    .load::<Alert>(c)?,
            ),
        }
    }
    Ok(out)
}

/// How people have answered the alerts of planned visits.
#[derive(Debug, Default)]
pub struct Answers {
    /// The plans with an alert a person has acknowledged or resolved (a
    /// late alert acknowledged, then resolved when the visit was missed,
    /// counts).
    pub plans: BTreeSet<String>,
    /// The alerts a person has resolved, and when they last did.
    pub resolved: HashMap<String, NaiveDateTime>,
}

/// A person's answer to an alert of a plan.
#[derive(Queryable, QueryableByName)]
struct Answer {
    #[diesel(sql_type = diesel::sql_types::Text)]
    planned_visit_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    alert_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: AlertAction,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    at: NaiveDateTime,
}

/// [`answers`] on PostgreSQL: each plan's alerts by the unique index on
/// plan and kind, each alert's history by its index.
const ANSWERS_SQL: &str = "SELECT a.planned_visit_id, a.id AS alert_id, h.action, h.at \
    FROM (SELECT DISTINCT unnest(?::text[]) AS id) e \
    CROSS JOIN LATERAL (SELECT id, planned_visit_id FROM alert \
        WHERE planned_visit_id = e.id AND planned_visit_id IS NOT NULL OFFSET 0) a \
    CROSS JOIN LATERAL (SELECT action, at FROM alert_history WHERE alert_id = a.id \
        AND by_user_id IS NOT NULL AND action IN ('acknowledged', 'resolved') OFFSET 0) h";

/// How people have answered the alerts of the planned visits `plans`.
pub fn answers(c: &mut DbConn, plans: &[&str]) -> Result<Answers, StoreError> {
    let mut out = Answers::default();
    for chunk in plans.chunks(500) {
        let rows: Vec<Answer> = match c {
            DbConn::Pg(pg) => Query::new(ANSWERS_SQL)
                .bind(Column::Text(chunk.to_vec()))
                .load(pg)?,
            DbConn::Sqlite(_) => alert_history::table
                .inner_join(alert::table)
                .filter(alert::planned_visit_id.eq_any(chunk))
                .filter(alert_history::by_user_id.is_not_null())
                .filter(
                    alert_history::action
                        .eq_any([AlertAction::Acknowledged, AlertAction::Resolved]),
                )
                .select((
                    alert::planned_visit_id.assume_not_null(),
                    alert::id,
                    alert_history::action,
                    alert_history::at,
                ))
                .load(c)?,
        };
        for r in rows {
            out.plans.insert(r.planned_visit_id);
            if r.action == AlertAction::Resolved {
                let last = out.resolved.entry(r.alert_id).or_insert(r.at);
                *last = (*last).max(r.at);
            }
        }
    }
    Ok(out)
}
