//! The incremental figures against a rebuild from the visits, after a
//! randomised mix of visits arriving in any order (with duplicates and
//! late arrivals), declined visits, corrections, voids and approvals.

use super::testing::TestDb;
use super::visit;
use super::visit_event::{ClientShare, NewVisitEvent, Payload, PerformedService};
use super::*;
use crate::domain::YearMonth;
use crate::domain::figures::FrameWindow;
use crate::record::{self as approval, Change};
use crate::record::{self, Rules};
use crate::seed;
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Stockholm;

const RULES: Rules = Rules {
    tz: Stockholm,
    max_seconds: 12 * 3600,
    window: FrameWindow {
        start_minute: 420,
        end_minute: 1320,
    },
};

/// A small deterministic generator (no dependency for tests).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn local(d: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    Stockholm
        .from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
        .earliest()
        .unwrap()
        .naive_utc()
}

#[allow(clippy::too_many_arguments)]
fn event(
    staff: &str,
    provider: &str,
    event_id: String,
    kind: &str,
    client: &str,
    at: NaiveDateTime,
    payload: &Payload,
) -> NewVisitEvent {
    NewVisitEvent {
        id: new_id().into(),
        source: crate::model::Source::Phone,
        source_key: staff.into(),
        event_id,
        kind: crate::model::EventKind::parse(kind).expect("a known kind"),
        staff_id: staff.into(),
        client_id: client.into(),
        provider_id: provider.into(),
        occurred_at: at,
        received_at: now(),
        local_date: crate::domain::local_date(at.and_utc(), Stockholm),
        method: Some(crate::model::Method::Nfc),
        method_ref: Some("tag".into()),
        reason: None,
        payload: serde_json::to_string(payload).unwrap(),
    }
}

