//! Many messages in one transaction.

use super::message::{device_id_of, differences, event_id_of};
use super::outcome::{Outcome, Refusal, Rejection, reject};
use crate::db::ChangeError;
use crate::db::device_message::{self, DeviceMessageRow};
use crate::db::visit_event::NewVisitEvent;
use crate::db::{DbConn, StoreError, dead_letter, device, municipality, user_account};
use crate::domain::{EventKind, Rules};
use crate::intake::directory::{CONTACT_RESOLUTION_SECONDS, Contacts, Directory, cached};
use crate::record::{self, Recorded};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::{BTreeSet, HashMap};

/// Many messages in one transaction: what they look up (devices,
/// municipalities, staff, credentials, orders) is read once for the
/// batch (or taken from the gateway's [`Directory`]), and what they change
/// that is shared (devices' last contact, the day and month figures) is
/// written once, by [`Batch::finish`], which must run in the same
/// transaction before it commits.
#[derive(Default)]
pub struct Batch {
    pub(super) devices: HashMap<String, Option<device::Device>>,
    /// Devices whose last contact, firmware or battery changed.
    pub(super) seen: BTreeSet<String>,
    pub(super) municipalities: HashMap<String, municipality::Municipality>,
    pub(super) staff: HashMap<(String, String), user_account::UserAccount>,
    pub(super) credentials: HashMap<(String, String), Option<String>>,
    pub(super) orders: HashMap<(String, String, NaiveDate), bool>,
    pub(super) pending: record::Pending,
    /// The gateway's directory and its version as this transaction read it.
    pub(super) directory: Option<(std::sync::Arc<Directory>, i64)>,
    /// The messages of the events stored, written by [`Batch::finish`].
    pub(super) messages: Vec<DeviceMessageRow>,
}

impl Batch {
    /// A batch that takes what it looks up from `directory` and adds to it;
    /// the directory is emptied first if its version is not the database's.
    /// Call inside the batch's transaction.
    pub fn with_directory(
        conn: &mut DbConn,
        directory: &std::sync::Arc<Directory>,
    ) -> Result<Batch, StoreError> {
        let version = crate::db::directory::version(conn)?;
        directory.at(version);
        Ok(Batch {
            directory: Some((directory.clone(), version)),
            ..Batch::default()
        })
    }

    /// [`ingest`] one message of the batch.
    pub fn ingest(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        match self.interpret(conn, topic, payload, received) {
            Ok(o) => Ok(o),
            Err(Refusal::Refused(rejection)) => {
                self.dead(conn, topic, payload, received, rejection, None)
            }
            Err(Refusal::Store(e)) => Err(e),
        }
    }

