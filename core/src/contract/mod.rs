//! What hemtid's contracts carry (the API's JSON, the Server-Sent Events,
//! the MQTT payloads), apart from the rows it is read from: a column can
//! change without changing a contract, and the contract tests
//! (`openapi.json`, `asyncapi.yaml`) notice when a contract changes.

use crate::db::alert::{Alert as AlertRow, AlertChange};
use crate::db::utc;
use crate::db::visit::Visit;
use crate::db::visit_event::VisitEvent;
use crate::model::{
    AlertAction, AlertKind, AlertState, Audience, EventId, EventKind, Method, Source,
    VisitException, VisitId, VisitStatus,
};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

mod care;
mod devices;
mod directory;
mod orders;

pub use care::{
    AbsenceBody, AccessRecordBody, ConsentBody, ExplanationBody, ExplanationChangeBody,
    JournalNoteBody, LockEventBody, MaterialRequestBody,
};
pub use devices::{DeadLetterBody, DeviceBody, ProviderNoticeBody, StaffCredentialBody};
pub use directory::{
    AuthorityUnitBody, AuthorityUnitFieldsBody, ClientBody, ClientFieldsBody, ProviderBody,
    ProviderFieldsBody, ServiceBody, ServiceFieldsBody, UserAccountBody, UserFieldsBody,
};
pub use orders::{
    CareOrderBody, CareOrderFieldsBody, ContactPersonBody, DecisionBody, DecisionFieldsBody,
    IndividualFollowUpBody, PlanFollowUpBody, PlanVersionBody,
};

/// An alert as the API, the alert stream and MQTT show it (no names:
/// the API adds the client's name, MQTT never carries one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Alert))]
pub struct AlertBody {
    pub id: String,
    pub client_id: String,
    /// `YYYY-MM`, local.
    pub month: String,
    /// `outside_band`, `follow_up_recommended`, `exceeds_granted`,
    /// `pace_warning`, `missing_visits`, `visit_open_too_long`, the
    /// deadline kinds (`care_plan_missing`, …) or, for planned visits,
    /// `visit_late`, `visit_missed` and `visit_not_acknowledged`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: AlertKind,
    /// The rule ids applied, e.g. `R1,R2` (see the glossary).
    pub rules: String,
    /// Who is told: `caseworker`, `provider` or `fee_admin`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub audience: Audience,
    pub caseworker_id: Option<String>,
    pub provider_id: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: AlertState,
    /// In Swedish, for the caseworker or provider.
    pub message: String,
    /// The figures behind the alert (minutes, percentages, days).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: serde_json::Value,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub raised_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<NaiveDateTime>,
    /// The planned visit a `visit_late`, `visit_missed` or
    /// `visit_not_acknowledged` alert is about; absent for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_visit_id: Option<String>,
}

impl From<&AlertRow> for AlertBody {
    fn from(a: &AlertRow) -> Self {
        AlertBody {
            id: a.id.clone(),
            client_id: a.client_id.to_string(),
            month: a.month.clone(),
            kind: a.kind,
            rules: a.rules.clone(),
            audience: a.audience,
            caseworker_id: a.caseworker_id.as_deref().map(String::from),
            provider_id: a.provider_id.as_deref().map(String::from),
            state: a.state,
            message: a.message.clone(),
            figures: json(&a.figures),
            raised_at: a.raised_at,
            updated_at: a.updated_at,
            resolved_at: a.resolved_at,
            planned_visit_id: a.planned_visit_id.as_deref().map(String::from),
        }
    }
}

/// An alert's change on MQTT: the alert and its place in the outbox
/// (`seq`, which a consumer keys on with `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    #[serde(flatten)]
    pub alert: AlertBody,
    pub seq: i64,
}

/// JSON hemtid wrote as text (an alert's figures, a material request's
/// compiled journal), as JSON; unreadable text shows as null, and says so
/// in the log.
fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "stored JSON is unreadable; shown as null");
        serde_json::Value::Null
    })
}

/// One change of an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AlertChange))]
pub struct AlertChangeBody {
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    /// `raised`, `updated`, `acknowledged`, `resolved` or `reopened`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub action: AlertAction,
    /// The state after the change.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: AlertState,
    /// Who did it; unset when the rules did.
    pub by_user_id: Option<String>,
    pub note: String,
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: serde_json::Value,
}

