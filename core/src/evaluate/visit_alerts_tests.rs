//! The live alerts of late and missed planned visits, on a real database,
//! travelling in time: raised at the threshold, resolved on arrival,
//! escalated to the caseworker only when the provider does not
//! acknowledge.

use super::punctuality_tests::{Fixture, fixture, instant, local};
use super::visit_alerts::{self, Live};
use crate::db::alert::{self, Alert};
use crate::db::planned_visit;
use crate::db::schema::alert as alert_table;
use crate::db::*;
use crate::model::{AlertAction, AlertKind, AlertState, Audience, EventKind};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

impl Fixture {
    fn run(&mut self, now: DateTime<Utc>) -> Live {
        visit_alerts::all(&mut self.conn, now).unwrap()
    }

    fn alerts(&mut self) -> Vec<Alert> {
        alert_table::table
            .filter(alert_table::planned_visit_id.is_not_null())
            .order((alert_table::raised_at, alert_table::kind))
            .select(Alert::as_select())
            .load(&mut self.conn)
            .unwrap()
    }

    fn kinds(&mut self) -> Vec<(AlertKind, AlertState)> {
        self.alerts().iter().map(|a| (a.kind, a.state)).collect()
    }

    /// The provider's chef acknowledges alert `id` at `at`, with `note`;
    /// the chef's user id.
    fn acknowledge(&mut self, id: &str, note: &str, at: chrono::NaiveDateTime) -> String {
        self.act(id, AlertState::Acknowledged, note, at)
    }

    /// The provider's chef sets alert `id` to `state` at `at`, with
    /// `note`; the chef's user id.
    fn act(
        &mut self,
        id: &str,
        state: AlertState,
        note: &str,
        at: chrono::NaiveDateTime,
    ) -> String {
        let chef = user_account::find_by_username(&mut self.conn, "demo.chef.jakobsberg")
            .unwrap()
            .unwrap();
        alert::act(&mut self.conn, id, state, &chef.id, note, at).unwrap();
        chef.id.to_string()
    }

    /// The planner sends `plans` at 06:00 on the plans' day.
    fn store(&mut self, plans: &[planned_visit::NewPlan]) {
        self.store_at(plans, instant(6, 0));
    }

    fn store_at(&mut self, plans: &[planned_visit::NewPlan], at: DateTime<Utc>) {
        let provider = self.provider.clone();
        crate::planning::store_planned(&mut self.conn, &provider, plans, true, at).unwrap();
    }
}

#[test]
fn a_late_visit_is_alerted_at_its_threshold_and_resolved_when_the_check_in_comes() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    // Latest start 08:30, the municipality's tolerance 15 minutes.
    let before = f.run(instant(8, 44));
    assert!(f.alerts().is_empty());
    assert_eq!(before.next, Some(instant(8, 45)));
    let at = f.run(instant(8, 45));
    assert_eq!(at.evaluation.raised, 1);
    let a = &f.alerts()[0];
    assert_eq!(
        (a.kind, a.state, a.audience),
        (AlertKind::VisitLate, AlertState::Open, Audience::Provider)
    );
    assert_eq!(a.provider_id.as_deref(), Some(f.provider.as_str()));
    assert_eq!(a.client_id.as_str(), lisa);
    assert!(a.message.contains("försenat"), "{}", a.message);
    assert!(a.message.contains("08:00–08:30"), "{}", a.message);
    let figures: serde_json::Value = serde_json::from_str(&a.figures).unwrap();
    assert_eq!(figures["planner_ref"], "lisa-8");
    assert_eq!(figures["tolerance_minutes"], 15);
    // A minute later nothing changed: no update goes out.
    let again = f.run(instant(8, 46));
    assert!(!again.evaluation.changed(), "{again:?}");
    // The check-in comes at 08:50, 20 minutes after the latest start.
    f.event("in", EventKind::CheckIn, &lisa, local(8, 50));
    let arrived = f.run(instant(8, 50));
    assert_eq!(arrived.evaluation.resolved, 1);
    let a = &f.alerts()[0];
    assert_eq!(a.state, AlertState::Resolved);
    assert!(
        a.message.contains("20 min efter senaste start"),
        "{}",
        a.message
    );
    let history = alert::history(&mut f.conn, &a.id).unwrap();
    let actions: Vec<AlertAction> = history.iter().map(|h| h.action).collect();
    assert_eq!(actions, [AlertAction::Raised, AlertAction::Resolved]);
}

