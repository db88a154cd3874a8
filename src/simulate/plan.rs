//! The simulated days: each care worker's round among their clients,
//! turned into door-lock events and phone registrations, and what hemtid
//! should have stored afterwards.

use super::Rng;
use super::world::{ALL_DAYS_MASK, World};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One device event on its way: the lock's topic, the event id, the body.
#[derive(Debug, Clone)]
pub struct DeviceEvent {
    pub lock: String,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub body: Vec<u8>,
}

/// What one care worker does on the phone: requests sent as they happen,
/// and a batch kept offline and sent late through `/sync`.
#[derive(Debug, Clone, Default)]
pub struct PhoneWork {
    pub username: String,
    /// `(path, body)`, in order.
    pub online: Vec<(&'static str, Value)>,
    pub offline: Vec<Value>,
}

/// What hemtid should hold when the simulation is over.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Closed visits and their seconds, by the client they are stored
    /// under (a household's lock belongs to one of them).
    pub by_client: BTreeMap<String, (i64, i64)>,
    pub device_events: usize,
    pub phone_events: usize,
    pub visits: usize,
    pub double_staffed_visits: usize,
    /// Of those, registered on the phone with `double_staffing` set.
    pub double_staffing_marked: usize,
    pub offline_items: usize,
    pub notes: usize,
    /// Visits that did not fit in a worker's day (not sent).
    pub dropped: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub device: Vec<DeviceEvent>,
    pub phones: Vec<PhoneWork>,
    pub expected: Expected,
}

fn event_id(rng: &mut Rng) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn at(tz: Tz, day: NaiveDate, second_of_day: i64) -> Option<DateTime<Utc>> {
    let naive = day.and_hms_opt(0, 0, 0)? + chrono::Duration::seconds(second_of_day);
    Some(
        tz.from_local_datetime(&naive)
            .earliest()?
            .with_timezone(&Utc),
    )
}

struct Placed {
    client: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    services: Vec<String>,
}

