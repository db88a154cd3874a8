//! The visit store on a real database: pairing as events arrive, in any
//! order, with duplicates; services sharing the time; real elapsed time.

use crate::db::testing::TestDb;
use crate::db::visit::{self, Visit};
use crate::db::visit_event::{NewVisitEvent, Payload, PerformedService};
use crate::db::*;
use crate::domain::pairing::Exception;
use crate::model::{EventKind, VisitStatus};
use crate::record::{self, Recorded, Rules};
use crate::seed;
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Stockholm;
use diesel::prelude::*;

const RULES: Rules = Rules {
    tz: Stockholm,
    max_seconds: 12 * 3600,
    window: crate::domain::figures::FrameWindow {
        start_minute: 420,
        end_minute: 1320,
    },
};

struct Fixture {
    _db: TestDb,
    conn: DbConn,
    staff: String,
    provider: String,
    lisa: String,
    maj: String,
    shower: String,
    walk: String,
}

fn fixture() -> Fixture {
    let db = TestDb::new();
    let mut conn = db.connect();
    let demo = seed::demo(&mut conn, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()).unwrap();
    let m = demo.municipality.id;
    let anna = user_account::find_by_username(&mut conn, "demo.anna")
        .unwrap()
        .unwrap();
    let clients = client::list(&mut conn, &m).unwrap();
    let id_of = |name: &str| {
        clients
            .iter()
            .find(|c| c.fields.given_name == name)
            .unwrap()
            .id
            .clone()
    };
    let svc =
        |conn: &mut DbConn, code: &str| service::find_by_code(conn, &m, code).unwrap().unwrap().id;
    Fixture {
        staff: anna.id.to_string(),
        provider: anna.fields.provider_id.clone().unwrap().to_string(),
        lisa: id_of("Lisa").to_string(),
        maj: id_of("Maj").to_string(),
        shower: svc(&mut conn, "O-Duschhjälp").to_string(),
        walk: svc(&mut conn, "O-Promenad").to_string(),
        conn,
        _db: db,
    }
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    Stockholm
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .naive_utc()
}

impl Fixture {
    fn event(
        &self,
        event_id: &str,
        kind: &str,
        client: &str,
        at: NaiveDateTime,
        payload: Payload,
    ) -> NewVisitEvent {
        NewVisitEvent {
            id: new_id().into(),
            source: crate::model::Source::Phone,
            source_key: self.staff.clone(),
            event_id: event_id.into(),
            kind: crate::model::EventKind::parse(kind).expect("a known kind"),
            staff_id: self.staff.clone().into(),
            client_id: client.into(),
            provider_id: self.provider.clone().into(),
            occurred_at: at,
            received_at: now(),
            local_date: crate::domain::local_date(at.and_utc(), Stockholm),
            method: Some(crate::model::Method::Nfc),
            method_ref: Some("tag-1".into()),
            reason: None,
            payload: serde_json::to_string(&payload).unwrap(),
        }
    }

    fn record(&mut self, e: &NewVisitEvent) -> Recorded {
        let r = record::record(&mut self.conn, e, None, RULES).unwrap();
        // What `record` returns is what it stored (it does not read the
        // rows back).
        if let Recorded::Applied { visits, .. } = &r {
            for v in visits {
                assert_eq!(*v, visit::get(&mut self.conn, &v.id).unwrap());
            }
        }
        r
    }