#[test]
fn a_time_critical_visit_is_late_sooner_and_missed_after_its_window() {
    let mut f = fixture();
    let maj = f.maj.clone();
    let plan = f.plan("maj-9", &maj, 9, true);
    f.store(&[plan]);
    // Time-critical: 5 minutes after 09:30.
    f.run(instant(9, 34));
    assert!(f.alerts().is_empty());
    f.run(instant(9, 35));
    assert_eq!(f.kinds(), [(AlertKind::VisitLate, AlertState::Open)]);
    assert!(f.alerts()[0].message.starts_with("Tidskritiskt"));
    // Missed once the window and its expected 30 minutes have passed: the
    // late alert gives way to the missed one.
    let live = f.run(instant(9, 59));
    assert_eq!(live.next, Some(instant(10, 0)));
    f.run(instant(10, 0));
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Open),
        ]
    );
    // Nobody came and nobody acknowledged: 30 minutes after it became
    // late (09:35), the client's caseworker is told.
    f.run(instant(10, 4));
    assert_eq!(f.alerts().len(), 2);
    f.run(instant(10, 5));
    let escalated = f
        .alerts()
        .into_iter()
        .find(|a| a.kind == AlertKind::VisitNotAcknowledged)
        .expect("escalated");
    assert_eq!(escalated.audience, Audience::Caseworker);
    let caseworker = client::get_any(&mut f.conn, &maj)
        .unwrap()
        .fields
        .caseworker_id;
    assert!(caseworker.is_some());
    assert_eq!(escalated.caseworker_id, caseworker);
    // A check-in at 10:20 (50 minutes after the latest start) resolves all
    // of them and says how late it came.
    f.event("in", EventKind::CheckIn, &maj, local(10, 20));
    f.run(instant(10, 20));
    for a in f.alerts() {
        assert_eq!(a.state, AlertState::Resolved, "{a:?}");
    }
    let missed = f
        .alerts()
        .into_iter()
        .find(|a| a.kind == AlertKind::VisitMissed)
        .unwrap();
    assert!(
        missed.message.contains("50 min efter senaste start"),
        "{}",
        missed.message
    );
}

#[test]
fn an_acknowledged_alert_is_not_escalated_and_records_who_acknowledged() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    f.run(instant(8, 45));
    let late = f.alerts()[0].clone();
    let chef = f.acknowledge(&late.id, "Ringer brukaren.", local(8, 50));
    // Past the escalation time, past the window: missed, but the provider
    // knows, so the caseworker is not told.
    f.run(instant(9, 30));
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Open),
        ]
    );
    let history = alert::history(&mut f.conn, &late.id).unwrap();
    let ack = history
        .iter()
        .find(|h| h.action == AlertAction::Acknowledged)
        .unwrap();
    assert_eq!(ack.by_user_id.as_deref(), Some(chef.as_str()));
    assert_eq!(ack.note, "Ringer brukaren.");
}

#[test]
fn an_alert_a_person_resolved_stays_resolved_and_counts_as_an_answer() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(std::slice::from_ref(&plan));
    f.run(instant(8, 45));
    let late = f.alerts()[0].clone();
    f.act(
        &late.id,
        AlertState::Resolved,
        "Besöket flyttat till 14:00 i samråd med brukaren.",
        local(8, 47),
    );
    // Resolving marks the plan to be judged again at once: the rules do
    // not reopen what a person closed.
    let after = f.run(instant(8, 48));
    assert!(!after.evaluation.changed(), "{after:?}");
    assert_eq!(f.kinds(), [(AlertKind::VisitLate, AlertState::Resolved)]);
    // Missed at 09:00 is a finding of its own; the person's answer keeps
    // the caseworker out of it (no escalation at 09:15).
    f.run(instant(9, 0));
    let missed = f.alerts()[1].clone();
    assert_eq!(
        (missed.kind, missed.state),
        (AlertKind::VisitMissed, AlertState::Open)
    );
    f.act(&missed.id, AlertState::Resolved, "", local(9, 5));
    for t in [instant(9, 6), instant(9, 16), instant(12, 0)] {
        f.run(t);
    }
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Resolved),
        ]
    );
    let history = alert::history(&mut f.conn, &missed.id).unwrap();
    let actions: Vec<AlertAction> = history.iter().map(|h| h.action).collect();
    assert_eq!(actions, [AlertAction::Raised, AlertAction::Resolved]);
    // Sent again at 12:00, moved to 14:00–14:30: a new question, so late
    // at 14:45 reopens the late alert.
    let mut moved = plan.clone();
    moved.earliest_start = local(14, 0);
    moved.latest_start = local(14, 30);
    f.store_at(&[moved], instant(12, 0));
    let late_again = f.run(instant(14, 45));
    assert_eq!(late_again.evaluation.reopened, 1, "{late_again:?}");
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Open),
            (AlertKind::VisitMissed, AlertState::Resolved),
        ]
    );
}

