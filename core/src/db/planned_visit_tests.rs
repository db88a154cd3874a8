//! Planned visits stored by the planner's references, on a real database.

use super::planned_visit::{self, NewPlan, Stored};
use super::testing::TestDb;
use super::*;
use crate::model::{PlanSource, ServiceId, UserId};
use crate::seed;
use chrono::{NaiveDate, NaiveDateTime};

struct Fixture {
    _db: TestDb,
    conn: DbConn,
    provider: String,
    other_provider: String,
    lisa: String,
    maj: String,
    anna: String,
    shower: String,
    walk: String,
}

fn fixture() -> Fixture {
    let db = TestDb::new();
    let mut conn = db.connect();
    let demo = seed::demo(&mut conn, day(22)).unwrap();
    let m = demo.municipality.id;
    let anna = user_account::find_by_username(&mut conn, "demo.anna")
        .unwrap()
        .unwrap();
    let provider = anna.fields.provider_id.clone().unwrap().to_string();
    let other_provider = provider::list(&mut conn, &m)
        .unwrap()
        .into_iter()
        .map(|p| p.id.to_string())
        .find(|p| *p != provider)
        .unwrap();
    let clients = client::list(&mut conn, &m).unwrap();
    let id_of = |name: &str| {
        clients
            .iter()
            .find(|c| c.fields.given_name == name)
            .unwrap()
            .id
            .to_string()
    };
    let svc = |conn: &mut DbConn, code: &str| {
        service::find_by_code(conn, &m, code)
            .unwrap()
            .unwrap()
            .id
            .to_string()
    };
    Fixture {
        provider,
        other_provider,
        lisa: id_of("Lisa"),
        maj: id_of("Maj"),
        anna: anna.id.to_string(),
        shower: svc(&mut conn, "O-Duschhjälp"),
        walk: svc(&mut conn, "O-Promenad"),
        conn,
        _db: db,
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
    day(d).and_hms_opt(h, m, 0).unwrap()
}

impl Fixture {
    fn plan(&self, r: &str, client: &str, d: u32, hour: u32) -> NewPlan {
        NewPlan {
            planner_ref: r.into(),
            client_id: client.into(),
            local_date: day(d),
            earliest_start: at(d, hour, 0),
            latest_start: at(d, hour, 30),
            expected_minutes: 45,
            double_staffing: false,
            time_critical: false,
            tolerance_minutes: None,
            source: PlanSource::Planner,
            // Out of order and repeated: stored sorted, once.
            services: vec![
                ServiceId::new(self.walk.clone()),
                ServiceId::new(self.shower.clone()),
                ServiceId::new(self.walk.clone()),
            ],
            staff: vec![UserId::new(self.anna.clone())],
        }
    }

    fn store(&mut self, plans: &[NewPlan], whole_days: bool) -> Stored {
        let p = self.provider.clone();
        planned_visit::store(&mut self.conn, &p, plans, whole_days, now()).unwrap()
    }

    fn refs(&mut self, d: u32) -> Vec<String> {
        let p = self.provider.clone();
        planned_visit::for_day(&mut self.conn, &p, day(d))
            .unwrap()
            .into_iter()
            .map(|p| p.plan.planner_ref)
            .collect()
    }
}

#[test]
fn plans_sent_again_change_nothing_and_a_changed_plan_replaces_itself() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = vec![f.plan("p1", &lisa, 23, 8), f.plan("p2", &maj, 23, 10)];
    let first = f.store(&plans, false);
    assert_eq!((first.created, first.updated, first.unchanged), (2, 0, 0));
    let again = f.store(&plans, false);
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2));
    let provider = f.provider.clone();
    let stored = planned_visit::for_day(&mut f.conn, &provider, day(23)).unwrap();
    assert_eq!(stored.len(), 2);
    let mut shower_walk = vec![f.shower.clone(), f.walk.clone()];
    shower_walk.sort();
    let services: Vec<String> = stored[0]
        .plan
        .services
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(services, shower_walk);
    assert_eq!(stored[0].plan.staff, vec![UserId::new(f.anna.clone())]);
    let id_before = stored[0].id.clone();
    // Later, critical and without a care worker named: the same plan,
    // changed.
    let mut changed = f.plan("p1", &lisa, 23, 9);
    changed.time_critical = true;
    changed.tolerance_minutes = Some(5);
    changed.staff.clear();
    changed.services.truncate(1);
    let r = f.store(std::slice::from_ref(&changed), false);
    assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 0));
    let stored = planned_visit::for_day(&mut f.conn, &provider, day(23)).unwrap();
    let p1 = stored.iter().find(|p| p.plan.planner_ref == "p1").unwrap();
    assert_eq!(p1.plan, changed);
    // Replaced in place: the same id as when it was created.
    assert_eq!(p1.id, id_before);
    assert!(p1.updated_at >= p1.created_at);
    assert_eq!(stored.len(), 2);
}

