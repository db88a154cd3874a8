//! The alert rules inside `hemtid serve`: client-months whose figures,
//! absences or explanations changed are evaluated once they have been
//! still for 300 ms ([`evaluate::QUIET`]: a batch changing them is
//! judged whole, not halfway), and every client's current and previous month on
//! a schedule and whenever the local date changes, for what time alone
//! changes (a month closing, a visit left open, the pace).
//!
//! Planned visits are evaluated every minute, and within a tick of the
//! instant any plan is due to be judged (`planned_visit_due.due_at`): when it
//! becomes late, missed or due for escalation, or at once when an alert
//! of it is acknowledged or it is sent again; and within a tick of a
//! visit of its client being recorded, corrected or voided (the client's
//! day asked for in `visited_day`), so an alert resolves within a tick of
//! the check-in. A plan removed resolves its alerts as it goes.

use crate::background::Background;
use hemtid_core::db::Pool;
use hemtid_core::domain::{STOCKHOLM, local_date};
use hemtid_core::evaluate;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often changed client-months are looked for.
const TICK: Duration = Duration::from_millis(150);

/// How often planned visits are evaluated when no threshold comes sooner.
const PUNCTUALITY: Duration = Duration::from_secs(60);

/// Starts the evaluator; [`Background::stop`] ends it.
pub fn start(pool: Pool, interval: Duration) -> std::io::Result<Background> {
    Background::spawn("evaluator", move |stop| run(&pool, interval, stop))
}

fn run(pool: &Pool, interval: Duration, stop: &AtomicBool) {
    let mut next_full = Instant::now();
    let mut day = None;
    let mut live = Punctuality::default();
    while !stop.load(Ordering::SeqCst) {
        let now = chrono::Utc::now();
        let today = local_date(now, STOCKHOLM);
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "evaluator: no database connection");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if Instant::now() >= next_full || day != Some(today) {
            match evaluate::all(&mut conn, now) {
                Ok(e) => tracing::info!(
                    client_months = e.client_months,
                    raised = e.raised,
                    updated = e.updated,
                    reopened = e.reopened,
                    resolved = e.resolved,
                    skipped = e.skipped,
                    "alert rules evaluated"
                ),
                Err(e) => tracing::error!(error = %e, "evaluator: the full run failed"),
            }
            next_full = Instant::now() + interval;
            day = Some(today);
        }
        match evaluate::settled(&mut conn, now, 500, evaluate::QUIET) {
            Ok(e) if e.changed() => tracing::debug!(
                client_months = e.client_months,
                raised = e.raised,
                updated = e.updated,
                resolved = e.resolved,
                "changed client-months evaluated"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "evaluator: changed client-months failed"),
        }
        live.tick(&mut conn, now);
        drop(conn);
        std::thread::sleep(TICK);
    }
}

/// When planned visits are evaluated next, and the cues that bring a run
/// forward.
#[derive(Default)]
struct Punctuality {
    /// The next run; `None` before the first.
    next: Option<chrono::DateTime<chrono::Utc>>,
    /// When plans were last derived from the orders, and the latest
    /// change of the orders and settings read before it.
    derived: Option<(chrono::DateTime<chrono::Utc>, Option<chrono::NaiveDateTime>)>,
    /// When the orders' and settings' last change was last read (every
    /// ten seconds, not at every tick).
    inputs_read: Option<chrono::DateTime<chrono::Utc>>,
}

impl Punctuality {
    fn tick(&mut self, conn: &mut hemtid_core::db::DbConn, now: chrono::DateTime<chrono::Utc>) {
        self.derive(conn, now);
        let next_due = hemtid_core::db::planned_visit::next_due(conn).unwrap_or_else(|e| {
            // The minute's run still comes; only the cue is lost.
            tracing::warn!(error = %e, "evaluator: the plans' next instant unread");
            None
        });
        let due =
            self.next.is_none_or(|n| now >= n) || next_due.is_some_and(|d| d <= now.naive_utc());
        if !due {
            return;
        }
        let every = chrono::Duration::from_std(PUNCTUALITY).unwrap_or_default();
        match evaluate::visit_alerts::all(conn, now) {
            Ok(live) => {
                let e = live.evaluation;
                if e.changed() {
                    tracing::info!(
                        raised = e.raised,
                        updated = e.updated,
                        reopened = e.reopened,
                        resolved = e.resolved,
                        "planned visits evaluated"
                    );
                }
                let next = now + every;
                self.next = Some(live.next.map_or(next, |n| n.min(next)));
            }
            Err(e) => {
                tracing::error!(error = %e, "evaluator: planned visits failed");
                self.next = Some(now + every);
            }
        }
    }
}

