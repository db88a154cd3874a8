//! The database side of the gateway: a batch of messages in one
//! transaction, and the receipts to publish after it commits.

use chrono::{DateTime, Utc};
use hemtid_core::db::{self, DbConn, Pool, StoreError};
use hemtid_core::ingest::{self, Contacts, Directory, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub received: DateTime<Utc>,
}

/// What a device learns about one of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub event_id: String,
    /// `stored`, `duplicate`, `conflict` (sent before with other content:
    /// the first version stands) or `rejected` (with its reason).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The payload of `hemtid/v1/devices/{device_id}/receipts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipts {
    pub receipts: Vec<Receipt>,
}

/// Stores a batch; all or nothing. If the batch fails for a reason of its
/// data, each message is tried on its own and one that still fails is
/// dead-lettered, so one poison message cannot block the rest. `Err` when
/// the database is unusable or busy ([`StoreError::is_transient`]):
/// acknowledge nothing then, and try again.
///
/// What the messages look up is taken from `directory` where it holds it,
/// and kept there.
pub fn process(
    pool: &Pool,
    directory: &Arc<Directory>,
    batch: &[Message],
) -> Result<Vec<Outcome>, StoreError> {
    let started = std::time::Instant::now();
    let mut conn = pool.get()?;
    let outcomes = match with_retries(|| {
        db::transaction(&mut conn, |c| ingest_all(c, directory, batch))
    }) {
        Ok((outcomes, contacts)) => {
            directory.committed(contacts);
            outcomes
        }
        // Busy or unreachable: the whole batch waits and is tried again.
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "batch failed; storing its messages one by one");
            batch
                .iter()
                .map(|m| one_by_one(&mut conn, m))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    count(&outcomes, started.elapsed().as_secs_f64());
    Ok(outcomes)
}

/// Adds a committed batch to the process metrics.
fn count(outcomes: &[Outcome], seconds: f64) {
    let (mut stored, mut duplicates, mut dead) = (0, 0, Vec::new());
    for o in outcomes {
        match o {
            Outcome::Stored { .. } => stored += 1,
            Outcome::Duplicate { .. } => duplicates += 1,
            Outcome::Conflict { .. } => dead.push("conflicting_duplicate"),
            Outcome::Dead { rejection, .. } => dead.push(rejection.reason),
        }
    }
    hemtid_core::metrics::global().batch(outcomes.len(), seconds, stored, duplicates, &dead);
}

/// The batch's messages checked in order, each care worker's events
/// paired together; what they look up is read once (or kept in the
/// directory) and what they change together is written once, before the
/// commit.
fn ingest_all(
    c: &mut DbConn,
    directory: &Arc<Directory>,
    batch: &[Message],
) -> Result<(Vec<Outcome>, Contacts), StoreError> {
    let mut b = ingest::Batch::with_directory(c, directory)?;
    let messages: Vec<(&str, &[u8], chrono::DateTime<chrono::Utc>)> = batch
        .iter()
        .map(|m| (m.topic.as_str(), m.payload.as_slice(), m.received))
        .collect();
    let outcomes = b.ingest_many(c, &messages)?;
    let contacts = b.finish(c)?;
    Ok((outcomes, contacts))
}

/// Runs `f` again (up to three times) when it lost a race: gateways
/// sharing a subscription store events of the same visit at the same time,
/// and the later insert of the same row fails as a conflict until it sees
/// the earlier one (three gateways on PostgreSQL dead-lettered a few valid
/// events before this).
fn with_retries<T>(mut f: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut tries = 0;
    loop {
        match f() {
            Err(StoreError::Conflict(msg)) if tries < 3 => {
                tries += 1;
                tracing::debug!(conflict = %msg, tries, "lost a race; trying again");
                std::thread::sleep(std::time::Duration::from_millis(20 * tries));
            }
            other => return other,
        }
    }
}

