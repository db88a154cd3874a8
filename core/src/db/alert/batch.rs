//! The changes one run of the rules makes to many alerts, gathered and
//! written together: the new alerts in one statement, the changed ones in
//! one (PostgreSQL) or one each (SQLite, in-process), their history and
//! their outbox entries in one each, per 500 rows. A minute in which
//! hundreds of planned visits cross their threshold at once wrote about
//! four statements per alert, each a round trip (docs/BENCHMARKS.md,
//! section 5).

use super::{Alert, Finding, Outcome, same_json};
use crate::db::schema::{alert, alert_event, alert_history};
use crate::db::unnest::{Column, Query};
use crate::db::{DbConn, StoreError, execute_on, new_id};
use crate::model::{AlertAction, AlertState, ProviderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The condition holds: raise the alert, update it when its figures or
/// message changed, or reopen it if it had been resolved (one alert,
/// written as a run's many are: [`Changes`]).
pub fn raise(c: &mut DbConn, f: &Finding, at: NaiveDateTime) -> Result<Outcome, StoreError> {
    let found = match &f.planned_visit_id {
        Some(plan) => super::of_plan(c, plan, f.kind)?,
        None => super::find(c, &f.client_id, &f.month, f.kind)?,
    };
    let mut changes = Changes::default();
    let outcome = changes.raise(found.as_ref(), f);
    changes.write(c, at)?;
    Ok(outcome)
}

/// Rows per multi-row statement: 15 values each stays far below SQLite's
/// 32,766 and PostgreSQL's 65,535 bound values.
const ROWS: usize = 500;

/// An alert that is new.
struct New {
    id: String,
    finding: Finding,
    figures: String,
}

/// What an alert's row becomes.
struct Change {
    id: String,
    state: AlertState,
    message: String,
    figures: String,
    caseworker_id: Option<UserId>,
    provider_id: Option<ProviderId>,
}

/// One entry of an alert's history (and of the outbox), by the rules.
struct Logged {
    alert_id: String,
    action: AlertAction,
    state: AlertState,
    note: String,
    message: String,
    figures: String,
}

/// The changes, in the order they were made (the outbox keeps it).
#[derive(Default)]
pub struct Changes {
    new: Vec<New>,
    changed: Vec<Change>,
    log: Vec<Logged>,
}

impl Changes {
    /// The condition of `f` holds; `held` is the alert of its kind and
    /// plan (or client and month) if there is one, in any state: raised,
    /// reopened, updated when it says something new, or unchanged.
    pub fn raise(&mut self, held: Option<&Alert>, f: &Finding) -> Outcome {
        let figures = f.figures.to_string();
        let (id, action, state) = match held {
            None => {
                let id = new_id();
                self.new.push(New {
                    id: id.clone(),
                    finding: f.clone(),
                    figures: figures.clone(),
                });
                self.logged(&id, AlertAction::Raised, AlertState::Open, "", f, &figures);
                return Outcome::Raised;
            }
            Some(a) if a.state == AlertState::Resolved => {
                (a.id.clone(), AlertAction::Reopened, AlertState::Open)
            }
            Some(a) if a.message == f.message && same_json(&a.figures, &f.figures) => {
                return Outcome::Unchanged;
            }
            Some(a) => (a.id.clone(), AlertAction::Updated, a.state),
        };
        self.changed.push(Change {
            id: id.clone(),
            state,
            message: f.message.clone(),
            figures: figures.clone(),
            caseworker_id: f.caseworker_id.clone(),
            provider_id: f.provider_id.clone(),
        });
        self.logged(&id, action, state, "", f, &figures);
        match action {
            AlertAction::Reopened => Outcome::Reopened,
            _ => Outcome::Updated,
        }
    }

    /// Resolves `a` (when it is not resolved already) with a message and
    /// figures of what resolved it, e.g. "the check-in came, 20 min
    /// late".
    pub fn resolve(
        &mut self,
        a: &Alert,
        message: &str,
        figures: &serde_json::Value,
        note: &str,
    ) -> Outcome {
        if a.state == AlertState::Resolved {
            return Outcome::Unchanged;
        }
        let figures = figures.to_string();
        self.changed.push(Change {
            id: a.id.clone(),
            state: AlertState::Resolved,
            message: message.to_string(),
            figures: figures.clone(),
            caseworker_id: a.caseworker_id.clone(),
            provider_id: a.provider_id.clone(),
        });
        self.log.push(Logged {
            alert_id: a.id.clone(),
            action: AlertAction::Resolved,
            state: AlertState::Resolved,
            note: note.to_string(),
            message: message.to_string(),
            figures,
        });
        Outcome::Resolved
    }

    fn logged(
        &mut self,
        id: &str,
        action: AlertAction,
        state: AlertState,
        note: &str,
        f: &Finding,
        figures: &str,
    ) {
        self.log.push(Logged {
            alert_id: id.to_string(),
            action,
            state,
            note: note.to_string(),
            message: f.message.clone(),
            figures: figures.to_string(),
        });
    }

    /// Writes it all at `at`: the new alerts, the changed ones, then
    /// their history and outbox entries in the order the changes were
    /// made.
    pub fn write(self, c: &mut DbConn, at: NaiveDateTime) -> Result<(), StoreError> {
        if let DbConn::Pg(pg) = c {
            self.insert_new_pg(pg, at)?;
            self.write_changed(c, at)?;
            if let DbConn::Pg(pg) = c {
                self.insert_log_pg(pg, at)?;
            }
            return Ok(());
        }
        for chunk in self.new.chunks(ROWS) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|n| {
                    let f = &n.finding;
                    (
                        alert::id.eq(n.id.as_str()),
                        alert::municipality_id.eq(&f.municipality_id),
                        alert::client_id.eq(&f.client_id),
                        alert::month.eq(f.month.as_str()),
                        alert::kind.eq(f.kind),
                        alert::rules.eq(f.kind.rules()),
                        alert::audience.eq(f.kind.audience()),
                        alert::caseworker_id.eq(&f.caseworker_id),
                        alert::provider_id.eq(&f.provider_id),
                        alert::state.eq(AlertState::Open),
                        alert::message.eq(f.message.as_str()),
                        alert::figures.eq(n.figures.as_str()),
                        alert::raised_at.eq(at),
                        alert::updated_at.eq(at),
                        alert::planned_visit_id.eq(&f.planned_visit_id),
                    )
                })
                .collect();
            execute_on(c, diesel::insert_into(alert::table).values(rows))?;
        }
        self.write_changed(c, at)?;
        for chunk in self.log.chunks(ROWS) {
            let history: Vec<_> = chunk
                .iter()
                .map(|l| {
                    (
                        alert_history::alert_id.eq(l.alert_id.as_str()),
                        alert_history::at.eq(at),
                        alert_history::action.eq(l.action),
                        alert_history::state.eq(l.state),
                        alert_history::by_user_id.eq(None::<&str>),
                        alert_history::note.eq(l.note.as_str()),
                        alert_history::message.eq(l.message.as_str()),
                        alert_history::figures.eq(l.figures.as_str()),
                    )
                })
                .collect();
            execute_on(c, diesel::insert_into(alert_history::table).values(history))?;
            let events: Vec<_> = chunk
                .iter()
                .map(|l| {
                    (
                        alert_event::alert_id.eq(l.alert_id.as_str()),
                        alert_event::at.eq(at),
                    )
                })
                .collect();
            execute_on(c, diesel::insert_into(alert_event::table).values(events))?;
        }
        Ok(())
    }

    /// [`Changes::write`]'s new alerts on PostgreSQL: one statement, kept
    /// prepared, per 5,000 (a multi-row `VALUES` of 500 was parsed and
    /// planned anew each time, 7,500 values).
    fn insert_new_pg(
        &self,
        pg: &mut diesel::PgConnection,
        at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        for chunk in self.new.chunks(PG_ROWS) {
            fn f(n: &New) -> &Finding {
                &n.finding
            }
            Query::new(INSERT_SQL)
                .bind(Column::Text(chunk.iter().map(|n| n.id.as_str()).collect()))
                .bind(Column::Text(
                    chunk
                        .iter()
                        .map(|n| f(n).municipality_id.as_str())
                        .collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| f(n).client_id.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| f(n).month.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| f(n).kind.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| f(n).kind.rules()).collect(),
                ))
                .bind(Column::Text(
                    chunk
                        .iter()
                        .map(|n| f(n).kind.audience().as_str())
                        .collect(),
                ))
                .bind(Column::OptText(
                    chunk
                        .iter()
                        .map(|n| f(n).caseworker_id.as_ref().map(|u| u.as_str()))
                        .collect(),
                ))
                .bind(Column::OptText(
                    chunk
                        .iter()
                        .map(|n| f(n).provider_id.as_ref().map(|u| u.as_str()))
                        .collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| f(n).message.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|n| n.figures.as_str()).collect(),
                ))
                .bind(Column::OptText(
                    chunk
                        .iter()
                        .map(|n| f(n).planned_visit_id.as_ref().map(|u| u.as_str()))
                        .collect(),
                ))
                .bind(Column::Timestamp(vec![at]))
                .execute(pg)?;
        }
        Ok(())
    }

    /// [`Changes::write`]'s history and outbox entries on PostgreSQL, in
    /// the order the changes were made: one statement, kept prepared, per
    /// 5,000.
    fn insert_log_pg(
        &self,
        pg: &mut diesel::PgConnection,
        at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        for chunk in self.log.chunks(PG_ROWS) {
            Query::new(LOG_SQL)
                .bind(Column::Text(
                    chunk.iter().map(|l| l.alert_id.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|l| l.action.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|l| l.state.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|l| l.note.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|l| l.message.as_str()).collect(),
                ))
                .bind(Column::Text(
                    chunk.iter().map(|l| l.figures.as_str()).collect(),
                ))
                .bind(Column::Timestamp(vec![at]))
                .execute(pg)?;
        }
        Ok(())
    }

    /// The changed alerts' rows: on PostgreSQL one statement, kept
    /// prepared, per 500; on SQLite one each.
    fn write_changed(&self, c: &mut DbConn, at: NaiveDateTime) -> Result<(), StoreError> {
        for chunk in self.changed.chunks(ROWS) {
            match c {
                DbConn::Pg(pg) => {
                    Query::new(UPDATE_SQL)
                        .bind(Column::Text(chunk.iter().map(|x| x.id.as_str()).collect()))
                        .bind(Column::Text(
                            chunk.iter().map(|x| x.state.as_str()).collect(),
                        ))
                        .bind(Column::Text(
                            chunk.iter().map(|x| x.message.as_str()).collect(),
                        ))
                        .bind(Column::Text(
                            chunk.iter().map(|x| x.figures.as_str()).collect(),
                        ))
                        .bind(Column::OptText(
                            chunk
                                .iter()
                                .map(|x| x.caseworker_id.as_ref().map(|u| u.as_str()))
                                .collect(),
                        ))
                        .bind(Column::OptText(
                            chunk
                                .iter()
                                .map(|x| x.provider_id.as_ref().map(|p| p.as_str()))
                                .collect(),
                        ))
                        .bind(Column::Timestamp(vec![at; chunk.len()]))
                        .bind(Column::OptTimestamp(
                            chunk
                                .iter()
                                .map(|x| (x.state == AlertState::Resolved).then_some(at))
                                .collect(),
                        ))
                        .execute(pg)?;
                }
                DbConn::Sqlite(_) => {
                    for x in chunk {
                        diesel::update(alert::table.find(&x.id))
                            .set((
                                alert::state.eq(x.state),
                                alert::message.eq(&x.message),
                                alert::figures.eq(&x.figures),
                                alert::caseworker_id.eq(&x.caseworker_id),
                                alert::provider_id.eq(&x.provider_id),
                                alert::updated_at.eq(at),
                                alert::resolved_at
                                    .eq((x.state == AlertState::Resolved).then_some(at)),
                            ))
                            .execute(c)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Rows per statement on PostgreSQL, where each column is one array.
const PG_ROWS: usize = 5000;

/// [`Changes::insert_new_pg`]: the new alerts, open, raised at the one
/// instant bound last.
const INSERT_SQL: &str = "INSERT INTO alert (id, municipality_id, client_id, month, kind, rules, \
    audience, caseworker_id, provider_id, state, message, figures, raised_at, updated_at, \
    planned_visit_id) \
    SELECT u.id, u.municipality_id, u.client_id, u.month, u.kind, u.rules, u.audience, \
    u.caseworker_id, u.provider_id, 'open', u.message, u.figures, t.at, t.at, u.planned_visit_id \
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
    ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS u(id, municipality_id, client_id, \
    month, kind, rules, audience, caseworker_id, provider_id, message, figures, planned_visit_id), \
    (SELECT (?::timestamp[])[1] AS at) t";

/// [`Changes::insert_log_pg`]: each entry in the history and in the
/// outbox, both in the order given (`seq`), at the instant bound last.
const LOG_SQL: &str = "WITH u AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], \
    ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS u(alert_id, action, state, note, \
    message, figures, n)), t AS (SELECT (?::timestamp[])[1] AS at), \
    h AS (INSERT INTO alert_history (alert_id, at, action, state, by_user_id, note, message, \
    figures) SELECT u.alert_id, t.at, u.action, u.state, NULL, u.note, u.message, u.figures \
    FROM u, t ORDER BY u.n) \
    INSERT INTO alert_event (alert_id, at) SELECT u.alert_id, t.at FROM u, t ORDER BY u.n";

/// [`Changes::write_changed`] on PostgreSQL: each alert by its primary
/// key.
const UPDATE_SQL: &str = "UPDATE alert a SET state = u.state, message = u.message, \
    figures = u.figures, caseworker_id = u.caseworker_id, provider_id = u.provider_id, \
    updated_at = u.at, resolved_at = u.resolved_at \
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
    ?::timestamp[], ?::timestamp[]) AS u(id, state, message, figures, caseworker_id, \
    provider_id, at, resolved_at) WHERE a.id = u.id";
