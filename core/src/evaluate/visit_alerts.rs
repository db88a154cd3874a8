//! Live punctuality alerts (issue 25): each planned visit of today and
//! yesterday that is late or missed at an instant gets an alert of its
//! own for the provider; the alert is resolved the moment a check-in
//! keeps the plan (and then says how late it came), and the client's
//! caseworker is told only when the provider has not acknowledged within
//! the municipality's escalation time. The clock is a parameter:
//! `hemtid serve` runs this every minute, at each plan's threshold and
//! when an event arrives for a client with an open alert; tests travel
//! in time.
//!
//! Per plan only: nothing here is a figure per care worker. A planned
//! care worker's phone appears only as the caveat that a check-in may be
//! waiting on it offline.

use super::Evaluation;
use super::punctuality::{self, PlanAt, planned, tolerances};
use crate::db::alert::{self, Alert, Finding};
use crate::db::municipality::{self, Municipality};
use crate::db::{DbConn, StoreError, client, planned_visit, visited_day};
use crate::domain::punctuality::{MatchLimits, Planned, State, Tolerances};
use crate::domain::split::local_midnight;
use crate::domain::{YearMonth, local_date};
use crate::model::{AlertKind, AlertState};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// What a run changed, and when the next plan crosses a threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    pub evaluation: Evaluation,
    /// The earliest instant after the run at which a plan evaluated
    /// becomes late, missed or due for escalation.
    pub next: Option<DateTime<Utc>>,
}

impl Live {
    fn next_at(&mut self, at: DateTime<Utc>, now: DateTime<Utc>) {
        if at > now {
            self.next = Some(self.next.map_or(at, |n| n.min(at)));
        }
    }

    fn add(&mut self, o: Live) {
        self.evaluation.add(o.evaluation);
        if let Some(n) = o.next {
            self.next = Some(self.next.map_or(n, |m| m.min(n)));
        }
    }
}

/// Every municipality's planned visits at `now`.
pub fn all(c: &mut DbConn, now: DateTime<Utc>) -> Result<Live, StoreError> {
    let mut out = Live::default();
    for m in municipality::list(c)? {
        out.add(of_municipality(c, &m, now)?);
    }
    // The instants just written included: one read of the index.
    if let Some(next) = planned_visit::next_due_after(c, now.naive_utc())? {
        out.next_at(next.and_utc(), now);
    }
    Ok(out)
}

