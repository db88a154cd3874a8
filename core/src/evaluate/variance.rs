//! The variance rules applied to a client's month: the month judged from
//! the stored figures, and its alerts raised, updated or resolved.

use super::context::{Ctx, Evaluation};
use crate::db::client::Client;
use crate::db::client_month::{self, OrderedMonth};
use crate::db::figure::{self, MonthFigures};
use crate::db::municipality::Municipality;
use crate::db::schema::visit;
use crate::db::{DbConn, StoreError, absence, alert, explanation};
use crate::domain::performed::minutes;
use crate::domain::split::local_midnight;
use crate::domain::variance::{self, MonthOutcome, MonthTime, MonthVerdict, Status};
use crate::domain::{YearMonth, format_hm};
use crate::model::AlertKind;
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;

/// A client's month judged: the figures behind every alert.
#[derive(Debug, Clone)]
pub struct MonthJudgement {
    pub month: YearMonth,
    pub ordered: OrderedMonth,
    pub figures: MonthFigures,
    pub absent_days: BTreeSet<NaiveDate>,
    /// Performed seconds of services offered without a needs decision
    /// (SoL 2025:400): part of the figures, outside the verdict.
    pub undecided_seconds: i64,
    pub verdict: MonthVerdict,
}

impl MonthJudgement {
    pub fn status(&self) -> Status {
        self.verdict.status
    }
}

/// Judges a client's month from the stored figures. `until` is the last
/// local day an ongoing absence counts to; `undecided` are the services
/// offered without a needs decision ([`crate::db::service::without_decision`],
/// read once per run or request), whose time is not judged.
pub fn judge_month(
    c: &mut DbConn,
    m: &Municipality,
    client_id: &str,
    month: YearMonth,
    until: NaiveDate,
    undecided: &BTreeSet<String>,
) -> Result<MonthJudgement, StoreError> {
    let ordered = client_month::ordered(c, m, client_id, None, month)?;
    let figures = figure::client_month(c, client_id, None, month)?;
    let absent_days = absence::days(c, client_id, month, until)?;
    let undecided_seconds = figures
        .by_service
        .iter()
        .filter(|(id, _)| undecided.contains(id.as_str()))
        .map(|(_, a)| a.seconds)
        .sum();
    let verdict = variance::judge_month(&MonthTime {
        ordered_minutes: ordered.minutes,
        ordered_by_service: Some(&ordered.by_service),
        performed_seconds: figures.total.seconds,
        undecided_seconds,
        performed_by_service: figures
            .by_service
            .iter()
            .map(|(id, a)| (id.as_str(), a.seconds))
            .collect(),
        frame: ordered.frame,
        absent_days: u32::try_from(absent_days.len()).unwrap_or(month.days()),
        days_in_month: month.days(),
        tolerance_bp: i64::from(m.settings.tolerance_basis_points),
    });
    Ok(MonthJudgement {
        month,
        ordered,
        figures,
        absent_days,
        undecided_seconds,
        verdict,
    })
}

/// The UTC instants a local month begins and ends.
fn month_bounds(month: YearMonth, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    (
        local_midnight(month.first_day(), tz),
        local_midnight(month.next().first_day(), tz),
    )
}

/// Evaluates every alert kind for one client's month, in one transaction
/// ([`crate::db::read_mostly`]).
pub fn client_month(
    c: &mut DbConn,
    x: &Ctx<'_>,
    cl: &Client,
    month: YearMonth,
) -> Result<Evaluation, StoreError> {
    if month > YearMonth::of(x.today) {
        return Ok(Evaluation::default());
    }
    // Usually nothing changes: no write lock unless something does.
    crate::db::read_mostly(c, |c| evaluate(c, x, cl, month))
}

