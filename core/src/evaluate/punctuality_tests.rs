//! Planned visits against recorded ones, on a real database, at chosen
//! instants.

use super::punctuality::{self, Day};
use crate::db::planned_visit::{self, NewPlan};
use crate::db::testing::TestDb;
use crate::db::visit_event::{NewVisitEvent, Payload};
use crate::db::*;
use crate::domain::figures::FrameWindow;
use crate::domain::punctuality::{MatchLimits, State, Tolerances};
use crate::model::{EventKind, PlanSource, Source, UserId};
use crate::record::{self, Rules};
use crate::seed;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;

const RULES: Rules = Rules {
    tz: Stockholm,
    max_seconds: 12 * 3600,
    window: FrameWindow {
        start_minute: 420,
        end_minute: 1320,
    },
};

pub(super) struct Fixture {
    _db: TestDb,
    pub(super) conn: DbConn,
    pub(super) provider: String,
    pub(super) anna: String,
    pub(super) lisa: String,
    pub(super) maj: String,
}

pub(super) fn fixture() -> Fixture {
    let db = TestDb::new();
    let mut conn = db.connect();
    let demo = seed::demo(&mut conn, day()).unwrap();
    let anna = user_account::find_by_username(&mut conn, "demo.anna")
        .unwrap()
        .unwrap();
    let clients = client::list(&mut conn, &demo.municipality.id).unwrap();
    let id_of = |name: &str| {
        clients
            .iter()
            .find(|c| c.fields.given_name == name)
            .unwrap()
            .id
            .to_string()
    };
    Fixture {
        provider: anna.fields.provider_id.clone().unwrap().to_string(),
        anna: anna.id.to_string(),
        lisa: id_of("Lisa"),
        maj: id_of("Maj"),
        conn,
        _db: db,
    }
}

pub(super) fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// A local time of the day, as UTC.
pub(super) fn local(h: u32, m: u32) -> NaiveDateTime {
    Stockholm
        .with_ymd_and_hms(2026, 11, 23, h, m, 0)
        .unwrap()
        .naive_utc()
}

pub(super) fn instant(h: u32, m: u32) -> DateTime<Utc> {
    local(h, m).and_utc()
}

impl Fixture {
    pub(super) fn plan(&self, r: &str, client: &str, hour: u32, critical: bool) -> NewPlan {
        NewPlan {
            planner_ref: r.into(),
            client_id: client.into(),
            local_date: day(),
            earliest_start: local(hour, 0),
            latest_start: local(hour, 30),
            expected_minutes: 30,
            double_staffing: false,
            time_critical: critical,
            tolerance_minutes: None,
            source: PlanSource::Planner,
            services: Vec::new(),
            staff: vec![UserId::new(self.anna.clone())],
        }
    }

    pub(super) fn event(&mut self, id: &str, kind: EventKind, client: &str, at: NaiveDateTime) {
        self.event_on(id, kind, client, at, day());
    }

    /// [`Fixture::event`] at `at` on the local day `on`.
    pub(super) fn event_on(
        &mut self,
        id: &str,
        kind: EventKind,
        client: &str,
        at: NaiveDateTime,
        on: NaiveDate,
    ) {
        let e = NewVisitEvent {
            id: new_id().into(),
            source: Source::Phone,
            source_key: self.anna.clone(),
            event_id: id.into(),
            kind,
            staff_id: self.anna.clone().into(),
            client_id: client.into(),
            provider_id: self.provider.clone().into(),
            occurred_at: at,
            received_at: at,
            local_date: on,
            method: Some(crate::model::Method::Nfc),
            method_ref: Some("tag-1".into()),
            reason: None,
            payload: serde_json::to_string(&Payload::default()).unwrap(),
        };
        record::record(&mut self.conn, &e, None, RULES).unwrap();
    }

    fn at(&mut self, now: DateTime<Utc>) -> Day {
        let p = self.provider.clone();
        punctuality::day(
            &mut self.conn,
            &p,
            day(),
            now,
            &Tolerances::default(),
            MatchLimits::default(),
        )
        .unwrap()
    }
}

fn states(d: &Day) -> Vec<(String, State)> {
    d.plans
        .iter()
        .map(|p| (p.plan.plan.planner_ref.clone(), p.standing.state))
        .collect()
}

