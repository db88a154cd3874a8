//! The measures report over a real database (SQLite, or PostgreSQL with
//! `HEMTID_TEST_DATABASE_URL`): a fortnight of Lisa's visits, counted by
//! hand.

use crate::db::testing::TestDb;
use crate::db::user_account;
use crate::db::visit_event::{NewVisitEvent, Payload, PerformedService};
use crate::db::{DbConn, care_plan, client, municipality::Municipality, new_id, now, service};
use crate::domain::figures::FrameWindow;
use crate::measures::measures;
use crate::record::{self, Rules};
use crate::report::Filter;
use crate::seed;
use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Stockholm;

const RULES: Rules = Rules {
    tz: Stockholm,
    max_seconds: 12 * 3600,
    window: FrameWindow {
        start_minute: 420,
        end_minute: 1320,
    },
};

struct Fx {
    _db: TestDb,
    c: DbConn,
    m: Municipality,
    lisa: String,
    jakobsberg: String,
}

fn user(c: &mut DbConn, name: &str) -> String {
    user_account::find_by_username(c, name)
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

fn local(d: NaiveDate, h: u32, min: u32) -> NaiveDateTime {
    Stockholm
        .from_local_datetime(&d.and_hms_opt(h, min, 0).unwrap())
        .earliest()
        .unwrap()
        .naive_utc()
}

impl Fx {
    /// A visit of 30 minutes to Lisa by `staff` at `h:min` on `d`.
    fn visit(&mut self, staff: &str, d: NaiveDate, h: u32, min: u32, method: &str, code: &str) {
        let start = local(d, h, min);
        let service_id = service::find_by_code(&mut self.c, &self.m.id, code)
            .unwrap()
            .unwrap()
            .id;
        for (kind, at, method) in [
            ("check_in", start, method),
            ("check_out", start + chrono::Duration::minutes(30), "nfc"),
        ] {
            let payload = if kind == "check_out" {
                Payload {
                    services: vec![PerformedService {
                        service_id: service_id.clone(),
                        client_id: None,
                        minutes: None,
                    }],
                    ..Payload::default()
                }
            } else {
                Payload::default()
            };
            let e = NewVisitEvent {
                id: new_id().into(),
                source: crate::model::Source::Phone,
                source_key: staff.to_string(),
                event_id: new_id(),
                kind: crate::model::EventKind::parse(kind).expect("a known kind"),
                staff_id: staff.into(),
                client_id: self.lisa.clone().into(),
                provider_id: self.jakobsberg.clone().into(),
                occurred_at: at,
                received_at: now(),
                local_date: crate::domain::local_date(at.and_utc(), Stockholm),
                method: Some(crate::model::Method::parse(method).expect("a known method")),
                method_ref: Some("tag".into()),
                reason: None,
                payload: serde_json::to_string(&payload).unwrap(),
            };
            record::record(&mut self.c, &e, None, RULES).unwrap();
        }
    }
}

fn fx() -> Fx {
    let db = TestDb::new();
    let mut c = db.connect();
    // The demo's own visits end on 22 November.
    let m = seed::demo(&mut c, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
        .unwrap()
        .municipality;
    let lisa = client::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap();
    Fx {
        jakobsberg: lisa.fields.provider_id.clone().unwrap().to_string(),
        lisa: lisa.id.to_string(),
        c,
        m,
        _db: db,
    }
}

#[test]
fn a_fortnight_of_visits_counted_by_hand() {
    let mut f = fx();
    let (anna, bertil, cecilia) = (
        user(&mut f.c, "demo.anna"),
        user(&mut f.c, "demo.bertil"),
        user(&mut f.c, "demo.cecilia"),
    );
    let chef = user(&mut f.c, "demo.chef.jakobsberg");
    // Anna is Lisa's contact person, Bertil her deputy (R13).
    let (lisa, jakobsberg) = (f.lisa.clone(), f.jakobsberg.clone());
    care_plan::name_contact(
        &mut f.c,
        &lisa,
        &jakobsberg,
        &anna,
        Some(&bertil),
        &chef,
        now(),
    )
    .unwrap();
    let from = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    for k in 0..14u64 {
        let d = from + Days::new(k);
        // Mornings Anna, evenings Bertil and Anna by turns.
        let first = if k == 4 { "manual" } else { "nfc" };
        f.visit(&anna, d, 8, 0, first, "O-Tillsyn");
        let evening = if k % 2 == 0 { &bertil } else { &anna };
        f.visit(evening, d, 20, 0, "nfc", "O-Tillsyn");
    }
    // Cecilia: at 06:30 (before the day), with a meal delivery (left
    // out), and once at 14:00 with supervision: only that one counts.
    f.visit(&cecilia, from + Days::new(2), 6, 30, "nfc", "O-Tillsyn");
    f.visit(
        &cecilia,
        from + Days::new(5),
        12,
        0,
        "nfc",
        "S-Matdistribution",
    );
    let r = measures(
        &mut f.c,
        &f.m,
        from,
        from + Days::new(13),
        from,
        &Filter::default(),
    )
    .unwrap();
    let row = r.clients.iter().find(|c| c.client_id == lisa).unwrap();
    assert!(row.in_continuity_population);
    assert_eq!(row.care_workers_met, Some(2), "Anna and Bertil");
    f.visit(&cecilia, from + Days::new(10), 14, 0, "nfc", "O-Tillsyn");
    let r = measures(
        &mut f.c,
        &f.m,
        from,
        from + Days::new(13),
        from,
        &Filter::default(),
    )
    .unwrap();
    let row = r.clients.iter().find(|c| c.client_id == lisa).unwrap();
    assert_eq!(row.care_workers_met, Some(3));
    // 31 visits of 30 minutes, 28 by the contact person or deputy.
    assert_eq!(row.visits, 31);
    assert_eq!(row.contact_visits_basis_points, Some(28 * 10_000 / 31));
    assert_eq!(row.contact_minutes_basis_points, Some(28 * 10_000 / 31));
    // One check-in made by hand: 30 of 31 verified at both ends.
    assert_eq!(row.verified_basis_points, Some(30 * 10_000 / 31));
    // Nobody else had two visits every day: Lisa alone is the mean.
    assert_eq!(r.municipality.continuity_clients, 1);
    assert_eq!(r.municipality.continuity_mean, Some(3.0));
    assert_eq!(r.national.mean, 14.9);
    let provider = r
        .providers
        .iter()
        .find(|p| p.id.as_deref() == Some(jakobsberg.as_str()))
        .unwrap();
    assert_eq!(provider.continuity_mean, Some(3.0));
    assert_eq!(provider.verified_visits, 30);
    // A day in hospital takes her out of the population.
    crate::db::absence::create(
        &mut f.c,
        &crate::db::absence::NewAbsence {
            client_id: &lisa,
            starts_on: from + Days::new(7),
            ends_on: Some(from + Days::new(7)),
            cause: "hospital",
            note: "",
            registered_by: &chef,
        },
        None,
        now(),
    )
    .unwrap();
    let r = measures(
        &mut f.c,
        &f.m,
        from,
        from + Days::new(13),
        from,
        &Filter::default(),
    )
    .unwrap();
    let row = r.clients.iter().find(|c| c.client_id == lisa).unwrap();
    assert!(!row.in_continuity_population);
    assert_eq!(row.care_workers_met, None);
    assert_eq!(r.municipality.continuity_mean, None);
    let csv = crate::measures::clients_csv(&r);
    assert!(csv.starts_with("\u{feff}Brukare;"), "{csv}");
    assert!(csv.contains("Lisa Lindqvist;"), "{csv}");
}

/// The measures read kept figures (`figure_staff_day`, with each visit's
/// verification derived with it): filled from the visits by the migration
/// that added them, they answer as before; a catalogue change of what
/// personalkontinuitet leaves out applies at once.
#[test]
fn the_kept_figures_survive_their_migration_and_follow_the_catalogue() {
    let mut f = fx();
    let (anna, cecilia) = (user(&mut f.c, "demo.anna"), user(&mut f.c, "demo.cecilia"));
    let from = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    for k in 0..14u64 {
        let d = from + Days::new(k);
        f.visit(
            &anna,
            d,
            8,
            0,
            if k == 3 { "manual" } else { "lock" },
            "O-Tillsyn",
        );
        f.visit(&cecilia, d, 12, 0, "nfc", "S-Matdistribution");
    }
    let lisa = f.lisa.clone();
    let row = |f: &mut Fx| {
        let r = measures(
            &mut f.c,
            &f.m,
            from,
            from + Days::new(13),
            from,
            &Filter::default(),
        )
        .unwrap();
        r.clients.into_iter().find(|c| c.client_id == lisa).unwrap()
    };
    let before = row(&mut f);
    // Anna only: Cecilia brought meals, which the measure leaves out.
    assert_eq!(before.care_workers_met, Some(1));
    assert_eq!(
        (before.visits, before.verified_basis_points),
        (28, Some(27 * 10_000 / 28))
    );
    // Back to before 000019 (later migrations first), and up again.
    let mut reverted = Vec::new();
    while !reverted.iter().any(|r: &String| r.contains("000019")) {
        reverted.push(crate::db::revert_last_migration(&mut f.c).unwrap());
    }
    let applied = crate::db::run_migrations(&mut f.c).unwrap();
    assert_eq!(applied.len(), reverted.len(), "{applied:?}");
    assert_eq!(row(&mut f), before);
    // Meal deliveries count from now on: Cecilia is met too.
    let meals = service::find_by_code(&mut f.c, &f.m.id, "S-Matdistribution")
        .unwrap()
        .unwrap()
        .id;
    use diesel::prelude::*;
    diesel::update(crate::db::schema::service::table.find(&meals))
        .set(crate::db::schema::service::continuity_excluded.eq(false))
        .execute(&mut f.c)
        .unwrap();
    assert_eq!(row(&mut f).care_workers_met, Some(2));
}