fn evaluate(
    c: &mut DbConn,
    x: &Ctx<'_>,
    cl: &Client,
    month: YearMonth,
) -> Result<Evaluation, StoreError> {
    let mut out = Evaluation {
        client_months: 1,
        ..Evaluation::default()
    };
    let closed = month < YearMonth::of(x.today);
    let now = x.at.naive_utc();
    let j = judge_month(c, x.m, &cl.id, month, x.today, &x.undecided)?;
    let base = |kind: AlertKind, message: String, figures: serde_json::Value| alert::Finding {
        municipality_id: x.m.id.clone(),
        client_id: cl.id.clone(),
        month: month.to_string(),
        kind,
        caseworker_id: cl.fields.caseworker_id.clone(),
        provider_id: j
            .ordered
            .provider_id
            .clone()
            .or_else(|| cl.fields.provider_id.clone()),
        message,
        figures,
        planned_visit_id: None,
    };
    let mut decide =
        |c: &mut DbConn, kind: AlertKind, f: Option<alert::Finding>| -> Result<(), StoreError> {
            let o = match f {
                Some(f) => alert::raise(c, &f, now)?,
                None => alert::clear(c, &cl.id, &month.to_string(), kind, now)?,
            };
            out.count(o);
            Ok(())
        };
    // R1, R2: a closed month outside the band, until the caseworker has
    // approved the provider's explanation of it (R3).
    let outside = (closed
        && j.ordered.any()
        && j.status().is_outside()
        && !explanation::approved(c, &cl.id, month)?)
    .then(|| {
        base(
            AlertKind::OutsideBand,
            outside_message(x, &j),
            month_figures(x, &j),
        )
    });
    decide(c, AlertKind::OutsideBand, outside)?;
    // R5: performed above granted, for the fee administrators.
    let performed = j.verdict.total.performed_minutes;
    let exceeds = (closed && j.ordered.any() && performed > j.ordered.minutes).then(|| {
        let msg = format!(
            "Utförd tid i {} ({}) överstiger beviljad tid ({}) med {} timmar (R5).",
            month.swedish(),
            format_hm(performed),
            format_hm(j.ordered.minutes),
            format_hm(performed - j.ordered.minutes)
        );
        base(AlertKind::ExceedsGranted, msg, month_figures(x, &j))
    });
    decide(c, AlertKind::ExceedsGranted, exceeds)?;
    // R4: three closed months in a row outside the band, none explained.
    let follow_up = if closed && j.ordered.any() && j.status().is_outside() {
        let mut months = Vec::new();
        let mut outcomes = Vec::new();
        for mm in [month.prev().prev(), month.prev(), month] {
            let jj = if mm == month {
                j.clone()
            } else {
                judge_month(c, x.m, &cl.id, mm, x.today, &x.undecided)?
            };
            let outside = jj.ordered.any() && jj.status().is_outside();
            outcomes.push(MonthOutcome {
                status: if outside {
                    jj.status()
                } else {
                    Status::WithinBand
                },
                explanation_approved: explanation::approved(c, &cl.id, mm)?,
            });
            months.push((mm, jj.verdict.total));
        }
        variance::follow_up_recommended(&outcomes).then(|| {
            let names: Vec<String> = months.iter().map(|(mm, _)| mm.swedish()).collect();
            let msg = format!(
                "Utförd tid har legat utanför toleransen tre månader i rad ({}) utan godkänd förklaring. \
                 Gör en individuell uppföljning och överväg en ny beställning (R4).",
                names.join(", ")
            );
            let figures = json!({
                "months": months.iter().map(|(mm, t)| json!({
                    "month": mm.to_string(),
                    "expected_minutes": t.expected_minutes,
                    "performed_minutes": t.performed_minutes,
                    "variance_basis_points": t.variance_basis_points,
                    "status": t.status.as_str(),
                })).collect::<Vec<_>>(),
            });
            base(AlertKind::FollowUpRecommended, msg, figures)
        })
    } else {
        None
    };
    decide(c, AlertKind::FollowUpRecommended, follow_up)?;
    // R6, R7: inside the month, the pace says it will end outside the band.
    let pace = if closed || !j.ordered.any() {
        None
    } else {
        let (start, end) = month_bounds(month, x.tz);
        variance::projected_minutes(
            j.figures.total.seconds - j.undecided_seconds,
            start,
            end,
            now,
        )
        .and_then(|projected| {
            let tolerance = i64::from(x.m.settings.tolerance_basis_points);
            let pj = variance::judge(j.verdict.total.expected_minutes, projected, tolerance);
            pj.status.is_outside().then(|| {
                let msg = format!(
                    "Med nuvarande takt blir utförd tid i {} cirka {} av beställda {} timmar \
                     ({} % {}). Hittills utfört: {} timmar (R6, R7).",
                    month.swedish(),
                    format_hm(projected),
                    format_hm(j.verdict.total.expected_minutes),
                    variance::percent_sv(pj.variance_basis_points.unwrap_or(0)),
                    pj.status.swedish(),
                    format_hm(j.verdict.total.performed_minutes),
                );
                let figures = json!({
                    "expected_minutes": j.verdict.total.expected_minutes,
                    "performed_so_far_minutes": j.verdict.total.performed_minutes,
                    "projected_minutes": projected,
                    "projected_variance_basis_points": pj.variance_basis_points,
                    "status": pj.status.as_str(),
                });
                base(AlertKind::PaceWarning, msg, figures)
            })
        })
    };
    decide(c, AlertKind::PaceWarning, pace)?;
    // R8: days that are over with fewer visits than ordered.
    let missing = if j.ordered.any() {
        let per_day = figure::client_days(c, &cl.id, month)?;
        let mut days = Vec::new();
        let mut d = month.first_day();
        while d <= month.last_day() && d < x.today {
            let a = per_day.get(&d).copied().unwrap_or_default();
            days.push((d, j.ordered.daily_visits(d), a.visits, a.declined));
            let Some(n) = d.succ_opt() else { break };
            d = n;
        }
        let short = variance::short_days(&days, &j.absent_days);
        (!short.is_empty()).then(|| {
            let list: Vec<String> = short
                .iter()
                .map(|s| {
                    format!(
                        "{} ({} av {})",
                        s.date.format("%-d/%-m"),
                        s.visits + s.declined,
                        s.ordered
                    )
                })
                .collect();
            let msg = format!(
                "Färre besök än beställt på {} {} i {}: {} (R8).",
                short.len(),
                if short.len() == 1 { "dag" } else { "dagar" },
                month.swedish(),
                list.join(", ")
            );
            base(AlertKind::MissingVisits, msg, json!({ "days": short }))
        })
    } else {
        None
    };
    decide(c, AlertKind::MissingVisits, missing)?;
    // A visit still open after the municipality's limit.
    let limit = Duration::minutes(i64::from(x.m.settings.max_visit_minutes));
    let open: Vec<(String, Option<NaiveDateTime>)> = visit::table
        .filter(visit::client_id.eq(&cl.id))
        .filter(visit::status.eq(crate::model::VisitStatus::Open))
        .filter(visit::voided.eq(false))
        .filter(visit::local_date.between(month.first_day(), month.last_day()))
        .select((visit::id, visit::started_at))
        .load(c)?;
    let stale: Vec<(String, NaiveDateTime)> = open
        .into_iter()
        .filter_map(|(id, s)| Some((id, s?)))
        .filter(|(_, s)| *s + limit < now)
        .collect();
    let too_long = stale.iter().min_by_key(|(_, s)| *s).map(|(_, since)| {
        let local = x.tz.from_utc_datetime(since);
        let msg = format!(
            "{} öppet sedan {} (mer än {} timmar). Kontrollera utcheckningen.",
            if stale.len() == 1 {
                "Ett besök har varit".to_string()
            } else {
                format!("{} besök har varit", stale.len())
            },
            local.format("%Y-%m-%d %H:%M"),
            x.m.settings.max_visit_minutes / 60
        );
        let figures = json!({
            "visit_ids": stale.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "limit_minutes": x.m.settings.max_visit_minutes,
        });
        base(AlertKind::VisitOpenTooLong, msg, figures)
    });
    decide(c, AlertKind::VisitOpenTooLong, too_long)?;
    Ok(out)
}