    fn visits(&mut self) -> Vec<Visit> {
        let mut v = visit::for_staff(
            &mut self.conn,
            &self.staff,
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        )
        .unwrap();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

fn services(list: &[(&str, Option<u32>)]) -> Payload {
    Payload {
        services: list
            .iter()
            .map(|(id, minutes)| PerformedService {
                service_id: (*id).to_string().into(),
                client_id: None,
                minutes: *minutes,
            })
            .collect(),
        ..Payload::default()
    }
}

#[test]
fn check_in_and_out_make_a_closed_visit_with_services_sharing_the_time() {
    let mut f = fixture();
    let (lisa, shower, walk) = (f.lisa.clone(), f.shower.clone(), f.walk.clone());
    let ci = f.event(
        "e1",
        "check_in",
        &lisa,
        local(2026, 11, 2, 8, 0),
        Payload::default(),
    );
    let Recorded::Applied { visits, .. } = f.record(&ci) else {
        panic!("applied")
    };
    assert_eq!(visits[0].fields.status, VisitStatus::Open);
    assert_eq!(
        visit::open_for_staff(&mut f.conn, &f.staff)
            .unwrap()
            .unwrap()
            .id,
        ci.id.visit_id()
    );
    // 45 minutes: shower and walk have 30 standard minutes each.
    let co = f.event(
        "e2",
        "check_out",
        &lisa,
        local(2026, 11, 2, 8, 45),
        services(&[(&shower, None), (&walk, None)]),
    );
    let Recorded::Applied { visits, .. } = f.record(&co) else {
        panic!("applied")
    };
    let v = &visits[0];
    assert_eq!(
        (v.id.as_str(), v.fields.status.as_str()),
        (ci.id.as_str(), "closed")
    );
    assert_eq!(v.fields.seconds, Some(2700));
    assert!(v.counts());
    let s = visit::services_for(&mut f.conn, &v.id).unwrap();
    assert_eq!(s.iter().map(|s| s.seconds).sum::<i32>(), 2700);
    assert!(s.iter().all(|s| s.seconds == 1350));
    assert!(
        visit::open_for_staff(&mut f.conn, &f.staff)
            .unwrap()
            .is_none()
    );
    // The same check-out again changes nothing.
    let again = co.resent();
    assert!(matches!(f.record(&again), Recorded::Duplicate { event } if event.id == co.id));
}

/// The engine's reads by lists of ids keep one generic plan per
/// connection on PostgreSQL: left to choose, PostgreSQL planned them anew
/// on every run, as a list of two ids looks cheaper than the ten a generic
/// plan assumes, and planning was a third of its statement time in the
/// phone bench (docs/BENCHMARKS.md). Their generic plans go by index
/// whatever the statistics (`storage_tests`). SQLite keeps no plans: there
/// the visits are checked alone.
#[test]
fn the_engines_reads_are_planned_once_per_connection() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let shower = f.shower.clone();
    for i in 0..12u32 {
        let at = local(2026, 11, 2, 7, 0) + chrono::Duration::minutes(i64::from(i) * 40);
        let ci = f.event(&format!("in{i}"), "check_in", &lisa, at, Payload::default());
        f.record(&ci);
        let out = at + chrono::Duration::minutes(30);
        let co = f.event(
            &format!("out{i}"),
            "check_out",
            &lisa,
            out,
            services(&[(&shower, None)]),
        );
        f.record(&co);
    }
    let visits = f.visits();
    assert_eq!(visits.len(), 12);
    assert!(visits.iter().all(|v| v.fields.seconds == Some(1800)));
    if let DbConn::Pg(pg) = &mut f.conn {
        #[derive(diesel::QueryableByName, Debug)]
        struct Plans {
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            generic_plans: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            custom_plans: i64,
        }
        let kept: Vec<Plans> = diesel::sql_query(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement LIKE '%unnest(%' AND statement LIKE 'SELECT%'",
        )
        .load(pg)
        .unwrap();
        let holding = kept
            .iter()
            .find(|p| p.statement.contains("check_in_event_id = e.id"))
            .expect("the read of the visits holding events is kept prepared");
        assert!(holding.generic_plans >= 24, "{holding:?}");
        for p in &kept {
            assert_eq!(p.custom_plans, 0, "planned anew: {p:?}");
        }
    }
}

/// status, check-in event id, check-out event id, exception, seconds
type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
);

