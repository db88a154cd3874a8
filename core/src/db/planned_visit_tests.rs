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