    /// [`Batch::ingest`] for many messages: each checked in order, then
    /// each care worker's events paired together and all of them stored
    /// together ([`record::record_groups_deferred`]). One outcome per
    /// message, in order.
    pub fn ingest_many(
        &mut self,
        conn: &mut DbConn,
        messages: &[(&str, &[u8], DateTime<Utc>)],
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(messages.len());
        let mut ready: Vec<(usize, Ready)> = Vec::new();
        for (i, (topic, payload, received)) in messages.iter().enumerate() {
            match self.check(conn, topic, payload, *received) {
                Ok(r) => {
                    ready.push((i, r));
                    outcomes.push(None);
                }
                Err(Refusal::Store(e)) => return Err(e),
                Err(Refusal::Refused(rejection)) => {
                    outcomes.push(Some(
                        self.dead(conn, topic, payload, *received, rejection, None)?,
                    ));
                }
            }
        }
        // By care worker, in the order each first appears: the events, and
        // for each its message's place, device and event id.
        struct Group {
            rules: Rules,
            events: Vec<NewVisitEvent>,
            senders: Vec<(usize, Sender)>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for (i, r) in ready {
            let g = *group_of
                .entry(r.event.staff_id.to_string())
                .or_insert_with(|| {
                    groups.push(Group {
                        rules: r.rules,
                        events: Vec::new(),
                        senders: Vec::new(),
                    });
                    groups.len() - 1
                });
            groups[g].events.push(r.event);
            groups[g].senders.push((i, r.sender));
        }
        tracing::debug!(
            messages = messages.len(),
            care_workers = groups.len(),
            "batch paired by care worker"
        );
        // All groups together; if a month lock refuses something, group
        // by group to learn which.
        let together: Vec<record::Group> = groups
            .iter()
            .map(|g| record::Group {
                events: &g.events,
                rules: g.rules,
            })
            .collect();
        match record::record_groups_deferred(conn, &together, &mut self.pending) {
            Ok(all) => {
                for (g, recorded) in groups.into_iter().zip(all) {
                    for ((i, sender), rec) in g.senders.into_iter().zip(recorded) {
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(self.settle(conn, rec, sender, topic, payload, received)?);
                    }
                }
                return Ok(outcomes.into_iter().flatten().collect());
            }
            // A rule refused the batch: which of its groups it refuses
            // shows group by group.
            Err(ChangeError::Rule(_)) => {}
            Err(ChangeError::Store(e)) => return Err(e),
        }
        for g in groups {
            match record::record_group_deferred(conn, &g.events, g.rules, &mut self.pending) {
                Ok(recorded) => {
                    for ((i, sender), rec) in g.senders.into_iter().zip(recorded) {
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(self.settle(conn, rec, sender, topic, payload, received)?);
                    }
                }
                // Which of them the lock (or another rule) refuses shows
                // one by one.
                Err(ChangeError::Rule(_)) => {
                    for ((i, sender), event) in g.senders.into_iter().zip(g.events) {
                        let ready = Ready {
                            sender,
                            event,
                            rules: g.rules,
                        };
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(match self.record(conn, ready, topic, payload, received) {
                                Ok(o) => o,
                                Err(Refusal::Refused(rejection)) => {
                                    self.dead(conn, topic, payload, received, rejection, None)?
                                }
                                Err(Refusal::Store(e)) => return Err(e),
                            });
                    }
                }
                Err(ChangeError::Store(e)) => return Err(e),
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Writes what the batch's messages changed together; returns the
    /// devices as written, for [`Directory::committed`] after the commit.
    pub fn finish(self, conn: &mut DbConn) -> Result<Contacts, StoreError> {
        let devices: Vec<device::Device> = self
            .seen
            .iter()
            .filter_map(|id| self.devices.get(id).cloned().flatten())
            .collect();
        device::save_contacts(conn, &devices)?;
        device_message::insert_many(conn, &self.messages)?;
        self.pending.apply(conn)?;
        Ok(Contacts {
            version: self.directory.as_ref().map(|(_, v)| *v),
            devices,
        })
    }

    pub(super) fn device(
        &mut self,
        conn: &mut DbConn,
        id: &str,
    ) -> Result<Option<device::Device>, StoreError> {
        cached(
            &mut self.devices,
            self.directory.as_ref(),
            |k| &mut k.devices,
            id.to_string(),
            || match device::get_any(conn, id) {
                Ok(d) => Ok(Some(d)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// The device's last contact, firmware and battery, written by
    /// [`Batch::finish`] when one of them changed: the last contact is kept
    /// to the minute ([`CONTACT_RESOLUTION_SECONDS`]), so a device's events
    /// within a minute of the stored contact write nothing more.
    pub(super) fn seen(
        &mut self,
        id: &str,
        at: NaiveDateTime,
        firmware: Option<&str>,
        battery: Option<i32>,
    ) {
        if let Some(Some(d)) = self.devices.get_mut(id) {
            let moved = d
                .last_seen_at
                .is_none_or(|t| (at - t).num_seconds() >= CONTACT_RESOLUTION_SECONDS);
            let changed = firmware.is_some_and(|f| d.firmware.as_deref() != Some(f))
                || (battery.is_some() && battery != d.battery_pct);
            d.last_seen_at = Some(d.last_seen_at.map_or(at, |t| t.max(at)));
            if let Some(f) = firmware {
                d.firmware = Some(f.to_string());
            }
            if battery.is_some() {
                d.battery_pct = battery;
            }
            if moved || changed {
                self.seen.insert(id.to_string());
            }
        }
    }
}

impl Batch {
    /// Keeps a rejected message as a dead letter of its device's
    /// municipality, within the device's budget; a message of a device no
    /// municipality knows, or beyond the budget, is counted, not kept.
    fn dead(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
        rejection: Rejection,
        stored_payload: Option<&[u8]>,
    ) -> Result<Outcome, StoreError> {
        let device_id = device_id_of(topic);
        let event_id = event_id_of(payload);
        let municipality = match &device_id {
            Some(id) => self.device(conn, id)?.map(|d| d.municipality_id),
            None => None,
        };
        let within_budget = match (&device_id, &self.directory) {
            (Some(id), Some((dir, _))) => dir.may_dead_letter(id),
            _ => true,
        };
        let dead_letter_id = match municipality {
            Some(m) if within_budget => Some(
                dead_letter::add(
                    conn,
                    dead_letter::NewLetter {
                        at: received.naive_utc(),
                        topic,
                        device_id: device_id.as_deref(),
                        municipality_id: Some(&m),
                        reason: rejection.reason,
                        detail: &rejection.detail,
                        payload,
                        stored_payload,
                    },
                )?
                .id,
            ),
            _ => {
                crate::metrics::global().not_kept(rejection.reason);
                None
            }
        };
        // The device id is a registered one or has passed the topic's
        // check: safe to log as it is, but logged as data all the same.
        tracing::warn!(reason = rejection.reason, device = ?device_id, kept = dead_letter_id.is_some(), "dead-lettered a device message");
        if rejection.reason == "conflicting_duplicate" {
            return Ok(Outcome::Conflict {
                device_id: device_id.unwrap_or_default(),
                event_id: event_id.unwrap_or_default(),
                dead_letter_id,
            });
        }
        Ok(Outcome::Dead {
            device_id,
            event_id,
            rejection,
            dead_letter_id,
        })
    }

    /// What a recorded event became: stored (its message kept with it), a
    /// duplicate, or a conflicting re-send (kept as a dead letter with both
    /// versions; the stored event is unchanged).
    fn settle(
        &mut self,
        conn: &mut DbConn,
        rec: Recorded,
        sender: Sender,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        match rec {
            Recorded::Applied { event, visits, .. } => {
                self.messages.push(DeviceMessageRow {
                    visit_event_id: event.id,
                    content_sha256: sender.content_sha256,
                    body: sender.body,
                });
                Ok(Outcome::Stored {
                    device_id: sender.device_id,
                    event_id: sender.event_id,
                    visits,
                })
            }
            Recorded::Duplicate { event } => {
                // The first version: in this batch, or stored before.
                let first = match self.messages.iter().find(|m| m.visit_event_id == event.id) {
                    Some(m) => Some(m.clone()),
                    None => device_message::get(conn, &event.id)?,
                };
                let differs = match &first {
                    Some(m) => m.content_sha256 != sender.content_sha256,
                    // Stored before messages were kept: what the row says.
                    None => {
                        use chrono::SubsecRound;
                        event.kind != sender.kind
                            || event.occurred_at != sender.occurred_at.trunc_subsecs(6)
                            || event.method_ref != sender.method_ref
                            || event.staff_id != sender.staff_id
                    }
                };
                if !differs {
                    return Ok(Outcome::Duplicate {
                        device_id: sender.device_id,
                        event_id: sender.event_id,
                    });
                }
                let detail = match &first {
                    Some(m) => differences(&m.body, &sender.body),
                    None => format!(
                        "stored before as {} at {}Z",
                        event.kind,
                        event.occurred_at.format("%Y-%m-%dT%H:%M:%S")
                    ),
                };
                let stored = first.map(|m| m.body.into_bytes());
                let rejection = reject(
                    "conflicting_duplicate",
                    format!("this event id was stored before with other content: {detail}"),
                );
                self.dead(conn, topic, payload, received, rejection, stored.as_deref())
            }
        }
    }

    pub(super) fn interpret(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, Refusal> {
        let ready = self.check(conn, topic, payload, received)?;
        self.record(conn, ready, topic, payload, received)
    }

    /// Stores a checked event on its own.
    fn record(
        &mut self,
        conn: &mut DbConn,
        ready: Ready,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, Refusal> {
        let Ready {
            sender,
            event,
            rules,
        } = ready;
        match record::record_deferred(conn, &event, None, rules, &mut self.pending) {
            Ok(r) => Ok(self.settle(conn, r, sender, topic, payload, received)?),
            Err(e) => Err(e.into()),
        }
    }
}

/// A message that passed every check: the event to store.
pub(super) struct Ready {
    pub(super) sender: Sender,
    pub(super) event: NewVisitEvent,
    pub(super) rules: Rules,
}

/// Who sent a checked event and what it said, to settle its outcome.
pub(super) struct Sender {
    pub(super) device_id: String,
    pub(super) event_id: String,
    pub(super) content_sha256: String,
    /// The message as received.
    pub(super) body: String,
    /// As the event row holds them, for events stored before messages
    /// were kept.
    pub(super) kind: EventKind,
    pub(super) occurred_at: NaiveDateTime,
    pub(super) method_ref: Option<String>,
    pub(super) staff_id: String,
}
