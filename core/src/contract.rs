//! What hemtid's contracts carry (the API's JSON, the Server-Sent Events,
//! the MQTT payloads), apart from the rows it is read from: a column can
//! change without changing a contract, and the contract tests
//! (`openapi.json`, `asyncapi.yaml`) notice when a contract changes.

use crate::db::absence::Absence;
use crate::db::access_log::AccessRecord;
use crate::db::alert::{Alert as AlertRow, AlertChange};
use crate::db::consent::Consent;
use crate::db::dead_letter::DeadLetter;
use crate::db::device::Device;
use crate::db::explanation::{Explanation, ExplanationChange};
use crate::db::journal_note::JournalNote;
use crate::db::material_request::MaterialRequest;
use crate::db::month_lock::LockEvent;
use crate::db::provider_notice::ProviderNotice;
use crate::db::staff_credential::StaffCredential;
use crate::db::utc;
use crate::db::visit::Visit;
use crate::db::visit_event::VisitEvent;
use crate::model::{
    AlertAction, AlertKind, AlertState, Audience, ConsentState, CredentialKind, DeviceKind,
    DeviceStatus, EventId, EventKind, ExplanationState, Method, RequestState, Source,
    VisitException, VisitId, VisitStatus,
};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

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
    /// `pace_warning`, `missing_visits` or `visit_open_too_long`.
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
}

impl From<&AlertRow> for AlertBody {
    fn from(a: &AlertRow) -> Self {
        AlertBody {
            id: a.id.clone(),
            client_id: a.client_id.clone(),
            month: a.month.clone(),
            kind: a.kind,
            rules: a.rules.clone(),
            audience: a.audience,
            caseworker_id: a.caseworker_id.clone(),
            provider_id: a.provider_id.clone(),
            state: a.state,
            message: a.message.clone(),
            figures: json(&a.figures),
            raised_at: a.raised_at,
            updated_at: a.updated_at,
            resolved_at: a.resolved_at,
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

/// Figures are written by hemtid as JSON; unreadable text shows as null.
fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
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
            by_user_id: h.by_user_id.clone(),
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
                staff_id: f.staff_id.clone(),
                provider_id: f.provider_id.clone(),
                client_id: f.client_id.clone(),
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
            staff_id: e.staff_id.clone(),
            client_id: e.client_id.clone(),
            provider_id: e.provider_id.clone(),
            occurred_at: e.occurred_at,
            received_at: e.received_at,
            local_date: e.local_date,
            method: e.method,
            method_ref: e.method_ref.clone(),
            reason: e.reason.clone(),
        }
    }
}