#[test]
fn incremental_figures_equal_a_rebuild_after_a_random_mix() {
    let db = TestDb::new();
    let mut c = db.connect();
    let demo = seed::demo(&mut c, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()).unwrap();
    let m = demo.municipality;
    let staff: Vec<(String, String)> = ["demo.anna", "demo.bertil"]
        .iter()
        .map(|u| {
            let a = user_account::find_by_username(&mut c, u).unwrap().unwrap();
            (
                a.id.into_string(),
                a.fields.provider_id.unwrap().into_string(),
            )
        })
        .collect();
    let admin = user_account::find_by_username(&mut c, "demo.chef.jakobsberg")
        .unwrap()
        .unwrap()
        .id;
    let clients: Vec<String> = client::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .filter(|x| ["Lisa", "Maj", "Nils", "Greta"].contains(&x.fields.given_name.as_str()))
        .map(|x| x.id.to_string())
        .collect();
    let services: Vec<String> = ["O-Duschhjälp", "O-Promenad", "S-Inköp utan kund"]
        .iter()
        .map(|code| {
            service::find_by_code(&mut c, &m.id, code)
                .unwrap()
                .unwrap()
                .id
                .into_string()
        })
        .collect();
    let mut rng = Rng(2026);
    let mut events: Vec<NewVisitEvent> = Vec::new();
    let oct31 = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    for (s, provider) in &staff {
        // One visit after another: a staff member is never in two places.
        let mut t = local(oct31, 20, 0);
        for k in 0..45 {
            t += Duration::minutes(30 + rng.below(600) as i64);
            let client = &clients[rng.below(clients.len() as u64) as usize];
            let length = Duration::minutes(5 + rng.below(90) as i64)
                + Duration::seconds(rng.below(60) as i64);
            let mut out = Payload::default();
            for svc in &services {
                if rng.chance(50) {
                    out.services.push(PerformedService {
                        service_id: svc.clone().into(),
                        client_id: None,
                        minutes: rng.chance(30).then(|| 1 + rng.below(40) as u32),
                    });
                }
            }
            if rng.chance(10) {
                // Co-habiting clients share the visit.
                let other = clients.iter().find(|x| *x != client).unwrap();
                out.shares = vec![
                    ClientShare {
                        client_id: client.clone().into(),
                        basis_points: 7000,
                    },
                    ClientShare {
                        client_id: other.clone().into(),
                        basis_points: 3000,
                    },
                ];
            }
            let inn = Payload {
                double_staffing: rng.chance(10),
                ..Payload::default()
            };
            // Now and then an end or a start never arrives (an exception).
            if !rng.chance(8) {
                events.push(event(
                    s,
                    provider,
                    format!("{s}-in-{k}"),
                    "check_in",
                    client,
                    t,
                    &inn,
                ));
            }
            if !rng.chance(8) {
                events.push(event(
                    s,
                    provider,
                    format!("{s}-out-{k}"),
                    "check_out",
                    client,
                    t + length,
                    &out,
                ));
            }
            if rng.chance(10) {
                events.push(event(
                    s,
                    provider,
                    format!("{s}-dec-{k}"),
                    "declined",
                    client,
                    t + length + Duration::minutes(5),
                    &Payload::default(),
                ));
            }
            t += length;
        }
    }
    // Any order, a fifth sent twice; a tenth held back to arrive last.
    for k in (1..events.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        events.swap(k, j);
    }
    let late = events.split_off(events.len() - events.len() / 10);
    let dups: Vec<NewVisitEvent> = events
        .iter()
        .step_by(5)
        .map(NewVisitEvent::resent)
        .collect();
    for e in events.iter().chain(&dups) {
        record::record(&mut c, e, None, RULES).unwrap();
    }
    // Provider admins at work: approvals, corrections, voids.
    let all: Vec<visit::Visit> = staff
        .iter()
        .flat_map(|(s, _)| {
            visit::for_staff(
                &mut c,
                s,
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let change = |at| Change {
        by: &admin,
        at,
        reason_code: Some("other"),
        comment: "test",
    };
    for v in &all {
        match rng.below(6) {
            0 if v.elapsed_seconds().is_some() => {
                approval::approve(&mut c, &v.id, change(now())).unwrap();
            }
            1 => {
                let start = v
                    .start()
                    .unwrap_or_else(|| v.end().unwrap() - Duration::minutes(20));
                let end = start + Duration::minutes(10 + rng.below(50) as i64);
                approval::correct(&mut c, &v.id, Some(start), Some(end), change(now())).unwrap();
            }
            2 => {
                approval::void(&mut c, &v.id, change(now())).unwrap();
            }
            _ => {}
        }
    }
    for e in &late {
        record::record(&mut c, e, None, RULES).unwrap();
    }
    for month in ["2026-10", "2026-11", "2026-12"] {
        let month: YearMonth = month.parse().unwrap();
        let stored = figure::stored_month(&mut c, &m, month).unwrap();
        let (computed, _, _) = figure::compute_month(&mut c, &m, month, RULES).unwrap();
        assert_eq!(stored, computed, "{month}");
        // The measures' figures too.
        let stored = figure::stored_staff_month(&mut c, &m, month).unwrap();
        let computed = figure::compute_staff_month(&mut c, &m, month, RULES).unwrap();
        assert_eq!(stored, computed, "{month}: measures");
    }
    let staff = figure::stored_staff_month(&mut c, &m, "2026-11".parse().unwrap()).unwrap();
    let sum =
        |f: fn(&crate::domain::figures::StaffAmounts) -> i64| staff.values().map(f).sum::<i64>();
    assert!(
        sum(|a| a.visits) > 20 && sum(|a| a.daytime) > 0,
        "{staff:?}"
    );
    // There was something to compare: time, visits, declined visits,
    // time outside the frame window.
    let nov = figure::stored_month(&mut c, &m, "2026-11".parse().unwrap()).unwrap();
    let total = |f: fn(&crate::domain::figures::Amounts) -> i64| nov.values().map(f).sum::<i64>();
    assert!(total(|a| a.visits) > 20, "{}", total(|a| a.visits));
    assert!(total(|a| a.declined) > 0);
    assert!(total(|a| a.seconds) > total(|a| a.frame_seconds));
    // A rebuild changes nothing and reads back the same.
    let before = figure::stored_month(&mut c, &m, "2026-11".parse().unwrap()).unwrap();
    figure::rebuild_month(&mut c, &m, "2026-11".parse().unwrap()).unwrap();
    let after = figure::stored_month(&mut c, &m, "2026-11".parse().unwrap()).unwrap();
    assert_eq!(before, after);
}