impl Punctuality {
    /// Derives today's and tomorrow's plans from the orders (where a
    /// municipality asks for it) every hour, and as soon as an order or a
    /// setting changes.
    fn derive(&mut self, conn: &mut hemtid_core::db::DbConn, now: chrono::DateTime<chrono::Utc>) {
        if self
            .inputs_read
            .is_some_and(|at| now - at < chrono::Duration::seconds(10))
        {
            return;
        }
        self.inputs_read = Some(now);
        let inputs = hemtid_core::planning::inputs_changed_at(conn).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "evaluator: the orders' last change unread");
            None
        });
        let due = self
            .derived
            .is_none_or(|(at, seen)| now - at >= chrono::Duration::hours(1) || inputs > seen);
        if !due {
            return;
        }
        match hemtid_core::planning::derive_all(conn, now) {
            Ok(d) => {
                if d.created + d.updated + d.removed > 0 {
                    tracing::info!(
                        created = d.created,
                        updated = d.updated,
                        removed = d.removed,
                        "plans derived from the orders"
                    );
                }
                self.derived = Some((now, inputs));
            }
            Err(e) => {
                tracing::error!(error = %e, "evaluator: deriving plans failed");
                // Try again in a minute, not at once.
                self.derived = Some((now - chrono::Duration::minutes(59), inputs));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hemtid_core::db::planned_visit::{self, NewPlan};
    use hemtid_core::db::testing::TestDb;
    use hemtid_core::db::{alert, client, municipality, user_account};
    use hemtid_core::model::{AlertKind, PlanSource};

    /// A plan sent between two minute runs is looked at on the next tick,
    /// not a minute later.
    #[test]
    fn plans_sent_between_runs_are_evaluated_at_the_next_tick() {
        let db = TestDb::new();
        let mut c = db.connect();
        let now = chrono::Utc::now();
        let today = local_date(now, STOCKHOLM);
        hemtid_core::seed::demo(&mut c, today).unwrap();
        let mut live = Punctuality::default();
        live.tick(&mut c, now);
        let first = live.next.expect("a first run");
        assert!(first > now);
        let m = &municipality::list(&mut c).unwrap()[0];
        let lisa = client::list(&mut c, &m.id)
            .unwrap()
            .into_iter()
            .find(|cl| cl.fields.given_name == "Lisa")
            .unwrap();
        let anna = user_account::find_by_username(&mut c, "demo.anna")
            .unwrap()
            .unwrap();
        let provider = anna.fields.provider_id.clone().unwrap();
        // Late already (its latest start 20 minutes ago, the tolerance 15),
        // not yet escalated (30 minutes after that).
        let latest = now - chrono::Duration::minutes(20);
        let plan = NewPlan {
            planner_ref: "late".into(),
            client_id: lisa.id.clone(),
            local_date: local_date(latest - chrono::Duration::minutes(30), STOCKHOLM),
            earliest_start: (latest - chrono::Duration::minutes(30)).naive_utc(),
            latest_start: latest.naive_utc(),
            expected_minutes: 90,
            double_staffing: false,
            time_critical: false,
            tolerance_minutes: None,
            source: PlanSource::Planner,
            services: Vec::new(),
            staff: Vec::new(),
        };
        planned_visit::store(&mut c, &provider, &[plan], false, now.naive_utc()).unwrap();
        let day = local_date(latest - chrono::Duration::minutes(30), STOCKHOLM);
        let plan_id = planned_visit::for_day(&mut c, &provider, day)
            .unwrap()
            .into_iter()
            .find(|p| p.plan.planner_ref == "late")
            .unwrap()
            .id;
        let tick = now + chrono::Duration::milliseconds(150);
        assert!(tick < first);
        live.tick(&mut c, tick);
        let ids = [plan_id.as_str()];
        let open = alert::open_of_plans(&mut c, &ids).unwrap();
        assert_eq!(
            open.iter().map(|a| a.kind).collect::<Vec<_>>(),
            [AlertKind::VisitLate]
        );
        assert_eq!(open[0].municipality_id, m.id);
    }

    /// Switching `plans_from_orders` on derives tomorrow's plans at the
    /// next look at the settings, not an hour later.
    #[test]
    fn plans_are_derived_soon_after_the_setting_is_switched_on() {
        let db = TestDb::new();
        let mut c = db.connect();
        let now = chrono::Utc::now();
        let today = local_date(now, STOCKHOLM);
        hemtid_core::seed::demo(&mut c, today).unwrap();
        let anna = user_account::find_by_username(&mut c, "demo.anna")
            .unwrap()
            .unwrap();
        let provider = anna.fields.provider_id.clone().unwrap();
        let tomorrow = today + chrono::Days::new(1);
        let mut live = Punctuality::default();
        live.tick(&mut c, now);
        assert!(
            planned_visit::for_day(&mut c, &provider, tomorrow)
                .unwrap()
                .is_empty()
        );
        let mut m = municipality::list(&mut c).unwrap().remove(0);
        m.settings.plans_from_orders = true;
        municipality::update(&mut c, &m.id.clone(), &m.name.clone(), &m.settings).unwrap();
        live.tick(&mut c, now + chrono::Duration::seconds(11));
        let derived = planned_visit::for_day(&mut c, &provider, tomorrow).unwrap();
        assert!(!derived.is_empty());
        assert!(derived.iter().all(|p| p.plan.source == PlanSource::Order));
    }
}