#[test]
fn an_escalation_is_resolved_when_the_provider_acknowledges() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    f.run(instant(8, 45));
    f.run(instant(9, 15));
    let escalated = f
        .alerts()
        .into_iter()
        .find(|a| a.kind == AlertKind::VisitNotAcknowledged)
        .expect("escalated at 08:45 + 30 minutes");
    // By then the visit is missed (09:00) too: the open alert is that one.
    let missed = f
        .alerts()
        .into_iter()
        .find(|a| a.kind == AlertKind::VisitMissed)
        .unwrap();
    f.acknowledge(&missed.id, "", local(9, 16));
    f.run(instant(9, 17));
    let now = alert::get(&mut f.conn, &escalated.id).unwrap();
    assert_eq!(now.state, AlertState::Resolved);
    assert!(now.message.contains("kvitterat"), "{}", now.message);
}

#[test]
fn a_late_alert_says_when_the_planned_phone_was_last_heard_from() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    // Anna's phone delivered a visit to Maj at 07:40, then went quiet.
    f.event("in0", EventKind::CheckIn, &maj, local(7, 10));
    f.event("out0", EventKind::CheckOut, &maj, local(7, 40));
    f.run(instant(8, 45));
    let a = &f.alerts()[0];
    assert!(
        a.message.contains("hördes senast av 07:40"),
        "{}",
        a.message
    );
    let figures: serde_json::Value = serde_json::from_str(&a.figures).unwrap();
    assert_eq!(figures["phone_last_seen"], "2026-11-23T06:40:00Z");
}

#[test]
fn a_plan_removed_by_the_planner_resolves_its_alert() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = [
        f.plan("lisa-8", &lisa, 8, false),
        f.plan("maj-12", &maj, 12, false),
    ];
    f.store(&plans);
    f.run(instant(8, 45));
    assert_eq!(f.kinds(), [(AlertKind::VisitLate, AlertState::Open)]);
    // The planner sends the day again without Lisa's morning visit.
    f.store(&plans[1..]);
    f.run(instant(8, 46));
    let a = &f.alerts()[0];
    assert_eq!(a.state, AlertState::Resolved);
    assert!(a.message.contains("tagits bort"), "{}", a.message);
}

#[test]
fn settled_plans_are_not_matched_again_but_their_escalation_still_answers() {
    use crate::db::schema::planned_visit as pv;
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = [
        f.plan("lisa-8", &lisa, 8, false),
        f.plan("maj-9", &maj, 9, false),
    ];
    f.store(&plans);
    let settled = |f: &mut Fixture, r: &str| -> bool {
        use crate::db::schema::planned_visit_due as d;
        d::table
            .inner_join(pv::table)
            .filter(pv::planner_ref.eq(r))
            .select(d::settled_at)
            .first::<Option<chrono::NaiveDateTime>>(&mut f.conn)
            .unwrap()
            .is_some()
    };
    f.event("in", EventKind::CheckIn, &lisa, local(8, 10));
    f.event("out", EventKind::CheckOut, &lisa, local(8, 40));
    f.run(instant(9, 0));
    assert!(settled(&mut f, "lisa-8"), "a done plan is settled");
    assert!(!settled(&mut f, "maj-9"), "a waiting one is not");
    // Maj's plan: late at 09:45, missed at 10:00, escalated at 10:15; past
    // 12:30 no visit can keep it any more: settled.
    f.run(instant(9, 45));
    f.run(instant(12, 31));
    assert!(settled(&mut f, "maj-9"));
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Open),
            (AlertKind::VisitNotAcknowledged, AlertState::Open),
        ]
    );
    // A minute later nothing is read again and nothing changes.
    let again = f.run(instant(12, 32));
    assert!(!again.evaluation.changed(), "{again:?}");
    // The provider acknowledges: the caseworker's alert is resolved.
    let missed = f.alerts()[1].clone();
    f.acknowledge(&missed.id, "", local(12, 33));
    f.run(instant(12, 34));
    assert_eq!(f.alerts()[2].state, AlertState::Resolved);
    // Sent again with another window, a plan is looked at again.
    let mut moved = plans[0].clone();
    moved.earliest_start = local(9, 0);
    moved.latest_start = local(9, 30);
    f.store(&[moved, plans[1].clone()]);
    assert!(!settled(&mut f, "lisa-8"));
}