/// A municipality's planned visits of today and yesterday (local) at
/// `now`, in one transaction. Only these plans are judged: those whose
/// instant to be judged has come (`planned_visit_due.due_at`: the instant one
/// becomes late, missed or due for escalation, or at once when one of its
/// alerts was acknowledged, the plan was sent again or the tolerances
/// changed), and those of each client's day asked for (`visited_day`: a
/// visit of the client was recorded, corrected or voided that day or the
/// day either side). Each is matched with every plan of its client on
/// its day, so a visit keeps the plan it keeps on the whole day; each
/// gets its next instant, written only where it changes, or none when
/// only such a change can alter its alerts.
pub fn of_municipality(
    c: &mut DbConn,
    m: &Municipality,
    now: DateTime<Utc>,
) -> Result<Live, StoreError> {
    let tz = m
        .tz()
        .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))?;
    let today = local_date(now, tz);
    let days = [today.pred_opt().unwrap_or(today), today];
    crate::db::transaction(c, |c| {
        let mut out = Live::default();
        let at = now.naive_utc();
        let tol = tolerances(&m.settings);
        let limits = MatchLimits::default();
        // The plans whose instant has come. Of other days than those
        // judged: those before are no longer judged (their instant is
        // cleared), those after wait for their latest start.
        let (due, other): (Vec<_>, Vec<_>) = planned_visit::due(c, &m.id, at)?
            .into_iter()
            .partition(|d| days.contains(&d.local_date));
        let put_off: Vec<(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)> = other
            .iter()
            .map(|d| {
                let next = (d.local_date > days[1]).then_some(d.latest_start);
                (d.id.as_str(), d.due_at, next)
            })
            .collect();
        planned_visit::set_due(c, &put_off)?;
        let asked = visited_day::of_municipality(c, &m.id)?;
        // Each client's day asked for, and the days either side within
        // the judged ones: a visit near midnight may keep a plan of either.
        let asked_days: BTreeSet<(&str, NaiveDate)> = asked
            .iter()
            .flat_map(|a| {
                let d = a.local_date;
                [d.pred_opt(), Some(d), d.succ_opt()]
                    .into_iter()
                    .flatten()
                    .filter(|d| days.contains(d))
                    .map(|d| (a.client_id.as_str(), d))
            })
            .collect();
        let asked_on: BTreeSet<(&str, NaiveDate)> = asked
            .iter()
            .map(|a| (a.client_id.as_str(), a.local_date))
            .collect();
        let due_ids: BTreeSet<&str> = due.iter().map(|d| d.id.as_str()).collect();
        // The plans judged: those due, those of a day asked for, and those
        // of the days either side that a visit of that day could keep
        // (its start within the matching limits of their window).
        let judged = |p: &planned_visit::Plan| {
            let (client, day) = (p.plan.client_id.as_str(), p.plan.local_date);
            // A visit of the asked day `d` could keep `p`.
            let reached = |d: Option<NaiveDate>| {
                d.is_some_and(|d| {
                    asked_on.contains(&(client, d))
                        && d.succ_opt().is_some_and(|e| {
                            let from = local_midnight(d, tz).and_utc();
                            let to = local_midnight(e, tz).and_utc();
                            limits.reaches(&planned(p), from, to)
                        })
                })
            };
            due_ids.contains(p.id.as_str())
                || asked_on.contains(&(client, day))
                || reached(day.succ_opt())
                || reached(day.pred_opt())
        };
        if !due.is_empty() || !asked_days.is_empty() {
            let clients: BTreeSet<&str> = due
                .iter()
                .map(|d| d.client_id.as_str())
                .chain(asked_days.iter().map(|(c, _)| *c))
                .collect();
            let clients: Vec<&str> = clients.into_iter().collect();
            let on: BTreeSet<NaiveDate> = due
                .iter()
                .map(|d| d.local_date)
                .chain(asked_days.iter().map(|(_, d)| *d))
                .collect();
            let on: Vec<NaiveDate> = on.into_iter().collect();
            let plans = planned_visit::of_clients(c, &clients, &on)?;
            let mut mine: Vec<PlanAt> = punctuality::standings(c, plans, now, &tol, limits)?
                .into_iter()
                .filter(|x| judged(&x.plan))
                .collect();
            punctuality::add_caveats(c, &mut mine, now, &tol)?;
            let ids: Vec<&str> = mine.iter().map(|x| x.plan.id.as_str()).collect();
            let judging = planned_visit::judging_of(c, &ids)?;
            let mut held: HashMap<(String, AlertKind), Alert> = alert::of_plans(c, &ids)?
                .into_iter()
                .filter_map(|a| Some(((a.planned_visit_id.clone()?.to_string(), a.kind), a)))
                .collect();
            let answers = alert::answers(c, &ids)?;
            let settled: BTreeSet<&str> = mine
                .iter()
                .filter(|x| {
                    judging
                        .get(x.plan.id.as_str())
                        .is_some_and(|j| j.settled_at.is_some())
                })
                .map(|x| x.plan.id.as_str())
                .collect();
            let mut changes = alert::Changes::default();
            let (live, next) = judge(
                c,
                m,
                tz,
                &mine,
                &mut held,
                &answers,
                &settled,
                &mut changes,
                now,
            )?;
            changes.write(c, at)?;
            out.add(live);
            // Settled: done, or past every threshold and the last start a
            // visit may keep it by (the provider's day shows it so).
            let settle: Vec<&str> = mine
                .iter()
                .filter(|x| !settled.contains(x.plan.id.as_str()))
                .filter(|x| {
                    let p = planned(&x.plan);
                    x.standing.state == State::Done
                        || (now >= tol.missed_at(&p) && now > p.latest_start + limits.late)
                })
                .map(|x| x.plan.id.as_str())
                .collect();
            planned_visit::settle(c, &settle, at)?;
            // Each plan's next instant, written where it changes and only
            // if it still holds what was read (a plan sent again or
            // acknowledged meanwhile stays asked for).
            let dues: Vec<(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)> = mine
                .iter()
                .zip(&next)
                .map(|(x, n)| {
                    let read = judging.get(x.plan.id.as_str()).and_then(|j| j.due_at);
                    (x.plan.id.as_str(), read, n.map(|t| t.naive_utc()))
                })
                .collect();
            planned_visit::set_due(c, &dues)?;
            // A due plan the standings did not return (none: each is its
            // client's on its day) is not asked for again.
            let judged: BTreeSet<&str> = ids.iter().copied().collect();
            let lost: Vec<(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)> = due
                .iter()
                .filter(|d| !judged.contains(d.id.as_str()))
                .map(|d| (d.id.as_str(), d.due_at, None))
                .collect();
            planned_visit::set_due(c, &lost)?;
        }
        // The days asked for are answered, those of days no longer or
        // not yet judged with them; one asked for again meanwhile stays.
        visited_day::answered(c, &asked)?;
        Ok(out)
    })
}

