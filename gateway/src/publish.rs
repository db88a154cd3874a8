//! What the gateway publishes besides receipts: alerts and plan lists
//! from the outbox, and the locks' signed configurations.

use crate::error::{Error, blocking};
use chrono::Utc;
use hemtid_core::db::{Pool, alert, digital_key};
use rumqttc::{AsyncClient, QoS};
use std::time::Duration;
use tokio::sync::watch;

/// The outbox cursor of the MQTT alert publisher (shared by gateways:
/// whoever moves it first publishes that stretch).
const ALERT_CURSOR: &str = "mqtt-alerts";

/// Publishes new and changed alerts from the outbox (QoS 1), in order,
/// while connected. The cursor is kept in the database, so a restart goes
/// on where the last run stopped (a crash between publishing and noting it
/// publishes those alerts again: consumers key on `id` and `seq`).
pub(crate) async fn publish_alerts(client: AsyncClient, pool: Pool, ready: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(150));
    loop {
        tick.tick().await;
        if !*ready.borrow() {
            continue;
        }
        let read = blocking(&pool, |c| {
            let from = alert::cursor(c, ALERT_CURSOR)?;
            Ok((from, alert::events_after(c, from, 200)?))
        })
        .await;
        let (from, events) = match read {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the alert outbox");
                continue;
            }
        };
        publish_plan_lists(&client, &pool).await;
        let Some(to) = events.last().map(|(s, _)| *s) else {
            continue;
        };
        for (seq, a) in &events {
            let bytes = match crate::alert_payload(*seq, a) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "could not encode an alert");
                    continue;
                }
            };
            for topic in crate::alert_topics(a) {
                if let Err(e) = client
                    .publish(topic, QoS::AtLeastOnce, false, bytes.clone())
                    .await
                {
                    tracing::warn!(error = %e, "could not publish an alert");
                }
            }
        }
        let moved = blocking(&pool, move |c| {
            Ok(alert::advance_cursor(c, ALERT_CURSOR, from, to)?)
        })
        .await;
        match moved {
            Ok(true) => {}
            Ok(false) => tracing::debug!("another gateway published these alerts too"),
            Err(e) => tracing::warn!(error = %e, "could not note the published alerts"),
        }
    }
}

/// The outbox cursor of the monthly plan lists.
const PLAN_LIST_CURSOR: &str = "mqtt-plan-lists";

/// Publishes the monthly lists of clients without a care plan (R10) made
/// since the last time, to the provider and the authority.
async fn publish_plan_lists(client: &AsyncClient, pool: &Pool) {
    let read = blocking(pool, |c| {
        let from = alert::cursor(c, PLAN_LIST_CURSOR)?;
        Ok((
            from,
            hemtid_core::evaluate::deadlines::lists_after(c, from, 100)?,
        ))
    })
    .await;
    let (from, lists) = match read {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the plan lists");
            return;
        }
    };
    let Some(to) = lists.last().map(|l| l.seq) else {
        return;
    };
    for l in &lists {
        let Ok(bytes) = serde_json::to_vec(&l.payload()) else {
            continue;
        };
        for topic in crate::plan_list_topics(l) {
            if let Err(e) = client
                .publish(topic, QoS::AtLeastOnce, false, bytes.clone())
                .await
            {
                tracing::warn!(error = %e, "could not publish a plan list");
            }
        }
    }
    let moved = blocking(pool, move |c| {
        Ok(alert::advance_cursor(c, PLAN_LIST_CURSOR, from, to)?)
    })
    .await;
    if let Err(e) = moved {
        tracing::warn!(error = %e, "could not note the published plan lists");
    }
}

/// Lock configurations claimed and published per round (every 500 ms).
const CONFIGS_PER_ROUND: i64 = 200;

/// Publishes each lock's configuration (public key, revoked keys, a
/// version that only grows), signed with the lock-signing key the locks
/// pinned at enrolment, as a retained message when it changed, while
/// connected. Without the key nothing is published: a lock ignores an
/// unsigned configuration.
pub(crate) async fn publish_configs(
    client: AsyncClient,
    pool: Pool,
    ready: watch::Receiver<bool>,
    keys: Option<hemtid_core::auth::lock_keys::LockKeys>,
) {
    let Some(keys) = keys else {
        tracing::warn!("no lock-signing key: the locks' configurations are not published");
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if !*ready.borrow() {
            continue;
        }
        let now = Utc::now().naive_utc();
        let keys = keys.clone();
        let due = blocking(&pool, move |c| {
            let mut out: Vec<(String, Vec<u8>)> = Vec::new();
            // A few hundred a round: after a start every lock is due, and
            // thousands of claims and publishes at once starved the
            // gateway's own subscription and acks (found by the simulator).
            for lock in digital_key::dirty_locks(c, CONFIGS_PER_ROUND)? {
                let Some(version) = digital_key::claim(c, &lock.id)? else {
                    continue;
                };
                let cfg = digital_key::lock_config(c, &lock.id, now, version)
                    .map_err(Error::from)
                    .and_then(|cfg| {
                        cfg.map(|cfg| Ok(keys.sign_config(&cfg)?.into_bytes()))
                            .transpose()
                    });
                match cfg {
                    Ok(Some(body)) => out.push((lock.id.to_string(), body)),
                    Ok(None) => {}
                    Err(e) => {
                        // Claimed but not read: leave it for the next round.
                        if let Err(again) = digital_key::mark_unpublished(c, &lock.id) {
                            tracing::warn!(error = %again, lock = %lock.id, "could not mark a configuration for another try");
                        }
                        return Err(e);
                    }
                }
            }
            Ok(out)
        })
        .await;
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the locks' configurations");
                continue;
            }
        };
        for (lock, body) in due {
            // Waits for room in the request queue rather than failing.
            if client
                .publish(crate::config_topic(&lock), QoS::AtLeastOnce, true, body)
                .await
                .is_err()
            {
                let done =
                    blocking(&pool, move |c| Ok(digital_key::mark_unpublished(c, &lock)?)).await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "could not mark a configuration for another try");
                }
            }
        }
    }
}