/// Each plan's next instant to be judged, by planner reference.
fn due_at(f: &mut Fixture, r: &str) -> Option<chrono::NaiveDateTime> {
    use crate::db::schema::{planned_visit as pv, planned_visit_due as d};
    d::table
        .inner_join(pv::table)
        .filter(pv::planner_ref.eq(r))
        .select(d::due_at)
        .first(&mut f.conn)
        .unwrap()
}

#[test]
fn each_plan_is_judged_only_at_its_next_instant_or_when_its_client_is_visited() {
    let mut f = fixture();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    let plans = [
        f.plan("lisa-8", &lisa, 8, false),
        f.plan("maj-12", &maj, 12, false),
    ];
    f.store(&plans);
    // Stored: each waits for its latest start.
    assert_eq!(due_at(&mut f, "lisa-8"), Some(local(8, 30)));
    assert_eq!(due_at(&mut f, "maj-12"), Some(local(12, 30)));
    // Judged at 08:40, still waiting: next at its threshold, 08:45.
    f.run(instant(8, 40));
    assert_eq!(due_at(&mut f, "lisa-8"), Some(local(8, 45)));
    f.run(instant(8, 45));
    // Late: next when it is missed (09:00) or escalated (09:15).
    assert_eq!(due_at(&mut f, "lisa-8"), Some(local(9, 0)));
    // Lisa's check-in asks for her day once, not for each plan; Maj's
    // is not asked for, and no plan's instant is written.
    f.event("in", EventKind::CheckIn, &lisa, local(8, 50));
    assert_eq!(asked_days(&mut f), [(lisa.clone(), local(8, 50).date())]);
    assert_eq!(due_at(&mut f, "lisa-8"), Some(local(9, 0)));
    assert_eq!(due_at(&mut f, "maj-12"), Some(local(12, 30)));
    assert_eq!(
        planned_visit::next_due(&mut f.conn).unwrap(),
        Some(planned_visit::AT_ONCE),
        "the evaluator's cue sees the day asked for"
    );
    let arrived = f.run(instant(8, 51));
    assert!(asked_days(&mut f).is_empty(), "the run answered the day");
    assert_eq!(arrived.evaluation.resolved, 1);
    // In progress: only another visit or change can alter its alerts.
    assert_eq!(due_at(&mut f, "lisa-8"), None);
    assert_eq!(arrived.next, Some(instant(12, 30)));
    // Nothing is due until then: a run reads nothing and changes nothing.
    let quiet = f.run(instant(9, 30));
    assert!(!quiet.evaluation.changed(), "{quiet:?}");
    assert_eq!(due_at(&mut f, "maj-12"), Some(local(12, 30)));
}