#[test]
fn any_arrival_order_with_duplicates_gives_the_same_visits() {
    let mut reference: Option<Vec<Row>> = None;
    let mut seed = 7u64;
    for round in 0..4 {
        let mut f = fixture();
        let (lisa, maj, shower) = (f.lisa.clone(), f.maj.clone(), f.shower.clone());
        let mut events = vec![
            f.event(
                "a",
                "check_in",
                &lisa,
                local(2026, 11, 3, 7, 0),
                Payload::default(),
            ),
            f.event(
                "b",
                "check_out",
                &lisa,
                local(2026, 11, 3, 7, 40),
                services(&[(&shower, None)]),
            ),
            f.event(
                "c",
                "check_in",
                &maj,
                local(2026, 11, 3, 8, 0),
                Payload::default(),
            ),
            f.event(
                "d",
                "check_in",
                &lisa,
                local(2026, 11, 3, 9, 0),
                Payload::default(),
            ),
            f.event(
                "e",
                "check_out",
                &lisa,
                local(2026, 11, 3, 9, 30),
                services(&[(&shower, Some(20))]),
            ),
            f.event(
                "f",
                "check_out",
                &maj,
                local(2026, 11, 3, 11, 0),
                Payload::default(),
            ),
            f.event(
                "g",
                "check_in",
                &lisa,
                local(2026, 11, 3, 23, 30),
                Payload::default(),
            ),
            f.event(
                "h",
                "check_out",
                &lisa,
                local(2026, 11, 4, 0, 15),
                services(&[(&shower, None)]),
            ),
        ];
        // Shuffle, and send a third of them twice.
        for k in (1..events.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            events.swap(k, (seed >> 33) as usize % (k + 1));
        }
        let dups: Vec<NewVisitEvent> = events
            .iter()
            .step_by(3)
            .map(NewVisitEvent::resent)
            .collect();
        events.extend(dups);
        for e in &events {
            f.record(e);
        }
        let got: Vec<_> = f
            .visits()
            .into_iter()
            .map(|v| {
                let mut ev = |id: &Option<crate::model::EventId>| {
                    id.as_ref()
                        .map(|id| visit_event::get(&mut f.conn, id).unwrap().event_id)
                };
                let ci = ev(&v.fields.check_in_event_id);
                let co = ev(&v.fields.check_out_event_id);
                (
                    v.fields.status.as_str().to_string(),
                    ci,
                    co,
                    v.fields.exception.map(|x| x.as_str().to_string()),
                    v.fields.seconds,
                )
            })
            .collect();
        // The full derivation from the stored events agrees with the store.
        let full = record::rederive_staff(&mut f.conn, &f.staff, RULES).unwrap();
        assert_eq!(full.len(), got.len(), "round {round}");
        let mut got_sorted = got.clone();
        got_sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
        match &reference {
            None => {
                let expect = vec![
                    (
                        "closed".to_string(),
                        Some("a".to_string()),
                        Some("b".to_string()),
                        None,
                        Some(2400),
                    ),
                    (
                        "exception".into(),
                        Some("c".into()),
                        None,
                        Some("missing_check_out".into()),
                        None,
                    ),
                    (
                        "closed".into(),
                        Some("d".into()),
                        Some("e".into()),
                        None,
                        Some(1800),
                    ),
                    (
                        "closed".into(),
                        Some("g".into()),
                        Some("h".into()),
                        None,
                        Some(2700),
                    ),
                    (
                        "exception".into(),
                        None,
                        Some("f".into()),
                        Some("missing_check_in".into()),
                        None,
                    ),
                ];
                let mut expect_sorted = expect;
                expect_sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
                assert_eq!(got_sorted, expect_sorted);
                reference = Some(got_sorted);
            }
            Some(r) => assert_eq!(&got_sorted, r, "round {round}"),
        }
    }
}

#[test]
fn a_visit_across_the_october_dst_change_lasts_three_hours() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    // Last Sunday of October 2026: 01:30 CEST to 03:30 CET.
    let start = Stockholm
        .with_ymd_and_hms(2026, 10, 25, 1, 30, 0)
        .unwrap()
        .naive_utc();
    let end = Stockholm
        .with_ymd_and_hms(2026, 10, 25, 3, 30, 0)
        .unwrap()
        .naive_utc();
    f.record(&f.event("in", "check_in", &lisa, start, Payload::default()));
    let Recorded::Applied { visits, .. } =
        f.record(&f.event("out", "check_out", &lisa, end, Payload::default()))
    else {
        panic!("applied")
    };
    assert_eq!(visits[0].fields.seconds, Some(3 * 3600));
    assert_eq!(
        visits[0].fields.local_date,
        NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()
    );
}

#[test]
fn a_late_event_reopens_an_approved_visit_for_approval() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let ci = f.event(
        "in",
        "check_in",
        &lisa,
        local(2026, 11, 5, 8, 0),
        Payload::default(),
    );
    f.record(&ci);
    let co = f.event(
        "out",
        "check_out",
        &lisa,
        local(2026, 11, 5, 9, 0),
        Payload::default(),
    );
    f.record(&co);
    diesel::update(schema::visit::table.find(&ci.id))
        .set(schema::visit::approved_at.eq(Some(now())))
        .execute(&mut f.conn)
        .unwrap();
    // An unrelated later visit leaves the approval alone.
    f.record(&f.event(
        "in2",
        "check_in",
        &lisa,
        local(2026, 11, 5, 12, 0),
        Payload::default(),
    ));
    assert!(
        visit::get(&mut f.conn, &ci.id)
            .unwrap()
            .approved_at
            .is_some()
    );
    // A check-in that arrives late between them splits the pair.
    f.record(&f.event(
        "late",
        "check_in",
        &lisa,
        local(2026, 11, 5, 8, 30),
        Payload::default(),
    ));
    let v = visit::get(&mut f.conn, &ci.id).unwrap();
    assert_eq!(v.fields.exception, Some(Exception::MissingCheckOut));
    assert!(
        v.approved_at.is_none(),
        "a changed visit must be approved again"
    );
}

