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
use crate::db::{DbConn, StoreError, client, planned_visit};
use crate::domain::punctuality::{MatchLimits, Planned, State, Tolerances};
use crate::domain::{YearMonth, local_date};
use crate::model::AlertKind;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
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
    Ok(out)
}

/// A municipality's planned visits of today and yesterday (local) at
/// `now`, each provider in a transaction of its own.
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
    let mut providers: BTreeSet<String> = planned_visit::providers_planning(c, &m.id, &days)?
        .into_iter()
        .map(|p| p.to_string())
        .collect();
    // Providers whose alerts' plans were all removed still have theirs
    // resolved.
    for (p, _) in alert::open_of_plans_everywhere(c)? {
        providers.insert(p.to_string());
    }
    let mut out = Live::default();
    for p in providers {
        let run = crate::db::transaction(c, |c| of_provider(c, m, tz, &p, &days, now))?;
        out.add(run);
    }
    Ok(out)
}

/// What one provider's plans say at `now`.
fn of_provider(
    c: &mut DbConn,
    m: &Municipality,
    tz: Tz,
    provider_id: &str,
    days: &[chrono::NaiveDate],
    now: DateTime<Utc>,
) -> Result<Live, StoreError> {
    let tol = tolerances(&m.settings);
    let escalation = Duration::minutes(i64::from(m.settings.visit_escalation_minutes));
    let mut out = Live::default();
    let mut plans: Vec<PlanAt> = Vec::new();
    for day in days {
        let d = punctuality::day(c, provider_id, *day, now, &tol, MatchLimits::default())?;
        plans.extend(d.plans);
    }
    let mut open: HashMap<(String, AlertKind), Alert> = alert::open_of_plans(c, provider_id)?
        .into_iter()
        .filter_map(|a| Some(((a.planned_visit_id.clone()?.to_string(), a.kind), a)))
        .collect();
    let clients: Vec<&str> = plans
        .iter()
        .map(|p| p.plan.plan.client_id.as_str())
        .collect();
    let caseworkers = client::caseworkers(c, &clients)?;
    let at = now.naive_utc();
    for x in &plans {
        let id = x.plan.id.to_string();
        let p = planned(&x.plan);
        let says = Says::new(x, &p, &tol, tz);
        let late = open.remove(&(id.clone(), AlertKind::VisitLate));
        let missed = open.remove(&(id.clone(), AlertKind::VisitMissed));
        let escalated = open.remove(&(id.clone(), AlertKind::VisitNotAcknowledged));
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
        match x.standing.state {
            State::Late => {
                out.evaluation.count(alert::raise(
                    c,
                    &finding(AlertKind::VisitLate, says.late()),
                    at,
                )?);
                out.next_at(tol.missed_at(&p), now);
            }
            State::Missed => {
                out.evaluation.count(alert::raise(
                    c,
                    &finding(AlertKind::VisitMissed, says.missed()),
                    at,
                )?);
                if let Some(a) = &late {
                    out.evaluation.count(alert::resolve_as(
                        c,
                        a,
                        &says.turned_missed(),
                        &says.figures(),
                        "",
                        at,
                    )?);
                }
            }
            State::Waiting | State::InProgress | State::Done => {
                let message = if x.standing.started_late.is_some() {
                    says.arrived()
                } else {
                    says.no_longer_late()
                };
                for a in [&late, &missed, &escalated].into_iter().flatten() {
                    out.evaluation.count(alert::resolve_as(
                        c,
                        a,
                        &message,
                        &says.figures(),
                        "",
                        at,
                    )?);
                }
                if x.standing.state == State::Waiting {
                    out.next_at(tol.late_at(&p), now);
                }
                continue;
            }
        }
        // Late or missed: the caseworker is told when no alert of the plan
        // was acknowledged within the escalation time after it became late.
        let escalate_at = tol.late_at(&p) + escalation;
        let mine: Vec<Alert> = [AlertKind::VisitLate, AlertKind::VisitMissed]
            .into_iter()
            .filter_map(|k| alert::of_plan(c, &id, k).transpose())
            .collect::<Result<_, _>>()?;
        let ids: Vec<&str> = mine.iter().map(|a| a.id.as_str()).collect();
        let acknowledged = !alert::ever_acknowledged(c, &ids)?.is_empty();
        if acknowledged {
            if let Some(a) = &escalated {
                out.evaluation.count(alert::resolve_as(
                    c,
                    a,
                    &says.acknowledged(),
                    &says.figures(),
                    "",
                    at,
                )?);
            }
        } else if now >= escalate_at {
            out.evaluation.count(alert::raise(
                c,
                &finding(
                    AlertKind::VisitNotAcknowledged,
                    says.not_acknowledged(m.settings.visit_escalation_minutes),
                ),
                at,
            )?);
        } else {
            out.next_at(escalate_at, now);
        }
    }
    // Alerts whose plans are gone (replaced or removed by the planning
    // system) are resolved; those of older days stay as they are.
    let gone: Vec<&str> = open
        .keys()
        .map(|(plan, _)| plan.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let kept = planned_visit::existing(c, &gone)?;
    for ((plan, _), a) in &open {
        if !kept.iter().any(|k| k.as_str() == plan) {
            out.evaluation.count(alert::resolve_as(
                c,
                a,
                "Det planerade besöket har tagits bort ur planeringen.",
                &json!({ "planned_visit_id": plan }),
                "",
                at,
            )?);
        }
    }
    Ok(out)
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
