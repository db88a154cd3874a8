//! When each care worker's phone last reached hemtid (issue 25's offline
//! caveat): every signed-in request of the staff role counts, and is
//! written at most once a minute per care worker, after the answer, so
//! that neither a request nor the database waits for it.

use crate::AppState;
use actix_web::web;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How often one care worker's contact is written.
const EVERY_SECONDS: i64 = 60;

/// The last contact written per care worker, in this process.
#[derive(Default)]
pub struct PhoneSeen(Mutex<HashMap<String, DateTime<Utc>>>);

impl PhoneSeen {
    /// Whether `staff_id`'s contact at `now` is to be written (and, if so,
    /// it is counted as written).
    fn due(&self, staff_id: &str, now: DateTime<Utc>) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        match seen.get(staff_id) {
            Some(at) if now - *at < Duration::seconds(EVERY_SECONDS) && now >= *at => false,
            _ => {
                seen.insert(staff_id.to_string(), now);
                true
            }
        }
    }
}

/// Notes that a care worker's phone reached hemtid now.
pub fn seen(state: &web::Data<AppState>, staff_id: &str) {
    let now = state.clock.now();
    if !state.phone_seen.due(staff_id, now) {
        return;
    }
    let state = state.clone();
    let staff_id = staff_id.to_string();
    actix_web::rt::spawn(async move {
        let written = state
            .db(move |c| {
                Ok(hemtid_core::db::phone_contact::touch(
                    c,
                    &staff_id,
                    now.naive_utc(),
                )?)
            })
            .await;
        if let Err(e) = written {
            // The caveat then says an older time; nothing else is lost.
            tracing::warn!(error = ?e, "a phone's contact was not written");
        }
    });
}
