//! A phone item checked and made into the visit engine's item (its events
//! and note): the same checks for items one by one and in an offline batch
//! (`/sync`). The items are recorded by `hemtid_core::record::record_items`,
//! those waiting together.

use super::context::Ctx;
use super::input::{CheckInInput, CheckOutInput, DeclinedInput, EntryInput, Method};
use super::services::{Done, resolve_codes, services_payload};
use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, FixedOffset, Utc};
use hemtid_core::db::journal_note::NewNote;
use hemtid_core::db::visit_event::{NewVisitEvent, Payload};
use hemtid_core::db::{DbConn, StoreError, new_id};
use hemtid_core::domain::{EventKind, MAX_AGE_DAYS, Method as DomainMethod, Source, local_date};
use hemtid_core::intake::{self, Item, Timing};
use hemtid_core::record;
use hemtid_core::validate::ValidationErrors;
use uuid::Uuid;

fn check_time(v: &mut ValidationErrors, ctx: &Ctx, at: &DateTime<FixedOffset>) {
    match intake::check_time(at.with_timezone(&Utc), ctx.now) {
        Ok(()) => {}
        Err(Timing::InFuture) => v.add(
            "occurred_at",
            "in_future",
            "the time is in the future: check the phone's clock",
        ),
        Err(Timing::TooOld) => v.add(
            "occurred_at",
            "too_old",
            format!("older than {MAX_AGE_DAYS} days"),
        ),
    }
}

fn check_method(
    v: &mut ValidationErrors,
    method: Option<Method>,
    tag_uid: &Option<String>,
    lock_id: &Option<String>,
    reason: &Option<String>,
) -> Option<String> {
    let present = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (tag, lock) = (present(tag_uid), present(lock_id));
    for (field, val) in [
        ("tag_uid", &tag),
        ("lock_id", &lock),
        ("reason", &present(reason)),
    ] {
        if val.as_ref().is_some_and(|s| s.chars().count() > 500) {
            v.add(field, "too_long", "at most 500 characters");
        }
    }
    match method {
        Some(Method::Nfc) if tag.is_none() => {
            v.add("tag_uid", "required", "an NFC check-in names the tag")
        }
        Some(Method::Lock) if lock.is_none() => {
            v.add("lock_id", "required", "a lock check-in names the lock")
        }
        Some(Method::Manual) if present(reason).is_none() => {
            v.add("reason", "required", "a manual registration needs a reason")
        }
        _ => {}
    }
    match method {
        Some(Method::Nfc) => tag,
        Some(Method::Lock) => lock,
        _ => None,
    }
}

/// The client must have an order at the staff member's provider on the
/// day of the event; anything else is "not found".
fn check_client(
    c: &mut DbConn,
    ctx: &Ctx,
    client_id: &Uuid,
    at: &DateTime<FixedOffset>,
) -> Result<(), ApiError> {
    let day = local_date(at.with_timezone(&Utc), ctx.rules.tz);
    let id = client_id.to_string();
    if ctx
        .lookup
        .household(c, &ctx.municipality.id, &id)?
        .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    if ctx.lookup.has_order(c, &id, &ctx.provider_id, day)? {
        Ok(())
    } else {
        Err(ApiError::with_detail(
            ErrorCode::NotFound,
            "no such client with an order at your provider that day",
        ))
    }
}

/// The fields every phone item has.
struct Head<'a> {
    /// A phone's item, or an entry: a visit registered afterwards.
    source: Source,
    event_id: String,
    client_id: &'a Uuid,
    at: &'a DateTime<FixedOffset>,
}

fn new_event(
    ctx: &Ctx,
    kind: EventKind,
    head: Head<'_>,
    method: Option<DomainMethod>,
    method_ref: Option<String>,
    reason: Option<String>,
    payload: Payload,
) -> Result<NewVisitEvent, ApiError> {
    Ok(Item {
        source: head.source,
        source_key: ctx.staff_id.clone(),
        event_id: head.event_id,
        kind,
        staff_id: ctx.staff_id.clone().into(),
        client_id: head.client_id.to_string().into(),
        provider_id: ctx.provider_id.clone().into(),
        occurred_at: head.at.with_timezone(&Utc),
        method,
        method_ref,
        reason,
        payload,
    }
    .into_event(ctx.rules.tz)?)
}

pub(crate) fn check_in(
    c: &mut DbConn,
    ctx: &Ctx,
    input: &CheckInInput,
) -> Result<record::Item, ApiError> {
    let mut v = ValidationErrors::new();
    check_time(&mut v, ctx, &input.occurred_at);
    let method_ref = check_method(
        &mut v,
        Some(input.method),
        &input.tag_uid,
        &input.lock_id,
        &input.reason,
    );
    if input.unplanned && input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        v.add("reason", "required", "an unplanned visit needs a reason");
    }
    v.into_result(())?;
    check_client(c, ctx, &input.client_id, &input.occurred_at)?;
    let payload = Payload {
        double_staffing: input.double_staffing,
        unplanned: input.unplanned,
        ..Payload::default()
    };
    let e = new_event(
        ctx,
        EventKind::CheckIn,
        Head {
            source: Source::Phone,
            event_id: input.event_id.to_string(),
            client_id: &input.client_id,
            at: &input.occurred_at,
        },
        Some(input.method.into()),
        method_ref,
        input.reason.clone(),
        payload,
    )?;
    Ok(record::Item {
        events: vec![e],
        note: None,
        rules: ctx.rules,
    })
}