#[test]
fn voiding_the_visit_that_kept_a_done_plan_raises_its_alert() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    f.event("in", EventKind::CheckIn, &lisa, local(8, 10));
    f.event("out", EventKind::CheckOut, &lisa, local(8, 40));
    f.run(instant(9, 5));
    assert!(f.alerts().is_empty());
    assert_eq!(due_at(&mut f, "lisa-8"), None, "done: nothing is due");
    // The visit was registered by mistake and is voided: the plan was
    // never kept, and past its window it is missed.
    let visit: String = {
        use crate::db::schema::visit;
        visit::table
            .filter(visit::client_id.eq(&lisa))
            .select(visit::id)
            .first(&mut f.conn)
            .unwrap()
    };
    let chef = user_account::find_by_username(&mut f.conn, "demo.chef.jakobsberg")
        .unwrap()
        .unwrap();
    crate::record::void(
        &mut f.conn,
        &visit,
        crate::db::visit_change::Change {
            by: &chef.id,
            at: local(9, 10),
            reason_code: None,
            comment: "fel brukare",
        },
    )
    .unwrap();
    assert_eq!(asked_days(&mut f), [(lisa.clone(), local(8, 10).date())]);
    f.run(instant(9, 11));
    assert_eq!(f.kinds(), [(AlertKind::VisitMissed, AlertState::Open)]);
}

/// The clients' days asked for, by client and day.
fn asked_days(f: &mut Fixture) -> Vec<(String, chrono::NaiveDate)> {
    use crate::db::schema::visited_day as vd;
    vd::table
        .select((vd::client_id, vd::local_date))
        .order((vd::client_id, vd::local_date))
        .load(&mut f.conn)
        .unwrap()
}

#[test]
fn a_day_asked_for_again_while_a_run_judged_it_stays_asked_for() {
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let plan = f.plan("lisa-8", &lisa, 8, false);
    f.store(&[plan]);
    f.event("in", EventKind::CheckIn, &lisa, local(8, 50));
    let municipality = client::get_any(&mut f.conn, &lisa).unwrap().municipality_id;
    let read = visited_day::of_municipality(&mut f.conn, &municipality).unwrap();
    assert_eq!(read.len(), 1);
    // A check-out is recorded after the run read the day, before it
    // answers it: the day stays asked for.
    f.event("out", EventKind::CheckOut, &lisa, local(9, 20));
    let again = visited_day::of_municipality(&mut f.conn, &municipality).unwrap();
    assert_ne!(read, again, "each ask is another instant");
    assert_eq!(visited_day::answered(&mut f.conn, &read).unwrap(), 0);
    assert_eq!(asked_days(&mut f), [(lisa.clone(), local(8, 50).date())]);
    // What the run read, it answers.
    assert_eq!(visited_day::answered(&mut f.conn, &again).unwrap(), 1);
    assert!(asked_days(&mut f).is_empty());
}

#[test]
fn a_check_in_after_midnight_keeps_the_evening_plan_of_the_day_before() {
    use chrono::TimeZone;
    let mut f = fixture();
    let lisa = f.lisa.clone();
    let next_day = super::punctuality_tests::day().succ_opt().unwrap();
    let after_midnight = |h, m| {
        chrono_tz::Europe::Stockholm
            .from_local_datetime(&next_day.and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .naive_utc()
    };
    // 23:00-23:30, 30 minutes: late at 23:45, missed at 00:00.
    let evening = f.plan("lisa-23", &lisa, 23, false);
    f.store(&[evening]);
    f.run(instant(23, 45));
    let late = f.alerts()[0].clone();
    assert_eq!(late.kind, AlertKind::VisitLate);
    // Acknowledged: nobody else is to be told, so after it is missed
    // nothing but a visit can change its alerts.
    f.acknowledge(&late.id, "", local(23, 50));
    f.run(after_midnight(0, 5).and_utc());
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Open)
        ]
    );
    let due = due_at(&mut f, "lisa-23");
    assert!(
        due.is_none_or(|d| d > after_midnight(0, 21)),
        "not due by itself before the next run: {due:?}"
    );
    // The care worker comes at 00:20, a visit of the next day that keeps
    // yesterday's plan: asking for Lisa's next day has it judged too.
    f.event_on(
        "in",
        EventKind::CheckIn,
        &lisa,
        after_midnight(0, 20),
        next_day,
    );
    assert_eq!(asked_days(&mut f), [(lisa.clone(), next_day)]);
    let arrived = f.run(after_midnight(0, 21).and_utc());
    assert_eq!(arrived.evaluation.resolved, 1, "{arrived:?}");
    assert_eq!(
        f.kinds(),
        [
            (AlertKind::VisitLate, AlertState::Resolved),
            (AlertKind::VisitMissed, AlertState::Resolved)
        ]
    );
}