/// The stored visits as (check-in, check-out, exception) by event id.
/// A visit as the shuffled-stream tests compare it: its events, exception,
/// client and day.
type Shape = (
    Option<crate::model::EventId>,
    Option<crate::model::EventId>,
    Option<String>,
    crate::model::ClientId,
    Option<NaiveDate>,
);

fn stored_pairs(f: &mut Fixture) -> Vec<Shape> {
    let mut out: Vec<Shape> = f
        .visits()
        .into_iter()
        .map(|v| {
            (
                v.fields.check_in_event_id,
                v.fields.check_out_event_id,
                v.fields.exception.map(|x| x.as_str().to_string()),
                v.fields.client_id,
                Some(v.fields.local_date),
            )
        })
        .collect();
    out.sort();
    out
}

/// Long runs of one kind appear while events arrive out of order (all the
/// check-ins of an hour before its check-outs, say): the store must still
/// end up with exactly the visits the full derivation gives, whatever the
/// order, and never trip over its own unique keys on the way.
#[test]
fn long_shuffled_streams_end_as_the_full_derivation() {
    shuffled_streams(Mode::OneByOne);
}

/// The same streams stored as a gateway stores them: in batches, each
/// care worker's events of a batch paired together, some re-sent.
#[test]
fn long_shuffled_streams_in_groups_end_as_the_full_derivation() {
    shuffled_streams(Mode::Grouped);
}

/// Two care workers' streams in the same batches, stored together
/// (`record_groups_deferred`: one statement of each kind for both): each
/// ends as its own full derivation, as if stored alone.
#[test]
fn two_care_workers_stored_together_end_as_their_full_derivations() {
    shuffled_streams(Mode::Together);
}

/// The same two streams as the phone's items waiting for the writer are
/// stored (`record_items`: each event an item, several care workers' in
/// one call, some re-sent in the same call): each ends as its own full
/// derivation.
#[test]
fn two_care_workers_items_recorded_together_end_as_their_full_derivations() {
    shuffled_streams(Mode::Items);
}

/// Runs of confirmations longer than the first window read (a dozen
/// devices seeing the same check-out): the window must widen past them.
#[test]
fn long_runs_of_confirmations_end_as_the_full_derivation() {
    shuffled_streams(Mode::LongRuns);
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    OneByOne,
    Grouped,
    Together,
    Items,
    LongRuns,
}

