//! Whose time a visit is and which services it had.

use super::write::write_attribution;
use crate::db::visit::{Attribution, Visit, VisitService, VisitShare};
use crate::db::visit_event::{self, Payload, PerformedService};
use crate::db::{DbConn, StoreError, service};
use crate::domain::split::{ServiceShare, proportional, split_services};
use crate::model::VisitId;
use std::collections::HashMap;

/// Services' standard minutes, whether personal care and whether a care
/// bundle, by id: read once per transaction (`Pending::weights`).
pub(crate) type Weights = HashMap<String, (i32, bool, bool)>;

/// Recomputes a visit's services after its times were corrected.
pub(crate) fn reshare(c: &mut DbConn, v: &Visit) -> Result<(), StoreError> {
    let payload = match &v.fields.check_out_event_id {
        Some(id) => visit_event::get(c, id)?.payload(),
        None => Payload::default(),
    };
    let attr = attribute(
        c,
        &v.id,
        &v.fields.client_id,
        &payload,
        v.elapsed_seconds().unwrap_or(0),
        &mut Weights::new(),
    )?;
    write_attribution(c, &v.id, &attr, None)
}

/// Whose time a visit is and which services it had, from its check-out:
/// the clients' shares (all to the visit's client unless co-habiting
/// clients shared it), and within each client's part its performed
/// services sharing the time (entered minutes first, the rest by standard
/// minutes). Declined services get none.
pub(super) fn attribute(
    c: &mut DbConn,
    visit_id: &VisitId,
    client_id: &str,
    p: &Payload,
    seconds: i64,
    catalogue: &mut Weights,
) -> Result<Attribution, StoreError> {
    let mut shares: Vec<VisitShare> = p
        .shares
        .iter()
        .map(|s| VisitShare {
            visit_id: visit_id.clone(),
            client_id: s.client_id.clone(),
            basis_points: i32::try_from(s.basis_points).unwrap_or(0),
        })
        .collect();
    if shares.is_empty() {
        shares.push(VisitShare {
            visit_id: visit_id.clone(),
            client_id: client_id.into(),
            basis_points: 10_000,
        });
    }
    shares.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    // Those not read yet in this transaction (lock events carry none: no
    // statement).
    let mut missing: Vec<&str> = p
        .services
        .iter()
        .map(|s| s.service_id.as_str())
        .filter(|id| !catalogue.contains_key(*id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        catalogue.extend(service::weights(c, &missing)?);
    }
    let catalogue = &*catalogue;
    let performed: Vec<crate::domain::bundle::Performed<'_>> = p
        .services
        .iter()
        .map(|s| {
            let (_, personal_care, bundle) = catalogue
                .get(s.service_id.as_str())
                .copied()
                .unwrap_or_default();
            crate::domain::bundle::Performed {
                client_id: s.client_id.as_deref().unwrap_or(client_id),
                service_id: &s.service_id,
                personal_care,
                bundle,
            }
        })
        .collect();
    let weights: Vec<i64> = shares.iter().map(|s| i64::from(s.basis_points)).collect();
    let mut services = Vec::new();
    for (share, part) in shares.iter().zip(proportional(seconds, &weights)) {
        let own: Vec<(&PerformedService, &crate::domain::bundle::Performed<'_>)> = p
            .services
            .iter()
            .zip(&performed)
            .filter(|(s, _)| s.client_id.as_deref().unwrap_or(client_id) == share.client_id)
            .collect();
        // A bundle's contents share its time (R19): no weight of their own.
        let split = split_services(
            part,
            &own.iter()
                .map(|(s, b)| ServiceShare {
                    standard_minutes: if crate::domain::bundle::in_bundle(b, &performed) {
                        0
                    } else {
                        catalogue
                            .get(s.service_id.as_str())
                            .map_or(0, |(m, _, _)| u32::try_from(*m).unwrap_or(0))
                    },
                    entered_minutes: s.minutes,
                })
                .collect::<Vec<_>>(),
        );
        let own: Vec<&PerformedService> = own.into_iter().map(|(s, _)| s).collect();
        for (s, secs) in own.iter().zip(split) {
            services.push(VisitService {
                visit_id: visit_id.clone(),
                client_id: share.client_id.clone(),
                service_id: s.service_id.clone(),
                declined: false,
                entered_minutes: s.minutes.and_then(|m| i32::try_from(m).ok()),
                seconds: i32::try_from(secs).unwrap_or(i32::MAX),
            });
        }
    }
    services.extend(p.declined_services.iter().map(|id| VisitService {
        visit_id: visit_id.clone(),
        client_id: client_id.into(),
        service_id: id.clone(),
        declined: true,
        entered_minutes: None,
        seconds: 0,
    }));
    services.sort_by(|a, b| {
        (a.declined, &a.client_id, &a.service_id).cmp(&(b.declined, &b.client_id, &b.service_id))
    });
    services.dedup_by(|a, b| {
        a.declined == b.declined && a.client_id == b.client_id && a.service_id == b.service_id
    });
    Ok(Attribution { shares, services })
}
