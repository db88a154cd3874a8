//! The care journal (daganteckningar): written by care workers, read by
//! their provider. Notes are never edited: a correction is a new note that
//! points to the old one.

use super::visit::Ctx;
use super::{Items, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, FixedOffset, Utc};
use hemtid_core::contract::JournalNoteBody;
use hemtid_core::db::journal_note::{self, JournalNote, NewNote};
use hemtid_core::db::{DbConn, access, new_id, now};
use hemtid_core::domain::local_date;
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/v1/clients/{id}/journal`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// Made by the phone; sending it again is harmless.
    pub event_id: Uuid,
    pub written_at: DateTime<FixedOffset>,
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
    /// The note this one corrects.
    #[serde(default)]
    pub corrects_note_id: Option<Uuid>,
}

/// A note and whether it was new.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteResult {
    /// `applied` or `duplicate`.
    #[schema(example = "applied")]
    pub result: &'static str,
    pub note: JournalNoteBody,
}

pub(crate) fn add(
    c: &mut DbConn,
    ctx: &Ctx,
    client_id: &Uuid,
    input: &NoteInput,
) -> Result<NoteResult, ApiError> {
    let mut v = ValidationErrors::new();
    let body = v.text("body", &input.body, 4000);
    let at = input.written_at.with_timezone(&Utc);
    if (at - ctx.now).num_minutes() > 10 {
        v.add(
            "written_at",
            "in_future",
            "the time is in the future: check the phone's clock",
        );
    }
    let client = client_id.to_string();
    if let Some(old) = &input.corrects_note_id {
        match journal_note::get(c, &old.to_string()) {
            Ok(n) if n.client_id == client && n.provider_id == ctx.provider_id => {}
            _ => v.add(
                "corrects_note_id",
                "unknown_reference",
                "no such note of this client",
            ),
        }
    }
    v.into_result(())?;
    let day = local_date(at, ctx.rules.tz);
    access::active_order(c, &client, &ctx.provider_id, day)?.ok_or_else(|| {
        ApiError::with_detail(
            ErrorCode::NotFound,
            "no such client with an order at your provider that day",
        )
    })?;
    if let Some(existing) = journal_note::find(c, &ctx.staff_id, &input.event_id.to_string())? {
        return Ok(NoteResult {
            result: "duplicate",
            note: JournalNoteBody::from(&existing),
        });
    }
    let note = NewNote {
        id: new_id(),
        source_key: ctx.staff_id.clone(),
        event_id: input.event_id.to_string(),
        client_id: client.into(),
        provider_id: ctx.provider_id.clone().into(),
        author_id: ctx.staff_id.clone().into(),
        visit_event_id: None,
        corrects_note_id: input.corrects_note_id.map(|u| u.to_string()),
        written_at: at.naive_utc(),
        received_at: now(),
        body,
    };
    if !journal_note::insert(c, &note)? {
        let existing = journal_note::find(c, &ctx.staff_id, &note.event_id)?
            .ok_or_else(ApiError::not_found)?;
        return Ok(NoteResult {
            result: "duplicate",
            note: JournalNoteBody::from(&existing),
        });
    }
    Ok(NoteResult {
        result: "applied",
        note: JournalNoteBody::from(&journal_note::get(c, &note.id)?),
    })
}

/// `POST /api/v1/clients/{id}/journal`: a care worker's note on a client
/// with an order at the worker's provider. A correction points to the note
/// it corrects; notes are never changed.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/journal",
    tag = "journal",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = NoteInput,
    responses(
        (status = 201, description = "Stored.", body = NoteResult),
        (
            status = 200,
            description = "A duplicate (same `event_id`): the note stored before.",
            body = NoteResult,
        ),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn post_note(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<NoteInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let directory = state.directory.clone();
    let r = state
        .db(move |c| {
            let ctx = Ctx::load(c, &p, now, &directory)?;
            add(c, &ctx, &id, &input)
        })
        .await?;
    Ok(if r.result == "applied" {
        HttpResponse::Created().json(r)
    } else {
        HttpResponse::Ok().json(r)
    })
}

/// `GET /api/v1/clients/{id}/journal`: the notes on the client, oldest
/// first. Staff and provider admins read their provider's; a caseworker
/// reads with the client's consent, or without it the notes of a provider
/// that is one board with the caseworker's unit (R14); otherwise 403
/// `consent_required`. Every read is written to the access log.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/journal",
    tag = "journal",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The notes, oldest first.", body = Items<JournalNoteBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_notes(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff, Role::ProviderAdmin, Role::Caseworker])?;
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let cl = super::client_in_reach(c, &p, &id.to_string(), now)?;
            let readable = super::care_plan::read_gate(c, &p, &cl)?;
            let notes: Vec<JournalNote> = journal_note::for_client(c, &cl.id)?
                .into_iter()
                .filter(|n| readable.allows(&n.provider_id))
                .collect();
            let authors = notes.iter().map(|n| n.author_id.to_string()).collect();
            super::log_read(c, &p, &cl.id, "journal", authors)?;
            Ok(notes)
        })
        .await?;
    Ok(list(items.iter().map(JournalNoteBody::from).collect()))
}