#[test]
fn a_day_sent_whole_removes_the_plans_it_no_longer_holds() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = vec![
        f.plan("p1", &lisa, 23, 8),
        f.plan("p2", &maj, 23, 10),
        f.plan("p3", &lisa, 24, 8),
    ];
    f.store(&plans, false);
    // The 23rd again, without p2: removed; the 24th is not touched.
    let r = f.store(&[f.plan("p1", &lisa, 23, 8)], true);
    assert_eq!((r.unchanged, r.removed), (1, 1));
    assert_eq!(f.refs(23), ["p1"]);
    assert_eq!(f.refs(24), ["p3"]);
    // Sent as a change, not whole: nothing removed.
    let r = f.store(&[f.plan("p4", &maj, 24, 12)], false);
    assert_eq!((r.created, r.removed), (1, 0));
    assert_eq!(f.refs(24), ["p3", "p4"]);
}

#[test]
fn references_are_the_providers_own_and_a_bad_batch_keeps_nothing() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    f.store(&[f.plan("p1", &lisa, 23, 8)], false);
    // Another provider's p1 is another plan.
    let other = f.other_provider.clone();
    let plan = f.plan("p1", &lisa, 23, 14);
    let r = planned_visit::store(&mut f.conn, &other, &[plan], true, now()).unwrap();
    assert_eq!(r.created, 1);
    assert_eq!(f.refs(23), ["p1"]);
    let mine = planned_visit::for_day(&mut f.conn, &other, day(23)).unwrap();
    assert_eq!(mine[0].plan.earliest_start, at(23, 14, 0));
    // A batch with a plan the database refuses (its latest start before
    // its earliest) stores none of its plans.
    let mut bad = f.plan("p9", &lisa, 23, 16);
    bad.latest_start = at(23, 15, 0);
    let provider = f.provider.clone();
    let good = f.plan("p8", &lisa, 23, 12);
    assert!(planned_visit::store(&mut f.conn, &provider, &[good, bad], false, now()).is_err());
    assert_eq!(f.refs(23), ["p1"]);
}

