//! What a check-out (or an entry) says was done: services by catalogue
//! code, the ones the client declined, and the shares of co-habiting
//! clients.

use super::context::Ctx;
use super::input::{ServiceDone, ShareInput};
use crate::error::ApiError;
use chrono::NaiveDate;
use hemtid_core::db::service::Catalogue;
use hemtid_core::db::visit_event::{ClientShare, Payload, PerformedService};
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::domain::bundle;
use hemtid_core::model::ServiceId;
use hemtid_core::validate::ValidationErrors;
use uuid::Uuid;

/// The services' ids by code in the municipality's catalogue; unknown or
/// inactive codes become errors at `field[i]`.
pub(super) fn resolve_codes(
    catalogue: &Catalogue,
    v: &mut ValidationErrors,
    field: &str,
    codes: &[&str],
) -> Vec<ServiceId> {
    let mut ids = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        match catalogue.by_code(code.trim()) {
            Some(s) if s.active => ids.push(s.id.clone()),
            _ => {
                v.add(
                    format!("{field}[{i}]"),
                    "unknown_service",
                    "no such service in the catalogue",
                );
                ids.push(ServiceId::default());
            }
        }
    }
    ids
}

/// Checks and resolves what a check-out says was done: performed services
/// (by code, optional minutes) and declined ones.
pub(super) fn services_payload(
    c: &mut DbConn,
    v: &mut ValidationErrors,
    ctx: &Ctx,
    done: &Done<'_>,
) -> Result<Payload, ApiError> {
    let (services, declined_services) = (done.services, done.declined_services);
    if services.is_empty() && declined_services.is_empty() {
        v.add(
            "services",
            "required",
            "name the services performed or declined",
        );
    }
    for (i, s) in services.iter().enumerate() {
        if s.minutes.is_some_and(|m| m > 720) {
            v.add(
                format!("services[{i}].minutes"),
                "out_of_range",
                "at most 720",
            );
        }
    }
    let shares = check_shares(c, v, ctx, done)?;
    let sharing: Vec<String> = if shares.is_empty() {
        vec![done.client_id.to_string()]
    } else {
        shares.iter().map(|s| s.client_id.to_string()).collect()
    };
    for (i, s) in services.iter().enumerate() {
        if s.client_id
            .is_some_and(|id| !sharing.contains(&id.to_string()))
        {
            v.add(
                format!("services[{i}].client_id"),
                "not_sharing",
                "not a client of this visit",
            );
        }
    }
    let catalogue = ctx.catalogue(c)?;
    let codes: Vec<&str> = services.iter().map(|s| s.code.as_str()).collect();
    let ids = resolve_codes(&catalogue, v, "services", &codes);
    // R19: a care bundle needs three personal-care services beside it.
    let kinds = catalogue.kinds(&ids);
    let whose: Vec<String> = services
        .iter()
        .map(|s| s.client_id.unwrap_or(*done.client_id).to_string())
        .collect();
    let performed: Vec<bundle::Performed<'_>> = ids
        .iter()
        .zip(&whose)
        .filter_map(|(id, client_id)| {
            let (personal_care, is_bundle) = *kinds.get(id)?;
            Some(bundle::Performed {
                client_id,
                service_id: id,
                personal_care,
                bundle: is_bundle,
            })
        })
        .collect();
    if !bundle::incomplete(&performed).is_empty() {
        v.add(
            "services",
            "care_bundle_incomplete",
            format!(
                "a care bundle (omvårdnadspaket) needs at least {} other personal-care services of the same client registered in the same visit (R19)",
                bundle::MIN_CONTENTS
            ),
        );
    }
    let declined_codes: Vec<&str> = declined_services.iter().map(String::as_str).collect();
    let declined = resolve_codes(&catalogue, v, "declined_services", &declined_codes);
    Ok(Payload {
        services: ids
            .into_iter()
            .zip(services)
            .map(|(service_id, s)| PerformedService {
                service_id,
                client_id: s.client_id.map(|u| u.to_string().into()),
                minutes: s.minutes,
            })
            .collect(),
        declined_services: declined,
        shares,
        ..Payload::default()
    })
}

/// What a check-out (or an entry) says was done, and for whom.
pub(super) struct Done<'a> {
    pub client_id: &'a Uuid,
    pub day: NaiveDate,
    pub services: &'a [ServiceDone],
    pub declined_services: &'a [String],
    pub shares: &'a [ShareInput],
}

/// Co-habiting clients sharing a visit (sammanboende): whole percents
/// adding up to 100, the visit's own client among them, the others living
/// in the same household with an order at the provider that day.
fn check_shares(
    c: &mut DbConn,
    v: &mut ValidationErrors,
    ctx: &Ctx,
    done: &Done<'_>,
) -> Result<Vec<ClientShare>, ApiError> {
    if done.shares.is_empty() {
        return Ok(Vec::new());
    }
    // In u64: four shares of four billion percent add up without wrapping.
    let total: u64 = done.shares.iter().map(|s| u64::from(s.percent)).sum();
    if total != 100 || done.shares.iter().any(|s| s.percent == 0) {
        v.add(
            "shares",
            "invalid_total",
            "whole percents above zero adding up to 100",
        );
    }
    if !done.shares.iter().any(|s| s.client_id == *done.client_id) {
        v.add(
            "shares",
            "missing_visit_client",
            "the visit's own client must have a share",
        );
    }
    let own = ctx
        .lookup
        .household(c, &ctx.municipality.id, &done.client_id.to_string())?
        .ok_or(StoreError::NotFound)?;
    let mut seen = Vec::new();
    for (i, s) in done.shares.iter().enumerate() {
        if seen.contains(&s.client_id) {
            v.add(
                format!("shares[{i}].client_id"),
                "duplicate",
                "each client once",
            );
            continue;
        }
        seen.push(s.client_id);
        if s.client_id == *done.client_id {
            continue;
        }
        let id = s.client_id.to_string();
        let other = ctx.lookup.household(c, &ctx.municipality.id, &id)?;
        let same_home = matches!(&other, Some(home) if home.is_some() && *home == own);
        if !same_home {
            v.add(
                format!("shares[{i}].client_id"),
                "not_in_household",
                "not a client of the same household",
            );
        } else if !ctx.lookup.has_order(c, &id, &ctx.provider_id, done.day)? {
            v.add(
                format!("shares[{i}].client_id"),
                "no_order",
                "no order at your provider that day",
            );
        }
    }
    Ok(done
        .shares
        .iter()
        .map(|s| ClientShare {
            client_id: s.client_id.to_string().into(),
            // Refused above when over 100; never an overflow on the way.
            basis_points: s.percent.saturating_mul(100),
        })
        .collect())
}
