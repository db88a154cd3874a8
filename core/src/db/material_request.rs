//! Requests for material (R15): before a follow-up the caseworker asks the
//! provider in writing for the updated plan (or why it was not updated),
//! the journal notes of a period, anything the provider wants to say, and
//! why not all ordered time was performed. The provider answers once, with
//! a plan version, a journal compilation hemtid makes for the period, and
//! text; the caseworker closes it. Both sides see its state.

use super::schema::{journal_note, material_request};
use super::{DbConn, StoreError, new_id};
use crate::db::{ChangeError, RuleError};
use crate::model::{ClientId, ProviderId, RequestState, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A request and, once answered, its answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = material_request)]
pub struct MaterialRequest {
    pub id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub caseworker_id: UserId,
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
    pub state: RequestState,
    pub created_at: NaiveDateTime,
    pub answer_plan_version_id: Option<String>,
    /// Why the plan was not updated, when it was not.
    pub answer_plan_note: String,
    /// The compiled notes of the period, as hemtid made them on answering
    /// (JSON).
    pub answer_journal: Option<String>,
    pub answer_comment: String,
    pub answer_unperformed: String,
    pub answered_by: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

/// What the caseworker asks for.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub client_id: &'a str,
    pub provider_id: &'a str,
    pub caseworker_id: &'a str,
    pub plan: bool,
    pub journal: Option<(NaiveDate, NaiveDate)>,
    pub comment: bool,
    pub unperformed: bool,
    pub message: &'a str,
    pub due_on: NaiveDate,
}

/// Sends a request.
pub fn send(c: &mut DbConn, a: &Ask<'_>, at: NaiveDateTime) -> Result<MaterialRequest, StoreError> {
    let id = new_id();
    diesel::insert_into(material_request::table)
        .values((
            material_request::id.eq(&id),
            material_request::client_id.eq(a.client_id),
            material_request::provider_id.eq(a.provider_id),
            material_request::caseworker_id.eq(a.caseworker_id),
            material_request::asks_plan.eq(a.plan),
            material_request::asks_journal.eq(a.journal.is_some()),
            material_request::journal_from.eq(a.journal.map(|j| j.0)),
            material_request::journal_to.eq(a.journal.map(|j| j.1)),
            material_request::asks_comment.eq(a.comment),
            material_request::asks_unperformed.eq(a.unperformed),
            material_request::message.eq(a.message),
            material_request::due_on.eq(a.due_on),
            material_request::state.eq(RequestState::Sent),
            material_request::created_at.eq(at),
        ))
        .execute(c)?;
    get(c, &id)
}

pub fn get(c: &mut DbConn, id: &str) -> Result<MaterialRequest, StoreError> {
    Ok(material_request::table
        .find(id)
        .select(MaterialRequest::as_select())
        .first(c)?)
}

/// Who lists requests.
#[derive(Debug, Clone, Copy)]
pub enum Party<'a> {
    Provider(&'a str),
    Caseworker(&'a str),
}

/// Requests, newest first.
pub fn list(c: &mut DbConn, p: Party<'_>) -> Result<Vec<MaterialRequest>, StoreError> {
    let q = material_request::table
        .order((material_request::created_at.desc(), material_request::id))
        .select(MaterialRequest::as_select());
    Ok(match p {
        Party::Provider(id) => q.filter(material_request::provider_id.eq(id)).load(c)?,
        Party::Caseworker(id) => q.filter(material_request::caseworker_id.eq(id)).load(c)?,
    })
}

/// The provider's answer.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub plan_version_id: Option<&'a str>,
    pub plan_note: &'a str,
    pub comment: &'a str,
    pub unperformed: &'a str,
    pub by: &'a str,
}

/// The provider's notes on the client written in `[from, to)` (UTC
/// instants of the local days), oldest first, as stored in the answer.
pub fn compile_journal(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<serde_json::Value, StoreError> {
    let notes: Vec<(String, String, NaiveDateTime, String, Option<String>)> = journal_note::table
        .filter(journal_note::client_id.eq(client_id))
        .filter(journal_note::provider_id.eq(provider_id))
        .filter(journal_note::written_at.ge(from))
        .filter(journal_note::written_at.lt(to))
        .order((journal_note::written_at, journal_note::id))
        .select((
            journal_note::id,
            journal_note::author_id,
            journal_note::written_at,
            journal_note::body,
            journal_note::corrects_note_id,
        ))
        .load(c)?;
    Ok(serde_json::Value::Array(
        notes
            .into_iter()
            .map(|(id, author, at, body, corrects)| {
                serde_json::json!({
                    "id": id,
                    "author_id": author,
                    "written_at": format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S%.3f")),
                    "body": body,
                    "corrects_note_id": corrects,
                })
            })
            .collect(),
    ))
}

/// Stores the answer; `journal` is the compilation, when asked for.
pub fn answer(
    c: &mut DbConn,
    id: &str,
    a: &Answer<'_>,
    journal: Option<serde_json::Value>,
    at: NaiveDateTime,
) -> Result<MaterialRequest, ChangeError> {
    super::change(c, |c| {
        if get(c, id)?.state != RequestState::Sent {
            return Err(
                RuleError::WrongState("the request has been answered already".into()).into(),
            );
        }
        diesel::update(material_request::table.find(id))
            .set((
                material_request::state.eq(RequestState::Answered),
                material_request::answer_plan_version_id.eq(a.plan_version_id),
                material_request::answer_plan_note.eq(a.plan_note),
                material_request::answer_journal.eq(journal.map(|j| j.to_string())),
                material_request::answer_comment.eq(a.comment),
                material_request::answer_unperformed.eq(a.unperformed),
                material_request::answered_by.eq(a.by),
                material_request::answered_at.eq(at),
            ))
            .execute(c)?;
        Ok(get(c, id)?)
    })
}

/// The caseworker closes the request (answered or not).
pub fn close(c: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<MaterialRequest, ChangeError> {
    super::change(c, |c| {
        if get(c, id)?.state == RequestState::Closed {
            return Err(RuleError::WrongState("the request is closed already".into()).into());
        }
        diesel::update(material_request::table.find(id))
            .set((
                material_request::state.eq(RequestState::Closed),
                material_request::closed_at.eq(at),
            ))
            .execute(c)?;
        Ok(get(c, id)?)
    })
}
