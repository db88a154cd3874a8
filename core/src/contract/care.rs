//! The care records' contract types: journal notes, consent decisions,
//! material requests, explanations, absences, the access log and the
//! month lock's log.

use crate::db::absence::Absence;
use crate::db::access_log::AccessRecord;
use crate::db::consent::Consent;
use crate::db::explanation::{Explanation, ExplanationChange};
use crate::db::journal_note::JournalNote;
use crate::db::material_request::MaterialRequest;
use crate::db::month_lock::LockEvent;
use crate::db::utc;
use crate::model::{ConsentState, ExplanationState, RequestState};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

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
            client_id: n.client_id.to_string(),
            provider_id: n.provider_id.to_string(),
            author_id: n.author_id.to_string(),
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
            client_id: c.client_id.to_string(),
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
            client_id: r.client_id.to_string(),
            provider_id: r.provider_id.to_string(),
            caseworker_id: r.caseworker_id.to_string(),
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
            answer_journal: r.answer_journal.as_deref().map(super::json),
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
            client_id: e.client_id.to_string(),
            provider_id: e.provider_id.to_string(),
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
            by_user_id: h.by_user_id.to_string(),
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
            client_id: a.client_id.to_string(),
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
            user_id: r.user_id.to_string(),
            role: r.role.clone(),
            client_id: r.client_id.to_string(),
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
            provider_id: e.provider_id.to_string(),
            month: e.month.clone(),
            action: e.action.clone(),
            by_user_id: e.by_user_id.to_string(),
            at: e.at,
            reason: e.reason.clone(),
        }
    }
}