// A device as the registry shows it (the row is `crate::db::device::Device`;
// its secret's hash and signing key never leave it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Device))]
/// A registered device.
pub struct DeviceBody {
    /// The id in its topic, `hemtid/v1/devices/{id}/events`.
    pub id: String,
    pub municipality_id: String,
    pub provider_id: String,
    /// `door_lock`, `nfc_reader` or `nfc_tag`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: DeviceKind,
    /// The client whose home it is in (for a household, one of them).
    pub client_id: Option<String>,
    /// `active` or `retired`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: DeviceStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub last_seen_at: Option<NaiveDateTime>,
    pub firmware: Option<String>,
    pub battery_pct: Option<i32>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

impl From<&Device> for DeviceBody {
    fn from(d: &Device) -> Self {
        DeviceBody {
            id: d.id.clone(),
            municipality_id: d.municipality_id.clone(),
            provider_id: d.provider_id.clone(),
            kind: d.kind,
            client_id: d.client_id.clone(),
            status: d.status,
            last_seen_at: d.last_seen_at,
            firmware: d.firmware.clone(),
            battery_pct: d.battery_pct,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

// A staff credential as the API shows it (the row is
// `crate::db::staff_credential::StaffCredential`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = StaffCredential))]
/// A credential and its staff member.
pub struct StaffCredentialBody {
    /// As the device reports it, e.g. a fob's serial.
    pub credential: String,
    pub staff_id: String,
    /// `key_fob`, `staff_tag` or `phone_key`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: CredentialKind,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<&StaffCredential> for StaffCredentialBody {
    fn from(c: &StaffCredential) -> Self {
        StaffCredentialBody {
            credential: c.credential.clone(),
            staff_id: c.staff_id.clone(),
            kind: c.kind,
            active: c.active,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
        }
    }
}

// A notice to a provider as the API shows it (the row is
// `crate::db::provider_notice::ProviderNotice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProviderNotice))]
/// A notice.
pub struct ProviderNoticeBody {
    pub id: String,
    pub provider_id: String,
    pub device_id: Option<String>,
    /// `low_battery`.
    pub kind: String,
    /// In Swedish, for the provider's staff.
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub resolved_at: Option<NaiveDateTime>,
}

impl From<&ProviderNotice> for ProviderNoticeBody {
    fn from(n: &ProviderNotice) -> Self {
        ProviderNoticeBody {
            id: n.id.clone(),
            provider_id: n.provider_id.clone(),
            device_id: n.device_id.clone(),
            kind: n.kind.clone(),
            message: n.message.clone(),
            created_at: n.created_at,
            resolved_at: n.resolved_at,
        }
    }
}

// A dead letter as the API shows it (the row is
// `crate::db::dead_letter::DeadLetter`; the API adds its payload as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DeadLetter))]
/// A dead-lettered message.
pub struct DeadLetterBody {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub received_at: NaiveDateTime,
    pub topic: String,
    pub device_id: Option<String>,
    /// A stable code, e.g. `unknown_device`.
    pub reason: String,
    pub detail: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub replayed_at: Option<NaiveDateTime>,
    pub replay_result: Option<String>,
    /// The payload's length as received (more than is kept when over
    /// [`KEPT_PAYLOAD_BYTES`]).
    pub payload_bytes: i32,
    /// SHA-256 of the whole payload as received, hex.
    pub payload_sha256: Option<String>,
}

impl From<&DeadLetter> for DeadLetterBody {
    fn from(l: &DeadLetter) -> Self {
        DeadLetterBody {
            id: l.id.clone(),
            received_at: l.received_at,
            topic: l.topic.clone(),
            device_id: l.device_id.clone(),
            reason: l.reason.clone(),
            detail: l.detail.clone(),
            replayed_at: l.replayed_at,
            replay_result: l.replay_result.clone(),
            payload_bytes: l.payload_bytes,
            payload_sha256: l.payload_sha256.clone(),
        }
    }
}

// A journal note as the API shows it (the row is
// `crate::db::journal_note::JournalNote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JournalNote))]
/// A journal note.
pub struct JournalNoteBody {
    pub id: String,
    /// The phone's UUID for the note.
    pub event_id: String,
    pub client_id: String,
    pub provider_id: String,
    pub author_id: String,
    /// The check-out it was written with, if any.
    pub visit_event_id: Option<String>,
    /// The note this one corrects.
    pub corrects_note_id: Option<String>,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub written_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: NaiveDateTime,
    pub body: String,
}

impl From<&JournalNote> for JournalNoteBody {
    fn from(n: &JournalNote) -> Self {
        JournalNoteBody {
            id: n.id.clone(),
            event_id: n.event_id.clone(),
            client_id: n.client_id.clone(),
            provider_id: n.provider_id.clone(),
            author_id: n.author_id.clone(),
            visit_event_id: n.visit_event_id.clone(),
            corrects_note_id: n.corrects_note_id.clone(),
            written_at: n.written_at,
            received_at: n.received_at,
            body: n.body.clone(),
        }
    }
}

// A consent decision as the API shows it (the row is
// `crate::db::consent::Consent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Consent))]
/// One recorded consent decision; the latest counts.
pub struct ConsentBody {
    pub id: String,
    pub client_id: String,
    /// `given`, `refused` or `withdrawn`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ConsentState,
    pub note: String,
    pub recorded_by: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: NaiveDateTime,
}

impl From<&Consent> for ConsentBody {
    fn from(c: &Consent) -> Self {
        ConsentBody {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            state: c.state,
            note: c.note.clone(),
            recorded_by: c.recorded_by.clone(),
            recorded_at: c.recorded_at,
        }
    }
}

// A material request as the API shows it (the row is
// `crate::db::material_request::MaterialRequest`; the compiled journal is
// kept as JSON text and shown as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MaterialRequest))]
/// A request and, once answered, its answer.
pub struct MaterialRequestBody {
    pub id: String,
    pub client_id: String,
    pub provider_id: String,
    pub caseworker_id: String,
    /// The updated care plan, or why it was not updated.
    pub asks_plan: bool,
    /// The journal notes of `journal_from`–`journal_to`.
    pub asks_journal: bool,
    pub journal_from: Option<NaiveDate>,
    pub journal_to: Option<NaiveDate>,
    /// Anything the provider wants to convey.
    pub asks_comment: bool,
    /// Why not all ordered time was performed.
    pub asks_unperformed: bool,
    pub message: String,
    pub due_on: NaiveDate,
    /// `sent`, `answered` or `closed`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: RequestState,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: NaiveDateTime,
    pub answer_plan_version_id: Option<String>,
    /// Why the plan was not updated, when it was not.
    pub answer_plan_note: String,
    /// The compiled notes of the period, as hemtid made them on answering.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub answer_journal: Option<serde_json::Value>,
    pub answer_comment: String,
    pub answer_unperformed: String,
    pub answered_by: Option<String>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub answered_at: Option<NaiveDateTime>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<NaiveDateTime>,
}

impl From<&MaterialRequest> for MaterialRequestBody {
    fn from(r: &MaterialRequest) -> Self {
        MaterialRequestBody {
            id: r.id.clone(),
            client_id: r.client_id.clone(),
            provider_id: r.provider_id.clone(),
            caseworker_id: r.caseworker_id.clone(),
            asks_plan: r.asks_plan,
            asks_journal: r.asks_journal,
            journal_from: r.journal_from,
            journal_to: r.journal_to,
            asks_comment: r.asks_comment,
            asks_unperformed: r.asks_unperformed,
            message: r.message.clone(),
            due_on: r.due_on,
            state: r.state,
            created_at: r.created_at,
            answer_plan_version_id: r.answer_plan_version_id.clone(),
            answer_plan_note: r.answer_plan_note.clone(),
            // hemtid wrote it as JSON; unreadable text shows as none.
            answer_journal: r
                .answer_journal
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            answer_comment: r.answer_comment.clone(),
            answer_unperformed: r.answer_unperformed.clone(),
            answered_by: r.answered_by.clone(),
            answered_at: r.answered_at,
            closed_at: r.closed_at,
        }
    }
}

// A provider's explanation of a client's month as the API shows it (the
// row is `crate::db::explanation::Explanation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Explanation))]
/// An explanation as it stands.
pub struct ExplanationBody {
    pub id: String,
    pub client_id: String,
    pub provider_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `declined_visits`, `absence`, `temporarily_changed_needs`,
    /// `permanently_changed_needs` or `other`.
    pub cause: String,
    pub text: String,
    /// `submitted`, `approved` or `rejected`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: ExplanationState,
    pub submitted_by: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub submitted_at: NaiveDateTime,
    pub reviewed_by: Option<String>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: String,
}

impl From<&Explanation> for ExplanationBody {
    fn from(e: &Explanation) -> Self {
        ExplanationBody {
            id: e.id.clone(),
            client_id: e.client_id.clone(),
            provider_id: e.provider_id.clone(),
            month: e.month.clone(),
            cause: e.cause.clone(),
            text: e.text.clone(),
            state: e.state,
            submitted_by: e.submitted_by.clone(),
            submitted_at: e.submitted_at,
            reviewed_by: e.reviewed_by.clone(),
            reviewed_at: e.reviewed_at,
            review_note: e.review_note.clone(),
        }
    }
}

// One step of an explanation's history as the API shows it (the row is
// `crate::db::explanation::ExplanationChange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ExplanationChange))]
/// One step in an explanation's life.
pub struct ExplanationChangeBody {
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    pub by_user_id: String,
    /// `submitted`, `approved` or `rejected`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub action: ExplanationState,
    pub cause: String,
    pub text: String,
    pub note: String,
}

impl From<&ExplanationChange> for ExplanationChangeBody {
    fn from(h: &ExplanationChange) -> Self {
        ExplanationChangeBody {
            at: h.at,
            by_user_id: h.by_user_id.clone(),
            action: h.action,
            cause: h.cause.clone(),
            text: h.text.clone(),
            note: h.note.clone(),
        }
    }
}

// An absence as the API shows it (the row is `crate::db::absence::Absence`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Absence))]
/// A registered absence; days are local and inclusive.
pub struct AbsenceBody {
    pub id: String,
    pub client_id: String,
    pub starts_on: NaiveDate,
    /// Unset while it lasts.
    pub ends_on: Option<NaiveDate>,
    /// `hospital`, `short_term_care`, `travel` or `other`.
    pub cause: String,
    pub note: String,
    pub registered_by: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
    /// Registered by mistake: kept, but no longer counts.
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub cancelled_at: Option<NaiveDateTime>,
}

impl From<&Absence> for AbsenceBody {
    fn from(a: &Absence) -> Self {
        AbsenceBody {
            id: a.id.clone(),
            client_id: a.client_id.clone(),
            starts_on: a.starts_on,
            ends_on: a.ends_on,
            cause: a.cause.clone(),
            note: a.note.clone(),
            registered_by: a.registered_by.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            cancelled_at: a.cancelled_at,
        }
    }
}

// One read of the access log as the API shows it (the row is
// `crate::db::access_log::AccessRecord`; its chain's hashes stay inside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AccessRecord))]
/// One read.
pub struct AccessRecordBody {
    pub seq: i64,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    pub user_id: String,
    pub role: String,
    pub client_id: String,
    /// `client`, `care_plan`, `journal`, `visits` or `material_request`.
    pub what: String,
    /// The users whose registrations were read, comma-separated.
    pub subjects: String,
}

impl From<&AccessRecord> for AccessRecordBody {
    fn from(r: &AccessRecord) -> Self {
        AccessRecordBody {
            seq: r.seq,
            at: r.at,
            user_id: r.user_id.clone(),
            role: r.role.clone(),
            client_id: r.client_id.clone(),
            what: r.what.clone(),
            subjects: r.subjects.clone(),
        }
    }
}

// One lock or unlock of a provider's month as the API shows it (the row
// is `crate::db::month_lock::LockEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = LockEvent))]
/// One lock or unlock of a month.
pub struct LockEventBody {
    pub provider_id: String,
    pub month: String,
    /// `locked` or `unlocked`.
    pub action: String,
    pub by_user_id: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    pub reason: String,
}

impl From<&LockEvent> for LockEventBody {
    fn from(e: &LockEvent) -> Self {
        LockEventBody {
            provider_id: e.provider_id.clone(),
            month: e.month.clone(),
            action: e.action.clone(),
            by_user_id: e.by_user_id.clone(),
            at: e.at,
            reason: e.reason.clone(),
        }
    }
}
