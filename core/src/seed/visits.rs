//! The demo's visits, recorded through the real pairing engine.

use super::DEMO_MUNICIPALITY_CODE;
use super::clients::demo_pace;
use super::error::SeedError;
use crate::db::client::{self};
use crate::db::municipality::{self};
use crate::db::user_account::{self};
use crate::db::{DbConn, StoreError, new_id};
use crate::domain::{EventKind, Method, Source};
use crate::model::Role;
use chrono::{Datelike, NaiveDate};

/// Visit start times, local, for up to eight visits a day.
const SLOTS: [(u32, u32); 8] = [
    (7, 30),
    (9, 30),
    (11, 45),
    (13, 30),
    (15, 30),
    (17, 45),
    (19, 30),
    (21, 0),
];

/// What [`demo_visits`] made.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoVisits {
    pub visits: usize,
    pub declined: usize,
}

/// Visits for the demo: every day from the orders' start (the first of
/// the month three months back) until now, through the real pairing engine (check-in and
/// check-out with the services performed), by the providers' care workers.
/// Lisa declines a few visits and Greta spends five days in hospital.
pub fn demo_visits(conn: &mut DbConn, today: NaiveDate) -> Result<DemoVisits, SeedError> {
    use crate::db::visit_event::{NewVisitEvent, Payload, PerformedService};
    use crate::domain::YearMonth;
    use crate::record;
    let m =
        municipality::find_by_code(conn, DEMO_MUNICIPALITY_CODE)?.ok_or(StoreError::NotFound)?;
    let rules = m.rules().ok_or(StoreError::NotFound)?;
    let tz = rules.tz;
    let first = YearMonth::of(today).prev().prev().prev().first_day();
    let mut staff: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for u in user_account::list(conn, &m.id)? {
        if u.fields.role == Role::Staff
            && let Some(p) = u.fields.provider_id.clone()
        {
            staff
                .entry(p.to_string())
                .or_default()
                .push(u.id.to_string());
        }
    }
    let mut out = DemoVisits::default();
    let clients = client::list(conn, &m.id)?;
    // Greta is in hospital from the 10th to the 14th of last month.
    if let Some(greta) = clients.iter().find(|c| c.fields.given_name == "Greta") {
        let last = YearMonth::of(today).prev().first_day();
        let from = last.with_day(10).unwrap_or(last);
        crate::db::absence::create(
            conn,
            &crate::db::absence::NewAbsence {
                client_id: &greta.id,
                starts_on: from,
                ends_on: from.checked_add_days(chrono::Days::new(4)),
                cause: "hospital",
                note: "Inlagd på Danderyds sjukhus.",
                registered_by: staff.values().flatten().next().map_or("", String::as_str),
            },
            None,
            crate::db::now(),
        )?;
    }
    // When each care worker is free again, per day.
    let mut free: std::collections::HashMap<(String, NaiveDate), chrono::NaiveDateTime> =
        std::collections::HashMap::new();
    let local = |d: NaiveDate, h: u32, min: u32| {
        use chrono::TimeZone;
        tz.from_local_datetime(&d.and_hms_opt(h, min, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.naive_utc())
    };
    for (ci, cl) in clients.iter().enumerate() {
        let pace = demo_pace(&cl.fields.given_name);
        let mut day = first;
        let now = chrono::Utc::now().naive_utc();
        let mut months = std::collections::HashMap::new();
        while day <= today {
            let month = YearMonth::of(day);
            // The order and the absences once per month, not per day.
            let (ordered, absent) = match months.entry(month) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let ordered = crate::db::client_month::ordered(conn, &m, &cl.id, None, month)?;
                    let absent = crate::db::absence::days(conn, &cl.id, month, today)?;
                    e.insert((ordered, absent))
                }
            };
            let Some(provider) = ordered.provider_id.clone() else {
                day = day.succ_opt().unwrap_or(today);
                continue;
            };
            if absent.contains(&day) || !ordered.any() {
                day = day.succ_opt().unwrap_or(today);
                continue;
            }
            let days = i64::from(month.days());
            let k = i64::from(day.day0());
            // Minutes of each service today: the month's order at the
            // client's pace, spread so the days add up to the month.
            // Under a frame decision the month's total binds: the services
            // share it in proportion to their lines.
            let lines: i64 = ordered.by_service.values().sum();
            let services: Vec<(String, i64)> = ordered
                .by_service
                .iter()
                .map(|(s, minutes)| {
                    let share = if ordered.frame && lines > 0 {
                        minutes * ordered.minutes / lines
                    } else {
                        *minutes
                    };
                    let month_total = share * pace / 1000;
                    (
                        s.clone(),
                        month_total * (k + 1) / days - month_total * k / days,
                    )
                })
                .filter(|(_, m)| *m > 0)
                .collect();
            let n = ordered
                .daily_visits(day)
                .unwrap_or(2)
                .clamp(1, SLOTS.len() as i64) as usize;
            let workers = staff.get(provider.as_str()).cloned().unwrap_or_default();
            if workers.is_empty() || services.is_empty() {
                day = day.succ_opt().unwrap_or(today);
                continue;
            }
            let dom = day.day();
            // Each visit's services: with more visits than services a
            // service is split over several visits, else visits take several.
            let len = services.len();
            let mut plan: Vec<Vec<(String, i64)>> = vec![Vec::new(); n];
            for (si, (s, m)) in services.iter().enumerate() {
                let targets: Vec<usize> = if n >= len {
                    (0..n).filter(|vi| vi % len == si).collect()
                } else {
                    vec![si % n]
                };
                let count = targets.len() as i64;
                for (ti, vi) in targets.iter().enumerate() {
                    let ti = ti as i64;
                    let part = m * (ti + 1) / count - m * ti / count;
                    if part > 0 {
                        plan[*vi].push((s.clone(), part));
                    }
                }
            }
            for (vi, slot) in SLOTS.iter().take(n).enumerate() {
                let worker = &workers[(ci + vi) % workers.len()];
                let mine: Vec<&(String, i64)> = plan[vi].iter().collect();
                // Lisa declines the evening visit now and then (R21).
                let declines = cl.fields.given_name == "Lisa" && vi + 1 == n && dom % 9 == 4;
                let Some(want) = local(day, slot.0, slot.1) else {
                    continue;
                };
                let key = (worker.clone(), day);
                let start = free.get(&key).map_or(want, |f| (*f).max(want));
                let minutes: i64 = mine.iter().map(|(_, m)| *m).sum();
                let end = start + chrono::Duration::minutes(minutes);
                // Today: only the visits that are over.
                if minutes == 0 || end > now {
                    continue;
                }
                free.insert(key, end + chrono::Duration::minutes(10));
                let event =
                    |kind: EventKind, at: chrono::NaiveDateTime, payload: Payload| NewVisitEvent {
                        id: new_id().into(),
                        source: Source::Phone,
                        source_key: worker.clone(),
                        event_id: new_id(),
                        kind,
                        staff_id: worker.clone().into(),
                        client_id: cl.id.clone(),
                        provider_id: provider.clone(),
                        occurred_at: at,
                        received_at: at,
                        local_date: day,
                        method: (kind != EventKind::Declined).then_some(Method::Nfc),
                        method_ref: (kind != EventKind::Declined).then(|| "demo-tag".into()),
                        reason: (kind == EventKind::Declined)
                            .then(|| "Brukaren avböjde besöket.".into()),
                        payload: serde_json::to_string(&payload).unwrap_or_default(),
                    };
                if declines {
                    let p = Payload {
                        declined_services: mine.iter().map(|(s, _)| s.clone().into()).collect(),
                        ..Payload::default()
                    };
                    record::record(conn, &event(EventKind::Declined, start, p), None, rules)?;
                    out.declined += 1;
                    continue;
                }
                record::record(
                    conn,
                    &event(EventKind::CheckIn, start, Payload::default()),
                    None,
                    rules,
                )?;
                let p = Payload {
                    services: mine
                        .iter()
                        .map(|(s, m)| PerformedService {
                            service_id: s.clone().into(),
                            client_id: None,
                            minutes: u32::try_from(*m).ok(),
                        })
                        .collect(),
                    ..Payload::default()
                };
                record::record(conn, &event(EventKind::CheckOut, end, p), None, rules)?;
                out.visits += 1;
            }
            day = day.succ_opt().unwrap_or(today);
        }
    }
    Ok(out)
}
