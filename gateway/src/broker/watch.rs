//! Ends connections whose credential no longer holds: a device retired or
//! deleted or its secret rotated, an integration token revoked. The
//! database bumps a version on every such change (migration 000014); the
//! broker reads it four times a second and checks the connections signed
//! in when it moved.

use super::hooks::{Sessions, Signed};
use super::rules::Identity;
use hemtid_core::db::{Pool, StoreError, api_token, device, directory};
use rmqtt::context::ServerContext;
use rmqtt::types::Id;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(250);

pub async fn run(scx: ServerContext, pool: Pool, sessions: Sessions) {
    let mut seen: Option<i64> = None;
    let mut failing = false;
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let p = pool.clone();
        let version = tokio::task::spawn_blocking(move || -> Result<i64, StoreError> {
            directory::credential_version(&mut *p.get()?)
        })
        .await;
        let version = match version {
            Ok(Ok(version)) => version,
            Ok(Err(e)) => {
                unread(&mut failing, &e);
                continue;
            }
            Err(e) => {
                unread(&mut failing, &e);
                continue;
            }
        };
        if std::mem::take(&mut failing) {
            tracing::info!("the credential watch reads the database again");
        }
        if seen == Some(version) {
            continue;
        }
        let signed: Vec<(Id, Signed)> = sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        let p = pool.clone();
        let stale = tokio::task::spawn_blocking(move || stale(&p, signed)).await;
        match stale {
            Ok(Ok(stale)) => {
                for id in stale {
                    sessions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    let mut entry = scx.extends.shared().await.entry(id.clone());
                    if let Err(e) = entry.kick(true, true, true).await {
                        tracing::warn!(error = %e, "could not end a connection whose credential was withdrawn");
                    } else {
                        tracing::info!(client_id = ?id.client_id.to_string(), "ended a connection whose credential was withdrawn");
                    }
                }
                seen = Some(version);
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "could not check the broker's connections"),
            Err(e) => tracing::debug!(error = %e, "could not check the broker's connections"),
        }
    }
}

/// A failed read of the credentials' version: said once at warn when the
/// reads begin to fail (four a second would fill the log), then at debug.
fn unread(failing: &mut bool, e: &dyn std::fmt::Display) {
    if *failing {
        tracing::debug!(error = %e, "the credential watch could not read the database");
    } else {
        tracing::warn!(
            error = %e,
            "the credential watch could not read the database: a withdrawn device or token \
             keeps its connection until it can; trying again"
        );
        *failing = true;
    }
}

/// The connections whose device or token no longer signs in as it did.
fn stale(pool: &Pool, signed: Vec<(Id, Signed)>) -> Result<Vec<Id>, StoreError> {
    let mut c = pool.get()?;
    let devices: Vec<String> = signed
        .iter()
        .filter_map(|(_, s)| match &s.identity {
            Identity::Device { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    let tokens: Vec<String> = signed
        .iter()
        .filter_map(|(_, s)| match &s.identity {
            Identity::Integration { token_id, .. } => Some(token_id.clone()),
            _ => None,
        })
        .collect();
    let device_ok: HashMap<String, String> = device::credentials_of(&mut c, &devices)?
        .into_iter()
        .filter(|(_, status, _)| *status == hemtid_core::model::DeviceStatus::Active)
        .map(|(id, _, hash)| (id, hash))
        .collect();
    let token_ok: HashSet<(String, String)> =
        api_token::active_of(&mut c, &tokens)?.into_iter().collect();
    Ok(signed
        .into_iter()
        .filter(|(_, s)| match &s.identity {
            Identity::Gateway => false,
            Identity::Device { id, .. } => device_ok.get(id) != Some(&s.credential_hash),
            Identity::Integration { token_id, .. } => {
                !token_ok.contains(&(token_id.clone(), s.credential_hash.clone()))
            }
        })
        .map(|(id, _)| id)
        .collect())
}