/// The journal note written with a check-out, under the same event id.
fn note_with(
    ctx: &Ctx,
    e: &NewVisitEvent,
    event_id: &Uuid,
    body: Option<String>,
) -> Option<NewNote> {
    body.map(|body| NewNote {
        id: new_id(),
        source_key: ctx.staff_id.clone(),
        event_id: event_id.to_string(),
        client_id: e.client_id.to_string().into(),
        provider_id: ctx.provider_id.clone().into(),
        author_id: ctx.staff_id.clone().into(),
        visit_event_id: Some(e.id.to_string()),
        corrects_note_id: None,
        written_at: e.occurred_at,
        received_at: e.received_at,
        body,
    })
}

pub(crate) fn check_out(
    c: &mut DbConn,
    ctx: &Ctx,
    input: &CheckOutInput,
) -> Result<record::Item, ApiError> {
    let mut v = ValidationErrors::new();
    check_time(&mut v, ctx, &input.occurred_at);
    let method_ref = check_method(
        &mut v,
        input.method,
        &input.tag_uid,
        &input.lock_id,
        &input.reason,
    );
    let note = v.optional_text("note", input.note.as_deref(), 4000);
    let done = Done {
        client_id: &input.client_id,
        day: local_date(input.occurred_at.with_timezone(&Utc), ctx.rules.tz),
        services: &input.services,
        declined_services: &input.declined_services,
        shares: &input.shares,
    };
    let payload = services_payload(c, &mut v, ctx, &done)?;
    v.into_result(())?;
    check_client(c, ctx, &input.client_id, &input.occurred_at)?;
    let e = new_event(
        ctx,
        EventKind::CheckOut,
        Head {
            source: Source::Phone,
            event_id: input.event_id.to_string(),
            client_id: &input.client_id,
            at: &input.occurred_at,
        },
        input.method.map(Into::into),
        method_ref,
        input.reason.clone(),
        payload,
    )?;
    let note = note_with(ctx, &e, &input.event_id, note);
    Ok(record::Item {
        events: vec![e],
        note,
        rules: ctx.rules,
    })
}

pub(crate) fn entry(
    c: &mut DbConn,
    ctx: &Ctx,
    input: &EntryInput,
) -> Result<record::Item, ApiError> {
    let mut v = ValidationErrors::new();
    check_time(&mut v, ctx, &input.started_at);
    if v.is_empty() {
        check_time(&mut v, ctx, &input.ended_at);
    }
    if input.ended_at <= input.started_at {
        v.add(
            "ended_at",
            "before_start",
            "the visit must end after it starts",
        );
    }
    let reason = v.text("reason", &input.reason, 500);
    let note = v.optional_text("note", input.note.as_deref(), 4000);
    let done = Done {
        client_id: &input.client_id,
        day: local_date(input.started_at.with_timezone(&Utc), ctx.rules.tz),
        services: &input.services,
        declined_services: &input.declined_services,
        shares: &input.shares,
    };
    let out_payload = services_payload(c, &mut v, ctx, &done)?;
    v.into_result(())?;
    check_client(c, ctx, &input.client_id, &input.started_at)?;
    let in_payload = Payload {
        double_staffing: input.double_staffing,
        ..Payload::default()
    };
    let event = |kind, suffix: &str, at, payload| {
        new_event(
            ctx,
            kind,
            Head {
                source: Source::Entry,
                event_id: format!("{}/{suffix}", input.event_id),
                client_id: &input.client_id,
                at,
            },
            Some(DomainMethod::Entry),
            None,
            Some(reason.clone()),
            payload,
        )
    };
    let check_in = event(EventKind::CheckIn, "in", &input.started_at, in_payload)?;
    let check_out = event(EventKind::CheckOut, "out", &input.ended_at, out_payload)?;
    let note = note_with(ctx, &check_out, &input.event_id, note);
    // Both halves or neither: one item.
    Ok(record::Item {
        events: vec![check_in, check_out],
        note,
        rules: ctx.rules,
    })
}

pub(crate) fn declined(
    c: &mut DbConn,
    ctx: &Ctx,
    input: &DeclinedInput,
) -> Result<record::Item, ApiError> {
    let mut v = ValidationErrors::new();
    check_time(&mut v, ctx, &input.occurred_at);
    let reason = v.text("reason", &input.reason, 500);
    let codes: Vec<&str> = input.services.iter().map(String::as_str).collect();
    let ids = resolve_codes(&*ctx.catalogue(c)?, &mut v, "services", &codes);
    v.into_result(())?;
    check_client(c, ctx, &input.client_id, &input.occurred_at)?;
    let payload = Payload {
        declined_services: ids,
        ..Payload::default()
    };
    let e = new_event(
        ctx,
        EventKind::Declined,
        Head {
            source: Source::Phone,
            event_id: input.event_id.to_string(),
            client_id: &input.client_id,
            at: &input.occurred_at,
        },
        None,
        None,
        Some(reason),
        payload,
    )?;
    Ok(record::Item {
        events: vec![e],
        note: None,
        rules: ctx.rules,
    })
}