/// Lays out every worker's day and makes the events.
pub fn plan(world: &World, tz: Tz, offline_percent: u64, rng: &mut Rng) -> Plan {
    let mut out = Plan::default();
    let mut by_worker: Vec<Vec<usize>> = vec![Vec::new(); world.workers.len()];
    for (i, c) in world.clients.iter().enumerate() {
        by_worker[c.worker].push(i);
    }
    let lock_owner: BTreeMap<&str, &str> = world
        .clients
        .iter()
        .rev()
        .map(|c| (c.lock.as_str(), c.id.as_str()))
        .collect();
    let mut phone: Vec<PhoneWork> = world
        .workers
        .iter()
        .map(|w| PhoneWork {
            username: w.username.clone(),
            ..PhoneWork::default()
        })
        .collect();
    for (di, day) in world.days.iter().enumerate() {
        let weekday_bit = 1u8 << day.weekday().num_days_from_monday();
        let week = day.iso_week().week();
        let mut firsts: BTreeMap<usize, Placed> = BTreeMap::new();
        for (w, clients) in by_worker.iter().enumerate() {
            let mut todo: Vec<(u32, usize, usize)> = Vec::new();
            for &ci in clients {
                let c = &world.clients[ci];
                if c.absent_days.contains(&di) {
                    continue;
                }
                for (ri, r) in c.routines.iter().enumerate() {
                    if r.weekdays & weekday_bit != 0 && week % r.every_weeks.max(1) == 0 {
                        todo.push((r.at_minute, ci, ri));
                    }
                }
            }
            todo.sort();
            let mut free_from = 6 * 3600 + 45 * 60; // the round starts 06:45
            for (at_minute, ci, ri) in todo {
                let c = &world.clients[ci];
                let r = &c.routines[ri];
                let start = i64::from(at_minute * 60).max(free_from) + rng.below(240) as i64;
                let seconds = i64::from(r.minutes) * 60 * i64::from(c.pace) / 1000
                    + rng.below(120) as i64
                    - 60;
                let seconds = seconds.max(60);
                if start + seconds > 23 * 3600 + 30 * 60 {
                    out.expected.dropped += 1;
                    continue;
                }
                free_from = start + seconds + 8 * 60; // travel to the next
                let (Some(s), Some(e)) = (at(tz, *day, start), at(tz, *day, start + seconds))
                else {
                    out.expected.dropped += 1;
                    continue;
                };
                let placed = Placed {
                    client: ci,
                    start: s,
                    end: e,
                    services: r.services.clone(),
                };
                emit(
                    world,
                    &lock_owner,
                    &mut out,
                    &mut phone,
                    (w, false),
                    &placed,
                    offline_percent,
                    rng,
                );
                if c.partner.is_some() && r.weekdays == ALL_DAYS_MASK {
                    firsts.entry(ci).or_insert(placed);
                }
            }
        }
        // The partner joins the first daily visit of a double-staffed client.
        for (ci, first) in firsts {
            let Some(partner) = world.clients[ci].partner else {
                continue;
            };
            let secs = (first.end - first.start).num_seconds();
            if secs < 180 {
                continue;
            }
            let joined = Placed {
                client: ci,
                start: first.start + chrono::Duration::seconds(60),
                end: first.end - chrono::Duration::seconds(30),
                services: first.services.clone(),
            };
            emit(
                world,
                &lock_owner,
                &mut out,
                &mut phone,
                (partner, true),
                &joined,
                offline_percent,
                rng,
            );
            out.expected.double_staffed_visits += 1;
        }
    }
    out.phones = phone
        .into_iter()
        .filter(|p| !p.online.is_empty() || !p.offline.is_empty())
        .collect();
    // Locks report in the order things happened, each event signed with
    // its lock's key as a real lock signs (see gateway::sim::signed).
    out.device.sort_by_key(|e| e.occurred_at);
    let keys: BTreeMap<&str, &str> = world
        .locks
        .iter()
        .map(|l| (l.id.as_str(), l.hmac_key.as_str()))
        .collect();
    for e in &mut out.device {
        if let (Some(key), Ok(body)) = (
            keys.get(e.lock.as_str()),
            serde_json::from_slice::<serde_json::Value>(&e.body),
        ) {
            e.body = hemtid_gateway::sim::signed(&body, key)
                .to_string()
                .into_bytes();
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn emit(
    world: &World,
    lock_owner: &BTreeMap<&str, &str>,
    out: &mut Plan,
    phone: &mut [PhoneWork],
    (worker, joined): (usize, bool),
    v: &Placed,
    offline_percent: u64,
    rng: &mut Rng,
) {
    let w = &world.workers[worker];
    let c = &world.clients[v.client];
    let seconds = (v.end - v.start).num_seconds();
    let stored_under = if w.phone {
        c.id.as_str()
    } else {
        lock_owner
            .get(c.lock.as_str())
            .copied()
            .unwrap_or(c.id.as_str())
    };
    let e = out
        .expected
        .by_client
        .entry(stored_under.to_string())
        .or_default();
    e.0 += 1;
    e.1 += seconds;
    out.expected.visits += 1;
    if w.phone {
        let tag = format!(
            "04:{:02X}:{:02X}:{:02X}",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        let check_in = json!({
            "event_id": event_id(rng), "client_id": c.id,
            "occurred_at": v.start.to_rfc3339(), "method": "nfc", "tag_uid": tag,
        });
        let mut check_in = check_in;
        if joined {
            // The second worker says so on the phone (R20); a lock cannot,
            // so a joined lock visit counts as a visit of its own.
            check_in["double_staffing"] = json!(true);
            out.expected.double_staffing_marked += 1;
        }
        let services: Vec<Value> = v.services.iter().map(|s| json!({"code": s})).collect();
        let mut check_out = json!({
            "event_id": event_id(rng), "client_id": c.id,
            "occurred_at": v.end.to_rfc3339(), "method": "nfc", "tag_uid": tag,
            "services": services,
        });
        if rng.chance(15) {
            check_out["note"] = json!("Brukaren var på gott humör. Inget att anmärka.");
            out.expected.notes += 1;
        }
        out.expected.phone_events += 2;
        let work = &mut phone[worker];
        if rng.chance(offline_percent) {
            let mut a = check_in;
            a["type"] = json!("check_in");
            let mut b = check_out;
            b["type"] = json!("check_out");
            work.offline.push(a);
            work.offline.push(b);
            out.expected.offline_items += 2;
        } else {
            work.online.push(("/api/v1/visits/check-in", check_in));
            work.online.push(("/api/v1/visits/check-out", check_out));
        }
    } else {
        for (kind, t) in [("unlock", v.start), ("lock", v.end)] {
            let id = event_id(rng);
            let body = json!({
                "event_id": id, "kind": kind, "occurred_at": t.to_rfc3339(),
                "staff_credential": w.fob, "battery_pct": 80,
            });
            out.device.push(DeviceEvent {
                lock: c.lock.clone(),
                event_id: id,
                occurred_at: t,
                body: body.to_string().into_bytes(),
            });
        }
        out.expected.device_events += 2;
    }
}