impl From<&AlertChange> for AlertChangeBody {
    fn from(h: &AlertChange) -> Self {
        AlertChangeBody {
            at: h.at,
            action: h.action,
            state: h.state,
            by_user_id: h.by_user_id.as_deref().map(String::from),
            note: h.note.clone(),
            message: h.message.clone(),
            figures: json(&h.figures),
        }
    }
}

// A visit as the API shows it (the row is `crate::db::visit::Visit`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Visit))]
/// A stored visit: one staff member's time at one client.
pub struct VisitBody {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: VisitId,
    #[serde(flatten)]
    pub fields: VisitFieldsBody,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub approved_at: Option<NaiveDateTime>,
    pub approved_by: Option<String>,
    /// A provider admin's correction of the start; wins over the check-in.
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub corrected_started_at: Option<NaiveDateTime>,
    /// A provider admin's correction of the end; wins over the check-out.
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub corrected_ended_at: Option<NaiveDateTime>,
    /// Registered by mistake: kept, but its time never counts.
    pub voided: bool,
}

/// What the pairing derives for a visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = VisitFields))]
pub struct VisitFieldsBody {
    pub staff_id: String,
    pub provider_id: String,
    pub client_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub check_in_event_id: Option<EventId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub check_out_event_id: Option<EventId>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<NaiveDateTime>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<NaiveDateTime>,
    /// Real elapsed seconds, when both ends are known.
    pub seconds: Option<i32>,
    /// The local day it started (or ended, without a check-in).
    pub local_date: NaiveDate,
    /// `open`, `closed` or `exception`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: VisitStatus,
    /// `missing_check_in`, `missing_check_out` or `too_long`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub exception: Option<VisitException>,
    /// How the check-in was made: `nfc`, `lock`, `manual` or `entry`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub method: Option<Method>,
    /// The second person of a double-staffed visit (R20).
    pub double_staffing: bool,
    /// Why it needs a provider admin's approval, comma-separated:
    /// `manual_method`, `unplanned`, `entered_after`, `exception`.
    pub approval_reasons: String,
}

impl From<&Visit> for VisitBody {
    fn from(v: &Visit) -> Self {
        let f = &v.fields;
        VisitBody {
            id: v.id.clone(),
            fields: VisitFieldsBody {
                staff_id: f.staff_id.to_string(),
                provider_id: f.provider_id.to_string(),
                client_id: f.client_id.to_string(),
                check_in_event_id: f.check_in_event_id.clone(),
                check_out_event_id: f.check_out_event_id.clone(),
                started_at: f.started_at,
                ended_at: f.ended_at,
                seconds: f.seconds,
                local_date: f.local_date,
                status: f.status,
                exception: f.exception,
                method: f.method,
                double_staffing: f.double_staffing,
                approval_reasons: f.approval_reasons.clone(),
            },
            approved_at: v.approved_at,
            approved_by: v.approved_by.clone(),
            corrected_started_at: v.corrected_started_at,
            corrected_ended_at: v.corrected_ended_at,
            voided: v.voided,
        }
    }
}

// A visit's raw event as the API shows it (the row is
// `crate::db::visit_event::VisitEvent`; its payload stays inside).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = VisitEvent))]
/// A stored event.
pub struct EventBody {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: EventId,
    /// `phone`, `device` or `entry`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: Source,
    pub source_key: String,
    /// The sender's UUID.
    pub event_id: String,
    /// `check_in`, `check_out` or `declined`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: EventKind,
    pub staff_id: String,
    pub client_id: String,
    pub provider_id: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: NaiveDateTime,
    pub local_date: NaiveDate,
    /// `nfc`, `lock`, `manual` or `entry`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub method: Option<Method>,
    /// The NFC tag uid or lock id.
    pub method_ref: Option<String>,
    /// Why: a manual check-in, an unplanned visit, a declined visit.
    pub reason: Option<String>,
}

impl From<&VisitEvent> for EventBody {
    fn from(e: &VisitEvent) -> Self {
        EventBody {
            id: e.id.clone(),
            source: e.source,
            source_key: e.source_key.clone(),
            event_id: e.event_id.clone(),
            kind: e.kind,
            staff_id: e.staff_id.to_string(),
            client_id: e.client_id.to_string(),
            provider_id: e.provider_id.to_string(),
            occurred_at: e.occurred_at,
            received_at: e.received_at,
            local_date: e.local_date,
            method: e.method,
            method_ref: e.method_ref.clone(),
            reason: e.reason.clone(),
        }
    }
}
