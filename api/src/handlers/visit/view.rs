//! Visits as the API shows them, with shares and services by code.

use crate::error::ApiError;
use actix_web::HttpResponse;
use hemtid_core::contract::{EventBody, VisitBody};
use hemtid_core::db::DbConn;
use hemtid_core::db::service::{self, Catalogue};
use hemtid_core::db::visit::{self, Visit};
use hemtid_core::record::Recorded;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A visit with its shares and services by code.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    #[serde(flatten)]
    pub visit: VisitBody,
    /// Whether its time counts as performed.
    pub counts: bool,
    /// Whether it waits for a provider admin's approval.
    pub needs_approval: bool,
    /// Whose time it is: one client with 100, or co-habiting clients.
    pub shares: Vec<ShareView>,
    pub services: Vec<ServiceView>,
    /// How the visit answers its provider's plan of the day: given in the
    /// provider's list of a day's visits when the provider planned that
    /// day; absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<VisitPlan>,
}

/// Whether a visit kept a plan of its planned day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitPlanResult {
    /// It kept the planned visit named.
    Kept,
    /// Its provider planned the day and it kept no plan.
    Unplanned,
}

/// How a visit answers its provider's plan of the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitPlan {
    pub result: VisitPlanResult,
    pub planned_visit_id: Option<String>,
    /// The planning system's own id of the plan kept.
    pub planner_ref: Option<String>,
    /// The kept plan's state now: `in_progress`, `done`, or `late` while
    /// a double-staffed plan waits for its second care worker.
    #[schema(example = "done")]
    pub plan_state: Option<String>,
    /// Minutes after the plan's latest start the first check-in came
    /// (negative: in the window).
    pub started_late_minutes: Option<i64>,
    /// Minutes before the plan's earliest start the first check-in came.
    pub started_early_minutes: Option<i64>,
    /// Minutes shorter than the plan's expected length.
    pub shorter_by_minutes: Option<i64>,
}

impl VisitPlan {
    /// The plan `x` kept by the visit.
    pub fn kept(x: &hemtid_core::evaluate::punctuality::PlanAt) -> Self {
        let minutes = |d: chrono::Duration| d.num_minutes();
        VisitPlan {
            result: VisitPlanResult::Kept,
            planned_visit_id: Some(x.plan.id.to_string()),
            planner_ref: Some(x.plan.plan.planner_ref.clone()),
            plan_state: Some(x.standing.state.as_str().to_string()),
            started_late_minutes: x.standing.started_late.map(minutes),
            started_early_minutes: x.standing.started_early.map(minutes),
            shorter_by_minutes: x.standing.shorter_by.map(minutes),
        }
    }

    /// A visit that kept no plan of a planned day.
    pub fn unplanned() -> Self {
        VisitPlan {
            result: VisitPlanResult::Unplanned,
            planned_visit_id: None,
            planner_ref: None,
            plan_state: None,
            started_late_minutes: None,
            started_early_minutes: None,
            shorter_by_minutes: None,
        }
    }
}

/// A client's share of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    pub client_id: String,
    pub percent: f64,
}

/// A service of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub code: String,
    pub client_id: String,
    pub declined: bool,
    pub entered_minutes: Option<i32>,
    /// Its share of the visit's real time, in whole minutes.
    pub minutes: i64,
}

/// Visits with their shares and services (by code).
pub(crate) fn views(c: &mut DbConn, visits: Vec<Visit>) -> Result<Vec<VisitView>, ApiError> {
    // One read for all of them.
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut all = visit::attributions(c, &ids)?;
    let attributed = visits
        .into_iter()
        .map(|v| {
            let a = all.remove(&v.id).unwrap_or_default();
            (v, a)
        })
        .collect();
    views_of(Some(c), attributed, None)
}

/// [`views`] of visits whose shares and services are known; their codes
/// taken from `catalogue` where it has them.
/// Without a connection (`c`), a code the catalogue lacks is left empty:
/// see [`needs_lookup`].
fn views_of(
    c: Option<&mut DbConn>,
    attributed: Vec<(Visit, visit::Attribution)>,
    catalogue: Option<&Catalogue>,
) -> Result<Vec<VisitView>, ApiError> {
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut unknown: Vec<String> = Vec::new();
    for s in attributed.iter().flat_map(|(_, a)| &a.services) {
        match catalogue.and_then(|cat| cat.code(&s.service_id)) {
            Some(code) => {
                codes.insert(s.service_id.to_string(), code.to_string());
            }
            None => unknown.push(s.service_id.to_string()),
        }
    }
    if let (false, Some(c)) = (unknown.is_empty(), c) {
        codes.extend(service::codes(c, &unknown)?);
    }
    Ok(attributed
        .into_iter()
        .map(|(visit, a)| VisitView {
            counts: visit.counts(),
            needs_approval: visit.needs_approval(),
            visit: VisitBody::from(&visit),
            shares: a
                .shares
                .into_iter()
                .map(|s| ShareView {
                    client_id: s.client_id.to_string(),
                    percent: f64::from(s.basis_points) / 100.0,
                })
                .collect(),
            services: a
                .services
                .into_iter()
                .map(|s| ServiceView {
                    code: codes
                        .get(s.service_id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                    client_id: s.client_id.to_string(),
                    declined: s.declined,
                    entered_minutes: s.entered_minutes,
                    minutes: hemtid_core::domain::performed::minutes(i64::from(s.seconds)),
                })
                .collect(),
            plan: None,
        })
        .collect())
}

/// The answer to a recorded item.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedView {
    /// `applied` or `duplicate`.
    #[schema(example = "applied")]
    pub result: &'static str,
    pub event: EventBody,
    /// The visits the event created or changed.
    pub visits: Vec<VisitView>,
}

/// The answer to a recorded item, the services' codes from the
/// municipality's catalogue.
/// Whether the answer to `r` names a service `catalogue` lacks (one
/// removed from the catalogue since it was kept): its code is read then.
pub(crate) fn needs_lookup(catalogue: &Catalogue, r: &Recorded) -> bool {
    match r {
        Recorded::Applied { attributions, .. } => attributions
            .iter()
            .flat_map(|a| &a.services)
            .any(|s| catalogue.code(&s.service_id).is_none()),
        Recorded::Duplicate { .. } => false,
    }
}

/// The answer to a recorded item, built from what the write computed; a
/// connection is needed only if [`needs_lookup`].
pub(crate) fn recorded_view(
    c: Option<&mut DbConn>,
    catalogue: &Catalogue,
    r: Recorded,
) -> Result<RecordedView, ApiError> {
    Ok(match r {
        Recorded::Applied {
            event,
            visits,
            attributions,
        } => RecordedView {
            result: "applied",
            event: EventBody::from(&event),
            visits: views_of(
                c,
                visits.into_iter().zip(attributions).collect(),
                Some(catalogue),
            )?,
        },
        Recorded::Duplicate { event } => RecordedView {
            result: "duplicate",
            event: EventBody::from(&event),
            visits: Vec::new(),
        },
    })
}

pub(super) fn respond(view: RecordedView) -> HttpResponse {
    if view.result == "applied" {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    }
}
