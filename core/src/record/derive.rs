//! One derived visit: its row, status and approval reasons, and whether
//! it changed in what approval and billing rest on.

use super::attribute::attribute;
use super::pending::Pending;
use super::write::Writes;
use crate::db::visit::{Attribution, Visit, VisitFields};
use crate::db::visit_event::VisitEvent;
use crate::db::{ChangeError, RuleError};
use crate::db::{DbConn, StoreError, now};
use crate::domain::Rules;
use crate::domain::pairing::Derived;
use crate::model::{Method, Source, VisitStatus};
use std::collections::HashMap;

/// Derives one visit's row and attribution, and adds what must be written
/// to `writes`. An unchanged visit keeps its approval; a changed one must
/// be approved again.
pub(super) fn plan(
    c: &mut DbConn,
    d: &Derived,
    events: &HashMap<&str, &VisitEvent>,
    rules: Rules,
    existing: Option<(Visit, Attribution)>,
    pending: &mut Pending,
    writes: &mut Writes,
) -> Result<(Visit, Attribution), ChangeError> {
    let check_in = d.check_in.as_deref().and_then(|id| events.get(id)).copied();
    let check_out = d
        .check_out
        .as_deref()
        .and_then(|id| events.get(id))
        .copied();
    let first = check_in.or(check_out).ok_or(StoreError::NotFound)?;
    let in_payload = check_in.map(VisitEvent::payload).unwrap_or_default();
    let out_payload = check_out.map(VisitEvent::payload).unwrap_or_default();
    let seconds = d.seconds();
    let status = match (d.exception, d.is_open()) {
        (Some(_), _) => VisitStatus::Exception,
        (None, true) => VisitStatus::Open,
        (None, false) => VisitStatus::Closed,
    };
    let method = first.method;
    let mut reasons = Vec::new();
    if method == Some(Method::Manual) {
        reasons.push("manual_method");
    }
    if in_payload.unplanned {
        reasons.push("unplanned");
    }
    if check_in
        .or(check_out)
        .is_some_and(|e| e.source == Source::Entry)
    {
        reasons.push("entered_after");
    }
    if d.exception.is_some() {
        reasons.push("exception");
    }
    // A visit belongs to the local day it started, as corrected if it was
    // (a correction moves the visit, not only its minutes).
    let corrected = existing
        .as_ref()
        .map(|(v, _)| (v.corrected_started_at, v.corrected_ended_at))
        .unwrap_or_default();
    let anchor_at = corrected
        .0
        .or(d.started_at)
        .or(corrected.1)
        .or(d.ended_at)
        .unwrap_or(first.occurred_at);
    let fields = VisitFields {
        staff_id: first.staff_id.clone(),
        provider_id: first.provider_id.clone(),
        client_id: d.client_id.clone(),
        check_in_event_id: d.check_in.clone(),
        check_out_event_id: d.check_out.clone(),
        started_at: d.started_at,
        ended_at: d.ended_at,
        seconds: seconds.and_then(|s| i32::try_from(s).ok()),
        local_date: crate::domain::local_date(anchor_at.and_utc(), rules.tz),
        status,
        exception: d.exception,
        method,
        double_staffing: in_payload.double_staffing,
        approval_reasons: reasons.join(","),
        verified: check_in.zip(check_out).is_some_and(|(i, o)| {
            crate::domain::continuity::verifies(i.source, i.method)
                && crate::domain::continuity::verifies(o.source, o.method)
        }),
    };
    // Services share the visit's time as corrected, if it was; a visit
    // with an end or start missing has no time to share yet.
    let (existing, old_attr) = match existing {
        Some((v, a)) => (Some(v), a),
        None => (None, Attribution::default()),
    };
    let start = existing
        .as_ref()
        .and_then(|v| v.corrected_started_at)
        .or(d.started_at);
    let end = existing
        .as_ref()
        .and_then(|v| v.corrected_ended_at)
        .or(d.ended_at);
    let shared = match (start, end) {
        (Some(s), Some(e)) if e > s => (e - s).num_seconds(),
        _ => 0,
    };
    let attr = attribute(
        c,
        &d.anchor.visit_id(),
        &d.client_id,
        &out_payload,
        shared,
        &mut pending.weights,
    )?;
    let unchanged = existing
        .as_ref()
        .is_some_and(|old| old.fields == fields && old_attr == attr);
    // What approval and billing rest on: the client, the effective times
    // (a correction wins) and the services. The derived status under a
    // correction may change without touching them.
    let same_effect = existing.as_ref().is_some_and(|old| {
        old.fields.client_id == fields.client_id
            && old.start() == old.corrected_started_at.or(fields.started_at)
            && old.end() == old.corrected_ended_at.or(fields.ended_at)
            && old_attr == attr
    });
    // A late event must not change a visit of a month locked for billing (R6).
    let month = crate::domain::YearMonth::of(fields.local_date);
    // Open past the limit already (the check-in came late, or the
    // check-out that closed it was found to belong elsewhere): the alert
    // rules should see it now, not at the next full run.
    if fields.status == VisitStatus::Open
        && fields
            .started_at
            .is_some_and(|s| (now() - s).num_seconds() > rules.max_seconds)
    {
        pending
            .stale_open
            .insert((fields.client_id.to_string(), month.to_string()));
    }
    if !same_effect && pending.is_locked(c, &fields.provider_id, month)? {
        return Err(RuleError::MonthLocked(month).into());
    }
    let t = now();
    // The row as it will be written (`now` is kept to the microsecond, as
    // both backends store it).
    let written = match existing {
        None => {
            let v = Visit {
                id: d.anchor.visit_id(),
                fields,
                approved_at: None,
                approved_by: None,
                created_at: t,
                updated_at: t,
                corrected_started_at: None,
                corrected_ended_at: None,
                voided: false,
            };
            writes.new_visit(&v);
            v
        }
        Some(old) if unchanged => return Ok((old, old_attr)),
        Some(old) if same_effect => {
            let v = Visit {
                fields,
                updated_at: t,
                ..old
            };
            writes.visit(&v, false);
            return Ok((v, old_attr));
        }
        Some(old) => {
            // Changed: the old approval no longer covers it.
            let v = Visit {
                fields,
                approved_at: None,
                approved_by: None,
                updated_at: t,
                ..old
            };
            writes.visit(&v, true);
            v
        }
    };
    writes.attribution(&written.id, &attr, Some(&old_attr));
    Ok((written, attr))
}