#[test]
fn a_providers_day_shows_each_plan_waiting_late_done_or_missed() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let provider = f.provider.clone();
    let plans = [
        f.plan("lisa-8", &lisa, 8, false),
        f.plan("maj-9", &maj, 9, true),
        f.plan("lisa-12", &lisa, 12, false),
    ];
    planned_visit::store(&mut f.conn, &provider, &plans, true, now()).unwrap();
    // Lisa's morning visit: in at 08:40 (late), out at 09:05.
    f.event("in1", EventKind::CheckIn, &lisa, local(8, 40));
    // 08:50: Lisa's plan in progress, started 10 minutes after its latest
    // start; Maj's time-critical plan still waiting.
    let d = f.at(instant(8, 50));
    assert_eq!(
        states(&d),
        [
            ("lisa-8".to_string(), State::InProgress),
            ("maj-9".to_string(), State::Waiting),
            ("lisa-12".to_string(), State::Waiting),
        ]
    );
    assert_eq!(
        d.plans[0].standing.started_late,
        Some(chrono::Duration::minutes(10))
    );
    f.event("out1", EventKind::CheckOut, &lisa, local(9, 5));
    // 09:36: Maj's time-critical plan late (09:30 + 5 minutes), with the
    // caveat that Anna's phone last delivered at 09:05.
    let d = f.at(instant(9, 36));
    assert_eq!(d.plans[0].standing.state, State::Done);
    assert_eq!(d.plans[1].standing.state, State::Late);
    assert_eq!(
        d.plans[1].standing.offline_since,
        Some(instant(9, 5)),
        "{:?}",
        d.plans[1]
    );
    assert_eq!(d.plans[0].visits.len(), 1);
    // Maj is never visited: missed at 10:00; Lisa's noon plan kept by an
    // early visit; a visit to Maj at 15:00 kept no plan.
    f.event("in2", EventKind::CheckIn, &lisa, local(11, 50));
    f.event("out2", EventKind::CheckOut, &lisa, local(12, 20));
    f.event("in3", EventKind::CheckIn, &maj, local(15, 0));
    f.event("out3", EventKind::CheckOut, &maj, local(15, 20));
    let d = f.at(instant(16, 0));
    assert_eq!(
        states(&d),
        [
            ("lisa-8".to_string(), State::Done),
            ("maj-9".to_string(), State::Missed),
            ("lisa-12".to_string(), State::Done),
        ]
    );
    assert_eq!(
        d.plans[2].standing.started_early,
        Some(chrono::Duration::minutes(10))
    );
    assert_eq!(d.unplanned.len(), 1);
    // The same day seen at 09:36 again (the clock is a parameter): the
    // later visits are not yet known to it.
    let d = f.at(instant(9, 36));
    assert_eq!(d.plans[1].standing.state, State::Late);
    assert_eq!(d.plans[1].standing.offline_since, Some(instant(9, 5)));
    assert_eq!(d.plans[2].standing.state, State::Waiting);
}

#[test]
fn a_phone_that_reached_hemtid_without_an_event_is_known_online() {
    let mut f = fixture();
    let maj = f.maj.clone();
    let provider = f.provider.clone();
    let anna = f.anna.clone();
    // Maj's time-critical plan, 09:00–09:30, late at 09:35; Anna planned.
    let plans = [f.plan("maj-9", &maj, 9, true)];
    planned_visit::store(&mut f.conn, &provider, &plans, true, now()).unwrap();
    // No event and no contact: nothing is known of Anna's phone.
    let d = f.at(instant(9, 40));
    assert_eq!(d.plans[0].standing.state, State::Late);
    assert_eq!(d.plans[0].standing.offline_since, None);
    // Her phone synchronised at 09:20 (no event): a check-in may be held
    // on it since then.
    crate::db::phone_contact::touch(&mut f.conn, &anna, instant(9, 20).naive_utc()).unwrap();
    let d = f.at(instant(9, 40));
    assert_eq!(d.plans[0].standing.offline_since, Some(instant(9, 20)));
    // It reached hemtid again at 09:38, after the plan became late: the
    // phone is online and holds nothing, so no caveat.
    crate::db::phone_contact::touch(&mut f.conn, &anna, instant(9, 38).naive_utc()).unwrap();
    let d = f.at(instant(9, 40));
    assert_eq!(d.plans[0].standing.offline_since, None);
    // Seen as at 09:37, the 09:38 contact is not known yet (only the
    // latest is kept: the earlier one is no longer either).
    let d = f.at(instant(9, 37));
    assert_eq!(d.plans[0].standing.offline_since, None);
}