/// Resolves the open alerts of the plans `ids`, removed by the planning
/// system or by the derivation from the orders (in the transaction that
/// removes them).
pub fn resolve_removed(
    c: &mut DbConn,
    ids: &[crate::model::PlannedVisitId],
    now: DateTime<Utc>,
) -> Result<Evaluation, StoreError> {
    let mut out = Evaluation::default();
    let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    let mut changes = alert::Changes::default();
    for a in alert::open_of_plans(c, &ids)? {
        let plan = a.planned_visit_id.clone();
        out.count(changes.resolve(
            &a,
            "Det planerade besöket har tagits bort ur planeringen.",
            &json!({ "planned_visit_id": plan }),
            "",
        ));
    }
    changes.write(c, now.naive_utc())?;
    Ok(out)
}

/// A plan's next instant to be judged, if time alone may change it.
type Next = Option<DateTime<Utc>>;

/// The alerts of the plans `plans` at `now`: raised, resolved or
/// escalated, gathered in `changes`; and each plan's next instant to be
/// judged (`None`: only a visit, an acknowledgement or a change of the
/// plan can alter its alerts). `held` holds the plans' alerts in any
/// state, by plan and kind; those of these plans are taken out of it.
/// `answers`: what people did with them. A person's acknowledgement or
/// resolution keeps the caseworker out of it, and an alert a person
/// resolved stays resolved until the plan is sent again changed.
/// `settled`: the plans whose missed alerts stand as they are.
#[allow(clippy::too_many_arguments)]
fn judge(
    c: &mut DbConn,
    m: &Municipality,
    tz: Tz,
    plans: &[PlanAt],
    held: &mut HashMap<(String, AlertKind), Alert>,
    answers: &alert::Answers,
    settled: &BTreeSet<&str>,
    changes: &mut alert::Changes,
    now: DateTime<Utc>,
) -> Result<(Live, Vec<Next>), StoreError> {
    let tol = tolerances(&m.settings);
    let escalation = Duration::minutes(i64::from(m.settings.visit_escalation_minutes));
    let mut out = Live::default();
    let mut nexts = Vec::with_capacity(plans.len());
    let clients: Vec<&str> = plans
        .iter()
        .map(|p| p.plan.plan.client_id.as_str())
        .collect();
    let caseworkers = client::caseworkers(c, &clients)?;
    for x in plans {
        let id = x.plan.id.to_string();
        let p = planned(&x.plan);
        let says = Says::new(x, &p, &tol, tz);
        // An alert a person resolved after the plan's last change is as
        // good as none to the rules: not raised again, not resolved again.
        let closed = |a: &Alert| {
            a.state == AlertState::Resolved
                && answers
                    .resolved
                    .get(&a.id)
                    .is_some_and(|t| *t >= x.plan.updated_at)
        };
        let late = held.remove(&(id.clone(), AlertKind::VisitLate));
        let missed = held.remove(&(id.clone(), AlertKind::VisitMissed));
        let escalated = held.remove(&(id.clone(), AlertKind::VisitNotAcknowledged));
        // Time alone changes the standing next at `next_change`; the
        // escalation is added below.
        let mut next: Option<DateTime<Utc>> = x.standing.next_change;
        let mut next_at = |t: DateTime<Utc>| {
            if t > now {
                next = Some(next.map_or(t, |n: DateTime<Utc>| n.min(t)));
            }
        };
        let finding = |kind: AlertKind, message: String| Finding {
            municipality_id: m.id.clone(),
            client_id: x.plan.plan.client_id.clone(),
            month: YearMonth::of(x.plan.plan.local_date).to_string(),
            kind,
            caseworker_id: caseworkers.get(&x.plan.plan.client_id).cloned().flatten(),
            provider_id: Some(x.plan.provider_id.clone()),
            message,
            figures: says.figures(),
            planned_visit_id: Some(x.plan.id.clone()),
        };
        // Raised, reopened, or updated when it says something new; not
        // when a person closed it.
        let mut raise = |held: &Option<Alert>, f: Finding| {
            if !held.as_ref().is_some_and(closed) {
                out.evaluation.count(changes.raise(held.as_ref(), &f));
            }
        };
        match x.standing.state {
            State::Late => {
                raise(&late, finding(AlertKind::VisitLate, says.late()));
            }
            State::Missed => {
                let open = missed
                    .as_ref()
                    .is_some_and(|a| a.state != AlertState::Resolved);
                if !(settled.contains(id.as_str()) && open) {
                    raise(&missed, finding(AlertKind::VisitMissed, says.missed()));
                }
                if let Some(a) = &late {
                    out.evaluation.count(changes.resolve(
                        a,
                        &says.turned_missed(),
                        &says.figures(),
                        "",
                    ));
                }
            }
            State::Waiting | State::InProgress | State::Done => {
                let message = if x.standing.started_late.is_some() {
                    says.arrived()
                } else {
                    says.no_longer_late()
                };
                for a in [&late, &missed, &escalated].into_iter().flatten() {
                    out.evaluation
                        .count(changes.resolve(a, &message, &says.figures(), ""));
                }
                nexts.push(next);
                continue;
            }
        }
        // Late or missed: the caseworker is told when no alert of the plan
        // was acknowledged within the escalation time after it became late.
        let escalate_at = tol.late_at(&p) + escalation;
        if answers.plans.contains(&id) {
            if let Some(a) = &escalated {
                out.evaluation
                    .count(changes.resolve(a, &says.acknowledged(), &says.figures(), ""));
            }
        } else if now >= escalate_at {
            if escalated
                .as_ref()
                .is_none_or(|a| a.state == AlertState::Resolved && !closed(a))
            {
                out.evaluation.count(changes.raise(
                    escalated.as_ref(),
                    &finding(
                        AlertKind::VisitNotAcknowledged,
                        says.not_acknowledged(m.settings.visit_escalation_minutes),
                    ),
                ));
            }
        } else {
            next_at(escalate_at);
        }
        nexts.push(next);
    }
    Ok((out, nexts))
}

