//! `POST /api/v1/sync`: what a phone recorded offline, in one batch, in any
//! order. Every item carries its own UUID, so a batch sent twice changes
//! nothing; the answer says per item whether it was applied, a duplicate,
//! or rejected and why.

use super::journal::{self, NoteInput};
use super::visit::{self, CheckInInput, CheckOutInput, Ctx, DeclinedInput, EntryInput};
use super::{Items, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::DbConn;
use hemtid_core::record::{self, Pending, Recorded};
use hemtid_core::validate::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most items in one batch.
pub const MAX_ITEMS: usize = 500;

/// One offline item; `type` says which. (Its schema is written by hand in
/// `openapi::sync_item`.)
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    CheckIn(CheckInInput),
    CheckOut(CheckOutInput),
    Declined(DeclinedInput),
    Entry(EntryInput),
    Note(NoteItem),
}

/// A journal note in a batch: the fields of `POST /clients/{id}/journal`
/// and the client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteItem {
    pub client_id: Uuid,
    pub event_id: Uuid,
    pub written_at: chrono::DateTime<chrono::FixedOffset>,
    pub body: String,
    #[serde(default)]
    pub corrects_note_id: Option<Uuid>,
}

impl NoteItem {
    fn note(&self) -> NoteInput {
        NoteInput {
            event_id: self.event_id,
            written_at: self.written_at,
            body: self.body.clone(),
            corrects_note_id: self.corrects_note_id,
        }
    }
}

/// The batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncInput {
    pub items: Vec<Item>,
}

/// What happened to one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemResult {
    pub event_id: String,
    /// `applied`, `duplicate` or `rejected`.
    pub result: &'static str,
    /// Why it was rejected: a stable code, as in problem+json.
    #[schema(schema_with = crate::error::code_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Item {
    fn event_id(&self) -> Uuid {
        match self {
            Item::CheckIn(i) => i.event_id,
            Item::CheckOut(i) => i.event_id,
            Item::Declined(i) => i.event_id,
            Item::Entry(i) => i.event_id,
            Item::Note(n) => n.event_id,
        }
    }

    fn at(&self) -> chrono::DateTime<chrono::Utc> {
        let t = match self {
            Item::CheckIn(i) => i.occurred_at,
            Item::CheckOut(i) => i.occurred_at,
            Item::Declined(i) => i.occurred_at,
            Item::Entry(i) => i.started_at,
            Item::Note(n) => n.written_at,
        };
        t.with_timezone(&chrono::Utc)
    }
}

/// Each item's outcome, in order. The journal notes are written as they
/// come, and the events all go to the engine in one call
/// (`record::record_items`: one set of statements for all of them, each
/// refused alone). A note reads none of the events (a correction names a
/// note the server answered before), so the order between them changes
/// nothing.
fn apply_all(
    c: &mut DbConn,
    ctx: &Ctx,
    items: &[Item],
    pending: &mut Pending,
) -> Result<Vec<Result<&'static str, ApiError>>, ApiError> {
    let mut out: Vec<Option<Result<&'static str, ApiError>>> = Vec::with_capacity(items.len());
    let (mut places, mut events) = (Vec::new(), Vec::new());
    for (i, item) in items.iter().enumerate() {
        let prepared = match item {
            Item::CheckIn(x) => visit::check_in(c, ctx, x),
            Item::CheckOut(x) => visit::check_out(c, ctx, x),
            Item::Declined(x) => visit::declined(c, ctx, x),
            Item::Entry(x) => visit::entry(c, ctx, x),
            Item::Note(n) => {
                out.push(Some(
                    journal::add(c, ctx, &n.client_id, &n.note()).map(|r| r.result),
                ));
                continue;
            }
        };
        match prepared {
            Ok(event) => {
                places.push(i);
                events.push(event);
                out.push(None);
            }
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let recorded = record::record_items(c, &events, pending)?;
    for (i, r) in places.into_iter().zip(recorded) {
        out[i] = Some(match r {
            Ok(Recorded::Applied { .. }) => Ok("applied"),
            Ok(Recorded::Duplicate { .. }) => Ok("duplicate"),
            Err(e) => Err(e.into()),
        });
    }
    out.into_iter()
        .map(|o| o.ok_or_else(|| ApiError::internal("an item without an outcome")))
        .collect()
}

/// What an item's outcome answers. An item refused for what it is
/// (invalid, unknown, a locked month) is `rejected` and the phone drops it;
/// a failure of the server (the database unavailable, an internal error)
/// says nothing about the item, so it fails the whole batch (503 or 500)
/// and the phone sends it again, where the items applied before come back
/// as `duplicate`. Answering it as `rejected` lost valid registrations
/// (found by the PostgreSQL-stop drill: 16 of 78 offline items).
fn result_of(
    event_id: String,
    outcome: Result<&'static str, ApiError>,
) -> Result<ItemResult, ApiError> {
    match outcome {
        Ok(result) => Ok(ItemResult {
            event_id,
            result,
            code: None,
            detail: None,
            errors: Vec::new(),
        }),
        Err(e) if matches!(e.code(), ErrorCode::NotReady | ErrorCode::InternalError) => Err(e),
        Err(e) => Ok(ItemResult {
            event_id,
            result: "rejected",
            code: Some(e.code().as_str()),
            detail: e.detail().map(str::to_string),
            errors: e.errors().to_vec(),
        }),
    }
}

/// `POST /api/v1/sync`: a batch of offline items, each applied on its own.
///
/// The answer has one result per item, in time order: `applied`,
/// `duplicate` (its `event_id` was seen before) or `rejected` with the
/// problem's `code`, `detail` and field `errors`. A batch that cannot be read
/// (not an object with `items`, an unknown `type`, more than 500 items) is a
/// problem as a whole.
#[utoipa::path(
    post,
    path = "/api/v1/sync",
    tag = "phone",
    security(("bearer" = [])),
    request_body = SyncInput,
    responses(
        (status = 200, description = "One result per item.", body = Items<ItemResult>),
        problem::JsonBody,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn post_sync(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<SyncInput>,
) -> Result<HttpResponse, ApiError> {
    if input.items.len() > MAX_ITEMS {
        return Err(ApiError::field(
            "items",
            "too_many",
            format!("at most {MAX_ITEMS} items a batch"),
        ));
    }
    let now = state.clock.now();
    let directory = state.directory.clone();
    let results = state
        .write(move |c, pending| {
            let ctx = Ctx::load(c, &p, now, &directory)?;
            // In time order, so the answer reads like the day; the result
            // does not depend on it.
            let mut items = input.items;
            items.sort_by_key(|i| (i.at(), i.event_id()));
            let outcomes = apply_all(c, &ctx, &items, pending)?;
            items
                .iter()
                .zip(outcomes)
                .map(|(item, outcome)| result_of(item.event_id().to_string(), outcome))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(list(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_failure_fails_the_batch_and_a_refused_item_is_rejected() {
        let unavailable = ApiError::new(ErrorCode::NotReady);
        assert!(result_of("e1".into(), Err(unavailable)).is_err());
        let internal = ApiError::internal("a bug");
        assert!(result_of("e1".into(), Err(internal)).is_err());
        let refused = result_of("e2".into(), Err(ApiError::not_found())).unwrap();
        assert_eq!(
            (refused.result, refused.code),
            ("rejected", Some("not_found"))
        );
        let applied = result_of("e3".into(), Ok("applied")).unwrap();
        assert_eq!(
            (applied.event_id.as_str(), applied.result),
            ("e3", "applied")
        );
    }
}