fn shuffled_streams(mode: Mode) {
    let mut seed = 11u64;
    for round in 0..10 {
        let mut f = fixture();
        let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
        let start = local(2026, 11, 3, 7, 0);
        let mut events: Vec<NewVisitEvent> = Vec::new();
        for i in 0..60i64 {
            let kind = if i % 2 == 0 { "check_in" } else { "check_out" };
            let client = if (i / 10) % 3 == 2 { &maj } else { &lisa };
            let at = start + chrono::Duration::minutes(3 * i);
            events.push(f.event(&format!("e{i:03}"), kind, client, at, Payload::default()));
            // Every seventh event is seen by a second device a minute later.
            if i % 7 == 0 {
                let again = at + chrono::Duration::seconds(50);
                events.push(f.event(&format!("w{i:03}"), kind, client, again, Payload::default()));
            }
            // Every fifth by a third one in the same second: a window's
            // limit may cut through the events of one instant.
            if i % 5 == 0 {
                events.push(f.event(&format!("s{i:03}"), kind, client, at, Payload::default()));
            }
            // LongRuns: every ninth by a dozen more, five seconds apart.
            if mode == Mode::LongRuns && i % 9 == 4 {
                for k in 1..=12i64 {
                    let later = at + chrono::Duration::seconds(5 * k);
                    let id = format!("r{i:03}-{k:02}");
                    events.push(f.event(&id, kind, client, later, Payload::default()));
                }
            }
        }
        // A second care worker with the same stream a minute later.
        let bertil = user_account::find_by_username(&mut f.conn, "demo.bertil")
            .unwrap()
            .unwrap()
            .id;
        if matches!(mode, Mode::Together | Mode::Items) {
            let theirs: Vec<NewVisitEvent> = events
                .iter()
                .map(|e| {
                    let at = e.occurred_at + chrono::Duration::minutes(1);
                    NewVisitEvent {
                        id: new_id().into(),
                        source_key: bertil.to_string(),
                        staff_id: bertil.clone(),
                        event_id: format!("b{}", e.event_id),
                        occurred_at: at,
                        local_date: crate::domain::local_date(at.and_utc(), Stockholm),
                        ..e.clone()
                    }
                })
                .collect();
            events.extend(theirs);
        }
        // Round 0 in order, round 1 reversed, the rest shuffled; some
        // rounds send all check-ins first (long runs of one kind).
        match round {
            0 => {}
            1 => events.reverse(),
            _ => {
                for k in (1..events.len()).rev() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    events.swap(k, (seed >> 33) as usize % (k + 1));
                }
                if round % 2 == 1 {
                    events.sort_by_key(|e| e.kind != EventKind::CheckIn);
                }
            }
        }
        if mode != Mode::OneByOne {
            // Every fifth event re-sent (a new row id, the same sender id).
            let again: Vec<NewVisitEvent> = events
                .iter()
                .step_by(5)
                .map(NewVisitEvent::resent)
                .collect();
            events.extend(again);
            let mut rest: &[NewVisitEvent] = &events;
            while !rest.is_empty() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let n = ((seed >> 33) as usize % 12 + 1).min(rest.len());
                let (batch, tail) = rest.split_at(n);
                rest = tail;
                // Grouped: the batch is one group (one care worker's).
                // Together: a group per care worker, stored together.
                let mut by_staff: Vec<Vec<NewVisitEvent>> = Vec::new();
                for e in batch {
                    match by_staff.iter_mut().find(|g| g[0].staff_id == e.staff_id) {
                        Some(g) => g.push(e.clone()),
                        None => by_staff.push(vec![e.clone()]),
                    }
                }
                if mode == Mode::Items {
                    let items: Vec<record::Item> = batch
                        .iter()
                        .map(|e| record::Item {
                            events: vec![e.clone()],
                            note: None,
                            rules: RULES,
                        })
                        .collect();
                    let recorded = crate::db::change(&mut f.conn, |c| {
                        let mut pending = record::Pending::default();
                        let r = record::record_items(c, &items, &mut pending)?;
                        pending.apply(c)?;
                        Ok::<_, ChangeError>(r)
                    })
                    .unwrap_or_else(|err| panic!("round {round}: a batch failed: {err}"));
                    // One result per item, in order; none refused.
                    let ids: Vec<&str> = recorded
                        .iter()
                        .map(|r| r.as_ref().expect("kept").event().event_id.as_str())
                        .collect();
                    let want: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
                    assert_eq!(ids, want, "round {round}");
                    continue;
                }
                let recorded = crate::db::change(&mut f.conn, |c| {
                    let mut pending = record::Pending::default();
                    let r = if mode == Mode::Together {
                        let groups: Vec<record::Group> = by_staff
                            .iter()
                            .map(|g| record::Group {
                                events: g,
                                rules: RULES,
                            })
                            .collect();
                        record::record_groups_deferred(c, &groups, &mut pending)?
                    } else {
                        vec![record::record_group_deferred(
                            c,
                            batch,
                            RULES,
                            &mut pending,
                        )?]
                    };
                    pending.apply(c)?;
                    Ok(r)
                })
                .unwrap_or_else(|err| panic!("round {round}: a batch failed: {err}"));
                // One result per event, each group's in its order.
                let ids: Vec<Vec<&str>> = recorded
                    .iter()
                    .map(|g| g.iter().map(|r| r.event().event_id.as_str()).collect())
                    .collect();
                let want: Vec<Vec<&str>> = by_staff
                    .iter()
                    .map(|g| g.iter().map(|e| e.event_id.as_str()).collect())
                    .collect();
                assert_eq!(ids, want, "round {round}");
            }
        } else {
            for e in &events {
                match record::record(&mut f.conn, e, None, RULES) {
                    Ok(_) => {}
                    Err(err) => panic!("round {round}: event {} failed: {err}", e.event_id),
                }
            }
        }
        let staff = if matches!(mode, Mode::Together | Mode::Items) {
            vec![f.staff.clone(), bertil.to_string()]
        } else {
            vec![f.staff.clone()]
        };
        for s in staff {
            f.staff = s;
            // The client and day too: an update of a stored visit sets
            // neither, as both follow from the event it is named after.
            let full: Vec<Shape> = {
                let mut v: Vec<Shape> = record::rederive_staff(&mut f.conn, &f.staff, RULES)
                    .unwrap()
                    .into_iter()
                    .map(|d| {
                        let day = d
                            .started_at
                            .or(d.ended_at)
                            .map(|t| crate::domain::local_date(t.and_utc(), RULES.tz));
                        (
                            d.check_in,
                            d.check_out,
                            d.exception.map(|x| x.as_str().to_string()),
                            d.client_id,
                            day,
                        )
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(stored_pairs(&mut f), full, "round {round}");
            // 60 alternating events at most make 30 visits (Maj's blocks
            // break pairs where the client changes).
            assert!(full.len() >= 30, "round {round}: {}", full.len());
        }
    }
}

/// Items recorded together (`record_items`): an item a rule refuses (a
/// month locked for billing) is refused alone and the others are kept; an
/// item of two events (an entry) is one visit; a note is kept only with a
/// new event, not with a re-sent one.
#[test]
fn an_item_refused_in_a_batch_is_refused_alone() {
    use crate::db::schema::journal_note;
    let mut f = fixture();
    let july = crate::domain::YearMonth::of(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
    let staff = f.staff.clone();
    month_lock::lock_month(&mut f.conn, &f.provider, july, &staff, now()).unwrap();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let note = |e: &NewVisitEvent, body: &str| crate::db::journal_note::JournalNote {
        id: new_id(),
        source_key: e.source_key.clone(),
        event_id: format!("note-{}", e.event_id),
        client_id: e.client_id.clone(),
        provider_id: e.provider_id.clone(),
        author_id: e.staff_id.clone(),
        visit_event_id: Some(e.id.to_string()),
        corrects_note_id: None,
        written_at: e.occurred_at,
        received_at: e.received_at,
        body: body.into(),
    };
    let open = f.event(
        "in-1",
        "check_in",
        &lisa,
        local(2026, 11, 3, 8, 0),
        Payload::default(),
    );
    let locked = f.event(
        "in-2",
        "check_in",
        &maj,
        local(2026, 7, 20, 8, 0),
        Payload::default(),
    );
    let entry_in = f.event(
        "en/in",
        "check_in",
        &lisa,
        local(2026, 11, 4, 9, 0),
        Payload::default(),
    );
    let entry_out = f.event(
        "en/out",
        "check_out",
        &lisa,
        local(2026, 11, 4, 9, 30),
        Payload::default(),
    );
    let again = open.resent();
    let item = |events: Vec<NewVisitEvent>, note| record::Item {
        events,
        note,
        rules: RULES,
    };
    let items = vec![
        item(vec![open.clone()], None),
        item(vec![locked], None),
        item(
            vec![entry_in.clone(), entry_out.clone()],
            Some(note(&entry_out, "Glömde checka in")),
        ),
        item(vec![again.clone()], Some(note(&again, "Skickad igen"))),
    ];
    let results = crate::db::change(&mut f.conn, |c| {
        let mut pending = record::Pending::default();
        let r = record::record_items(c, &items, &mut pending)?;
        pending.apply(c)?;
        Ok::<_, ChangeError>(r)
    })
    .unwrap();
    assert_eq!(results.len(), 4);
    assert!(
        matches!(&results[0], Ok(Recorded::Applied { .. })),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], Err(ChangeError::Rule(RuleError::MonthLocked(m))) if *m == july),
        "{:?}",
        results[1]
    );
    // The entry's answer is its own visit, made of both its events.
    let Ok(Recorded::Applied { visits, .. }) = &results[2] else {
        panic!("{:?}", results[2]);
    };
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(
        (
            visits[0].fields.check_in_event_id.as_ref(),
            visits[0].fields.check_out_event_id.as_ref()
        ),
        (Some(&entry_in.id), Some(&entry_out.id))
    );
    assert!(
        matches!(&results[3], Ok(Recorded::Duplicate { event }) if event.id == open.id),
        "{:?}",
        results[3]
    );
    // Stored: the open visit and the entry's; nothing in the locked month;
    // the entry's note alone.
    let stored = f.visits();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|v| chrono::Datelike::month(&v.fields.local_date) == 11)
    );
    let notes: Vec<String> = journal_note::table
        .select(journal_note::body)
        .filter(journal_note::author_id.eq(&staff))
        .load(&mut f.conn)
        .unwrap();
    assert_eq!(notes, ["Glömde checka in"]);
}