/// What an alert of a plan says, in Swedish for the provider and the
/// caseworker; times local, no names and no personal identity numbers.
struct Says<'a> {
    x: &'a PlanAt,
    tz: Tz,
    late_at: DateTime<Utc>,
    missed_at: DateTime<Utc>,
    tolerance: Duration,
}

impl<'a> Says<'a> {
    fn new(x: &'a PlanAt, p: &Planned, tol: &Tolerances, tz: Tz) -> Self {
        Says {
            x,
            tz,
            late_at: tol.late_at(p),
            missed_at: tol.missed_at(p),
            tolerance: tol.of(p),
        }
    }

    fn hm(&self, t: NaiveDateTime) -> String {
        t.and_utc()
            .with_timezone(&self.tz)
            .format("%H:%M")
            .to_string()
    }

    fn window(&self) -> String {
        let p = &self.x.plan.plan;
        format!(
            "{}–{}, {} min",
            self.hm(p.earliest_start),
            self.hm(p.latest_start),
            p.expected_minutes
        )
    }

    fn kind(&self) -> &'static str {
        if self.x.plan.plan.time_critical {
            "Tidskritiskt planerat besök"
        } else {
            "Planerat besök"
        }
    }

    /// The caveat that a check-in may be waiting on a phone.
    fn offline(&self) -> String {
        match self.x.standing.offline_since {
            Some(t) => format!(
                " Planerad personals telefon hördes senast av {}: en incheckning kan ligga \
                 kvar i telefonen utan nät.",
                self.hm(t.naive_utc())
            ),
            None => String::new(),
        }
    }

    fn late(&self) -> String {
        let p = &self.x.plan.plan;
        let who = if p.double_staffing && !self.x.visits.is_empty() {
            "Dubbelbemannat besök: bara en av två har checkat in"
        } else {
            "Ingen incheckning"
        };
        format!(
            "{} ({}) är försenat. {} {} min efter senaste start {}.{}",
            self.kind(),
            self.window(),
            who,
            self.tolerance.num_minutes(),
            self.hm(p.latest_start),
            self.offline()
        )
    }

    fn missed(&self) -> String {
        format!(
            "{} ({}) är missat: fönstret och den förväntade tiden har passerat utan \
             incheckning.{}",
            self.kind(),
            self.window(),
            self.offline()
        )
    }

    fn turned_missed(&self) -> String {
        format!("{} ({}) räknas nu som missat.", self.kind(), self.window())
    }

    fn arrived(&self) -> String {
        let late = self.x.standing.started_late.unwrap_or_default();
        if late > Duration::zero() {
            format!(
                "{} ({}): incheckningen kom, {} min efter senaste start.",
                self.kind(),
                self.window(),
                late.num_minutes()
            )
        } else {
            self.no_longer_late()
        }
    }

    fn no_longer_late(&self) -> String {
        format!(
            "{} ({}) är inte längre försenat: planen har ändrats eller incheckningen kom i tid.",
            self.kind(),
            self.window()
        )
    }

    fn acknowledged(&self) -> String {
        format!(
            "{} ({}): utföraren har kvitterat larmet.",
            self.kind(),
            self.window()
        )
    }

    fn not_acknowledged(&self, minutes: i32) -> String {
        format!(
            "{} ({}) är försenat eller missat och utföraren har inte kvitterat larmet på \
             {} min. Kontakta utföraren.",
            self.kind(),
            self.window(),
            minutes
        )
    }

    fn figures(&self) -> serde_json::Value {
        let p = &self.x.plan.plan;
        let s = &self.x.standing;
        json!({
            "planned_visit_id": self.x.plan.id.as_str(),
            "planner_ref": p.planner_ref,
            "date": p.local_date,
            "earliest_start": p.earliest_start.and_utc(),
            "latest_start": p.latest_start.and_utc(),
            "expected_minutes": p.expected_minutes,
            "time_critical": p.time_critical,
            "double_staffing": p.double_staffing,
            "tolerance_minutes": self.tolerance.num_minutes(),
            "late_at": self.late_at,
            "missed_at": self.missed_at,
            "started_late_minutes": s.started_late.map(|d| d.num_minutes()),
            "phone_last_seen": s.offline_since,
        })
    }
}