/// The minute's first read: the plans whose instant has come, of the
/// municipality asked for only. On PostgreSQL the due instants are read
/// by their index and each plan by its primary key, as a generic plan and
/// as a plan made for the values, after statistics taken while the
/// instants were still ahead: as a join the planner hashed the few plans
/// due against a scan of all of them (docs/BENCHMARKS.md, section 5).
#[test]
fn the_due_plans_are_read_by_index_whatever_the_statistics() {
    use diesel::connection::SimpleConnection;
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = vec![
        f.plan("p1", &lisa, 23, 8),
        f.plan("p2", &maj, 23, 10),
        f.plan("p3", &lisa, 23, 14),
    ];
    f.store(&plans, true);
    let provider = f.provider.clone();
    let stored = planned_visit::for_day(&mut f.conn, &provider, day(23)).unwrap();
    let id = |r: &str| {
        stored
            .iter()
            .find(|p| p.plan.planner_ref == r)
            .unwrap()
            .id
            .to_string()
    };
    let (p1, p2, p3) = (id("p1"), id("p2"), id("p3"));
    let m = municipality::list(&mut f.conn)
        .unwrap()
        .into_iter()
        .map(|m| m.id.to_string())
        .find(|m| {
            provider::list(&mut f.conn, m)
                .unwrap()
                .iter()
                .any(|p| p.id.as_str() == provider)
        })
        .unwrap();
    // p1 due at 08:40, p2 at 10:40, p3 never.
    let read = planned_visit::judging_of(&mut f.conn, &[&p1, &p2, &p3]).unwrap();
    let set: Vec<(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)> = [
        (&p1, Some(at(23, 8, 40))),
        (&p2, Some(at(23, 10, 40))),
        (&p3, None),
    ]
    .into_iter()
    .map(|(p, next)| (p.as_str(), read[p.as_str()].due_at, next))
    .collect();
    planned_visit::set_due(&mut f.conn, &set).unwrap();
    let due = planned_visit::due(&mut f.conn, &m, at(23, 9, 0)).unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].id.as_str(), p1);
    assert_eq!(due[0].client_id.as_str(), lisa);
    assert_eq!(due[0].local_date, day(23));
    assert_eq!(due[0].latest_start, at(23, 8, 30));
    assert_eq!(due[0].due_at, Some(at(23, 8, 40)));
    let later = planned_visit::due(&mut f.conn, &m, at(23, 23, 0)).unwrap();
    let mut ids: Vec<&str> = later.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    let mut both = vec![p1.as_str(), p2.as_str()];
    both.sort_unstable();
    assert_eq!(ids, both, "a plan without an instant is never due");
    assert!(
        planned_visit::due(&mut f.conn, "another municipality", at(23, 23, 0))
            .unwrap()
            .is_empty()
    );
    let DbConn::Pg(pg) = &mut f.conn else {
        // SQLite reads the join as written: the plans of a municipality
        // are few beside PostgreSQL's, and its planner has no statistics
        // to go wrong with.
        return;
    };
    // A day of 5,000 plans (every 10 s from 06:00), statistics taken
    // while all their instants were still ahead, then the day passes and
    // each is judged and put off to the next day: the planner believes
    // nearly all of them due at 20:00, and none is.
    pg.batch_execute(&format!(
        "INSERT INTO planned_visit (id, provider_id, planner_ref, client_id, local_date, \
           earliest_start, latest_start, expected_minutes, double_staffing, time_critical, \
           tolerance_minutes, source, created_at, updated_at) \
         SELECT 'bulk-' || i, '{provider}', 'bulk-' || i, '{lisa}', date '2026-11-23', \
           timestamp '2026-11-23 06:00' + i * interval '10 seconds', \
           timestamp '2026-11-23 06:30' + i * interval '10 seconds', 45, false, false, NULL, \
           'planner', now(), now() FROM generate_series(1, 5000) i; \
         INSERT INTO planned_visit_due (planned_visit_id, due_at) \
           SELECT id, latest_start FROM planned_visit WHERE id LIKE 'bulk-%'; \
         ANALYZE planned_visit, planned_visit_due, provider; \
         UPDATE planned_visit_due SET due_at = due_at + interval '1 day' \
           WHERE planned_visit_id LIKE 'bulk-%';"
    ))
    .unwrap();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        let plan = super::storage_tests::explain_prepared(
            pg,
            mode,
            planned_visit::DUE_SQL,
            &format!("'2026-11-23 20:00', '{m}'"),
        );
        assert!(
            plan.contains("Nested Loop") && plan.contains("planned_visit_pkey"),
            "{mode}: {plan}"
        );
        assert!(
            !plan.contains("Seq Scan on planned_visit "),
            "{mode}: {plan}"
        );
    }
}