fn outside_message(x: &Ctx<'_>, j: &MonthJudgement) -> String {
    let t = &j.verdict.total;
    let tolerance = variance::percent_sv(i64::from(x.m.settings.tolerance_basis_points));
    let mut msg = if t.status.is_outside() {
        format!(
            "Utförd tid i {} är {} % {} beställd tid ({} av {} timmar; toleransen är ±{} %).",
            j.month.swedish(),
            variance::percent_sv(t.variance_basis_points.unwrap_or(0)),
            t.status.swedish(),
            format_hm(t.performed_minutes),
            format_hm(t.expected_minutes),
            tolerance,
        )
    } else {
        format!(
            "Utförd tid i {} är inom toleransen totalt ({} av {} timmar), men inte per insats.",
            j.month.swedish(),
            format_hm(t.performed_minutes),
            format_hm(t.expected_minutes),
        )
    };
    if !j.ordered.frame {
        let off: Vec<String> = j
            .verdict
            .services
            .iter()
            .filter(|(_, s)| s.status.is_outside())
            .map(|(id, s)| {
                format!(
                    "{} ({}{} %)",
                    x.names.get(id).map_or(id.as_str(), String::as_str),
                    if s.variance_minutes < 0 { "−" } else { "+" },
                    variance::percent_sv(s.variance_basis_points.unwrap_or(10_000)),
                )
            })
            .collect();
        if !off.is_empty() {
            msg.push_str(&format!(
                " Insatser utanför toleransen: {}.",
                off.join(", ")
            ));
        }
    }
    if !j.absent_days.is_empty() {
        msg.push_str(&format!(
            " Frånvaro {} dagar är avräknad ({} timmar).",
            j.absent_days.len(),
            format_hm(j.verdict.explained_minutes)
        ));
    }
    if j.figures.total.declined > 0 && t.status == Status::Under {
        msg.push_str(&format!(
            " {} avböjda besök: stäm av mot genomförandejournalen (R21).",
            j.figures.total.declined
        ));
    }
    // R2: who contacts the caseworker depends on the decision.
    msg.push_str(if j.ordered.frame {
        " Ramtid: utföraren uppmanar brukaren att kontakta handläggaren och kontaktar själv handläggaren om brukaren inte gör det (R2)."
    } else {
        " Insatsbeslut: utföraren kontaktar handläggaren (R2)."
    });
    msg
}

fn month_figures(x: &Ctx<'_>, j: &MonthJudgement) -> serde_json::Value {
    json!({
        "decision": if j.ordered.frame { "frame" } else { "per_service" },
        "ordered_minutes": j.ordered.minutes,
        "absent_days": j.absent_days.len(),
        "explained_minutes": j.verdict.explained_minutes,
        "expected_minutes": j.verdict.total.expected_minutes,
        "performed_minutes": j.verdict.total.performed_minutes,
        "variance_minutes": j.verdict.total.variance_minutes,
        "variance_basis_points": j.verdict.total.variance_basis_points,
        "tolerance_basis_points": x.m.settings.tolerance_basis_points,
        "status": j.status().as_str(),
        "frame_window_minutes": minutes(j.figures.total.frame_seconds),
        "visits": j.figures.total.visits,
        "declined_visits": j.figures.total.declined,
        "services": j.verdict.services.iter().map(|(id, s)| json!({
            "service_id": id,
            "name": x.names.get(id),
            "expected_minutes": s.expected_minutes,
            "performed_minutes": s.performed_minutes,
            "variance_basis_points": s.variance_basis_points,
            "status": s.status.as_str(),
        })).collect::<Vec<_>>(),
    })
}