fn one_by_one(conn: &mut DbConn, m: &Message) -> Result<Outcome, StoreError> {
    // `ingest` is a transaction of its own.
    match with_retries(|| ingest::ingest(conn, &m.topic, &m.payload, m.received)) {
        Ok(o) => Ok(o),
        Err(e) if e.is_transient() => Err(e),
        Err(e) => {
            let device_id = ingest::device_id_of(&m.topic);
            let municipality = match &device_id {
                Some(id) => match db::device::get_any(conn, id) {
                    Ok(d) => Some(d.municipality_id),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let detail = e.to_string();
            let dl = db::dead_letter::add(
                conn,
                db::dead_letter::NewLetter {
                    at: m.received.naive_utc(),
                    topic: &m.topic,
                    device_id: device_id.as_deref(),
                    municipality_id: municipality.as_deref(),
                    reason: "storage_error",
                    detail: &detail,
                    payload: &m.payload,
                    stored_payload: None,
                },
            )?;
            tracing::error!(error = %e, dead_letter = %dl.id, "a message could not be stored");
            // Receipted as rejected: the device stops re-sending a message
            // that fails the same way each time; it is kept for a replay.
            Ok(Outcome::Dead {
                device_id,
                event_id: ingest::event_id_of(&m.payload),
                rejection: ingest::Rejection {
                    reason: "storage_error",
                    detail: e.to_string(),
                },
                dead_letter_id: Some(dl.id),
            })
        }
    }
}

/// Receipts in one message at most: a receipt is up to about 80 bytes, and
/// devices read packets of 10 KiB or less (rumqttc's default; a lock
/// sending 256 events at once was cut off by its own receipts before).
pub const RECEIPTS_PER_MESSAGE: usize = 50;

/// The receipt messages to publish: per device, in order, at most
/// [`RECEIPTS_PER_MESSAGE`] to a message.
pub fn receipt_messages(outcomes: &[Outcome]) -> Vec<(String, Receipts)> {
    receipts(outcomes)
        .into_iter()
        .flat_map(|(device, all)| {
            all.receipts
                .chunks(RECEIPTS_PER_MESSAGE)
                .map(|part| {
                    (
                        device.clone(),
                        Receipts {
                            receipts: part.to_vec(),
                        },
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Receipts by device, for the outcomes that name a device and an event.
pub fn receipts(outcomes: &[Outcome]) -> BTreeMap<String, Receipts> {
    let mut out: BTreeMap<String, Receipts> = BTreeMap::new();
    for o in outcomes {
        let (device, receipt) = match o {
            Outcome::Stored {
                device_id,
                event_id,
                ..
            } => (
                device_id.clone(),
                Receipt {
                    event_id: event_id.clone(),
                    status: "stored",
                    reason: None,
                },
            ),
            Outcome::Duplicate {
                device_id,
                event_id,
            } => (
                device_id.clone(),
                Receipt {
                    event_id: event_id.clone(),
                    status: "duplicate",
                    reason: None,
                },
            ),
            Outcome::Conflict {
                device_id,
                event_id,
                ..
            } => (
                device_id.clone(),
                Receipt {
                    event_id: event_id.clone(),
                    status: "conflict",
                    reason: Some("conflicting_duplicate"),
                },
            ),
            Outcome::Dead {
                device_id: Some(device_id),
                event_id: Some(event_id),
                rejection,
                ..
            } => (
                device_id.clone(),
                Receipt {
                    event_id: event_id.clone(),
                    status: "rejected",
                    reason: Some(rejection.reason),
                },
            ),
            Outcome::Dead { .. } => continue,
        };
        out.entry(device)
            .or_insert_with(|| Receipts {
                receipts: Vec::new(),
            })
            .receipts
            .push(receipt);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hemtid_core::ingest::Rejection;

    #[test]
    fn many_receipts_go_in_several_messages() {
        let outcomes: Vec<Outcome> = (0..120)
            .map(|i| Outcome::Stored {
                device_id: if i % 2 == 0 { "lock-a" } else { "lock-b" }.into(),
                event_id: format!("e{i:03}"),
                visits: vec![],
            })
            .collect();
        let messages = receipt_messages(&outcomes);
        let sizes: Vec<(&str, usize)> = messages
            .iter()
            .map(|(d, r)| (d.as_str(), r.receipts.len()))
            .collect();
        assert_eq!(
            sizes,
            [
                ("lock-a", 50),
                ("lock-a", 10),
                ("lock-b", 50),
                ("lock-b", 10)
            ]
        );
        // In order, none lost.
        let a: Vec<&str> = messages
            .iter()
            .filter(|(d, _)| d == "lock-a")
            .flat_map(|(_, r)| r.receipts.iter().map(|x| x.event_id.as_str()))
            .collect();
        let want: Vec<String> = (0..120).step_by(2).map(|i| format!("e{i:03}")).collect();
        assert_eq!(a, want);
        for (_, r) in &messages {
            assert!(serde_json::to_vec(r).unwrap().len() < 10 * 1024);
        }
    }

    #[test]
    fn receipts_follow_the_contract_example() {
        let outcomes = vec![
            Outcome::Stored {
                device_id: "lock-1".into(),
                event_id: "a".into(),
                visits: vec![],
            },
            Outcome::Duplicate {
                device_id: "lock-1".into(),
                event_id: "b".into(),
            },
            Outcome::Dead {
                device_id: Some("lock-1".into()),
                event_id: Some("c".into()),
                rejection: Rejection {
                    reason: "unknown_credential",
                    detail: String::new(),
                },
                dead_letter_id: Some("x".into()),
            },
            Outcome::Conflict {
                device_id: "lock-1".into(),
                event_id: "d".into(),
                dead_letter_id: Some("z".into()),
            },
            // Without an event id there is nothing to receipt.
            Outcome::Dead {
                device_id: Some("lock-1".into()),
                event_id: None,
                rejection: Rejection {
                    reason: "malformed_json",
                    detail: String::new(),
                },
                dead_letter_id: Some("y".into()),
            },
        ];
        let ours = serde_json::to_value(&receipts(&outcomes)["lock-1"]).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../mobile-contract/examples/device-receipts.json"
        );
        let example: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // Same shape: the same keys on each receipt, the same statuses.
        let shape = |v: &serde_json::Value| -> Vec<(Vec<String>, String)> {
            v["receipts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let mut keys: Vec<String> = r.as_object().unwrap().keys().cloned().collect();
                    keys.sort();
                    (keys, r["status"].as_str().unwrap().to_string())
                })
                .collect()
        };
        assert_eq!(shape(&ours), shape(&example));
    }
}
