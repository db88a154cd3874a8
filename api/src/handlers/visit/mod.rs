//! The care worker's phone: check-in, check-out, declined visits and
//! visits entered afterwards, one by one (here) or in an offline batch
//! (`sync`). `input` is what the phone sends, `context` who sends it,
//! `record` the checks and the recording, `services` the services and
//! shares of a check-out, `view` the visits as the API shows them.

mod context;
mod input;
mod record;
mod services;
mod view;

pub(crate) use context::Ctx;
pub use input::{CheckInInput, CheckOutInput, DeclinedInput, EntryInput};
pub(crate) use record::{check_in, check_out, declined, entry};
use view::respond;
pub use view::{RecordedView, VisitPlan, VisitView};
pub(crate) use view::{needs_lookup, recorded_view, views};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::DbConn;
use hemtid_core::record::Item;

/// A phone item: checked on a pooled connection (what it looks up is
/// mostly kept in the directory), recorded by the writer together with
/// the items waiting then, and answered from what the write computed.
async fn submit(
    state: web::Data<AppState>,
    p: Principal,
    prepare: impl FnOnce(&mut DbConn, &Ctx) -> Result<Item, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let directory = state.directory.clone();
    let (item, catalogue) = state
        .db(move |c| {
            let ctx = Ctx::load(c, &p, now, &directory)?;
            let item = prepare(c, &ctx)?;
            Ok((item, ctx.catalogue(c)?))
        })
        .await?;
    let r = state.record(item).await?;
    let view = if needs_lookup(&catalogue, &r) {
        state
            .db(move |c| recorded_view(Some(c), &catalogue, r))
            .await?
    } else {
        recorded_view(None, &catalogue, r)?
    };
    Ok(respond(view))
}

/// `POST /api/v1/visits/check-in`: a care worker arrives at a client.
#[utoipa::path(
    post,
    path = "/api/v1/visits/check-in",
    tag = "phone",
    security(("bearer" = [])),
    request_body = CheckInInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit is open until its check-out arrives (in any order).",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_check_in(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CheckInInput>,
) -> Result<HttpResponse, ApiError> {
    submit(state, p, move |c, ctx| check_in(c, ctx, &input)).await
}

/// `POST /api/v1/visits/check-out`: the care worker leaves; the services
/// performed and declined, and a journal note.
#[utoipa::path(
    post,
    path = "/api/v1/visits/check-out",
    tag = "phone",
    security(("bearer" = [])),
    request_body = CheckOutInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit it closes, or an exception without a check-in.",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_check_out(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CheckOutInput>,
) -> Result<HttpResponse, ApiError> {
    submit(state, p, move |c, ctx| check_out(c, ctx, &input)).await
}

/// `POST /api/v1/visits/entries`: a whole visit registered afterwards; it
/// waits for a provider admin's approval.
#[utoipa::path(
    post,
    path = "/api/v1/visits/entries",
    tag = "phone",
    security(("bearer" = [])),
    request_body = EntryInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit, waiting for approval.",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_entry(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<EntryInput>,
) -> Result<HttpResponse, ApiError> {
    submit(state, p, move |c, ctx| entry(c, ctx, &input)).await
}

/// `POST /api/v1/visits/declined`: the client said no to a visit (R21).
#[utoipa::path(
    post,
    path = "/api/v1/visits/declined",
    tag = "phone",
    security(("bearer" = [])),
    request_body = DeclinedInput,
    responses(
        (status = 201, description = "Applied: the declined visit.", body = RecordedView),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_declined(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<DeclinedInput>,
) -> Result<HttpResponse, ApiError> {
    submit(state, p, move |c, ctx| declined(c, ctx, &input)).await
}
