//! Plans derived from the orders, on a real database (the demo's orders:
//! Lisa six visits a day and Greta four at Jakobsberg, Olof two at
//! Omsorgshuset).

use super::*;
use crate::db::testing::TestDb;
use crate::db::{municipality, planned_visit};
use crate::seed;
use chrono::{NaiveDate, TimeZone};

#[test]
fn windows_are_read_strictly_and_visits_spread_from_first_to_last() {
    assert_eq!(
        parse_windows("07:00-09:00 11:00-13:00,16:00-18:00"),
        Some(vec![(420, 540), (660, 780), (960, 1080)])
    );
    for bad in [
        "",
        "07:00",
        "09:00-07:00",
        "07:00-09:00 08:00-10:00",
        "7-9",
        "07:00-25:00",
    ] {
        assert_eq!(parse_windows(bad), None, "{bad}");
    }
    assert_eq!(
        format_windows(&[(420, 540), (1170, 1290)]),
        "07:00-09:00 19:30-21:30"
    );
    assert_eq!(spread(1, 4), [0]);
    assert_eq!(spread(2, 4), [0, 3]);
    assert_eq!(spread(3, 4), [0, 2, 3]);
    assert_eq!(spread(4, 4), [0, 1, 2, 3]);
    assert_eq!(spread(6, 4), [0, 1, 2, 3]);
    assert_eq!(spread(2, 1), [0]);
    assert!(spread(0, 4).is_empty());
}

struct Demo {
    _db: TestDb,
    c: DbConn,
    m: municipality::Municipality,
    jakobsberg: String,
    omsorgshuset: String,
}

fn demo() -> Demo {
    let db = TestDb::new();
    let mut c = db.connect();
    let summary = seed::demo(&mut c, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()).unwrap();
    let mut m = summary.municipality;
    m.settings.plans_from_orders = true;
    let m = municipality::update(&mut c, &m.id.clone(), &m.name.clone(), &m.settings).unwrap();
    let provider = |c: &mut DbConn, name: &str| {
        provider::list(c, &m.id)
            .unwrap()
            .into_iter()
            .find(|p| p.fields.name == name)
            .unwrap()
            .id
            .to_string()
    };
    Demo {
        jakobsberg: provider(&mut c, "Hemtjänsten Jakobsberg"),
        omsorgshuset: provider(&mut c, "Omsorgshuset Hemtjänst AB"),
        c,
        m,
        _db: db,
    }
}

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

/// (client's given name, local window) of a provider's plans of a day.
fn plans(t: &mut Demo, provider: &str, d: u32) -> Vec<(String, String)> {
    let names: std::collections::HashMap<String, String> = client::list(&mut t.c, &t.m.id)
        .unwrap()
        .into_iter()
        .map(|x| (x.id.to_string(), x.fields.given_name))
        .collect();
    let local = |t: chrono::NaiveDateTime| {
        t.and_utc()
            .with_timezone(&crate::domain::STOCKHOLM)
            .format("%H:%M")
            .to_string()
    };
    let mut out: Vec<(String, String)> = planned_visit::for_day(&mut t.c, provider, day(d))
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                names[p.plan.client_id.as_str()].clone(),
                format!(
                    "{}-{}",
                    local(p.plan.earliest_start),
                    local(p.plan.latest_start)
                ),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn tomorrows_plans_follow_the_orders_and_give_way_to_the_providers_own() {
    let mut t = demo();
    let omsorgshuset = t.omsorgshuset.clone();
    let d = derive(&mut t.c, &t.m.clone(), day(23), noon()).unwrap();
    assert!(d.created > 0 && d.removed == 0, "{d:?}");
    // Olof's two visits a day: the first window and the last.
    assert_eq!(
        plans(&mut t, &omsorgshuset, 23),
        [
            ("Olof".to_string(), "07:00-09:00".to_string()),
            ("Olof".to_string(), "19:30-21:30".to_string()),
        ]
    );
    // Lisa's six visits a day take all four windows once.
    let jakobsberg = t.jakobsberg.clone();
    let lisa: Vec<String> = plans(&mut t, &jakobsberg, 23)
        .into_iter()
        .filter(|(n, _)| n == "Lisa")
        .map(|(_, w)| w)
        .collect();
    assert_eq!(
        lisa,
        ["07:00-09:00", "11:00-13:00", "16:00-18:00", "19:30-21:30"]
    );
    // Derived again: nothing changes.
    let again = derive(&mut t.c, &t.m.clone(), day(23), noon()).unwrap();
    assert_eq!(
        (again.created, again.updated, again.removed),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.unchanged, d.created);

    // Jakobsberg sends its own plan for the day: its derived plans give
    // way at once, and are not derived again.
    let lisa_id = client::list(&mut t.c, &t.m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap()
        .id;
    let own = PlanInput {
        planner_ref: "TES-1".into(),
        client_id: lisa_id.as_str().parse().unwrap(),
        earliest_start: Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap(),
        latest_start: Utc.with_ymd_and_hms(2026, 11, 23, 7, 30, 0).unwrap(),
        expected_minutes: 30,
        services: Vec::new(),
        staff: Vec::new(),
        double_staffing: false,
        time_critical: false,
        tolerance_minutes: None,
    };
    let item = |i: usize| format!("plans[{i}]");
    let m_id = t.m.id.to_string();
    let stored = import(&mut t.c, &m_id, &jakobsberg, &[own], false, noon(), &item).unwrap();
    assert_eq!(stored.created, 1);
    assert!(stored.removed >= 4, "{stored:?}");
    assert_eq!(plans(&mut t, &jakobsberg, 23).len(), 1);
    derive(&mut t.c, &t.m.clone(), day(23), noon()).unwrap();
    assert_eq!(plans(&mut t, &jakobsberg, 23).len(), 1);
    assert_eq!(plans(&mut t, &omsorgshuset, 23).len(), 2);

    // Switched off: the future derived plans go, the provider's own stay.
    let mut m = t.m.clone();
    m.settings.plans_from_orders = false;
    let m = municipality::update(&mut t.c, &m.id.clone(), &m.name.clone(), &m.settings).unwrap();
    let off = derive(&mut t.c, &m, day(23), noon()).unwrap();
    assert_eq!(off.removed, 2, "{off:?}");
    assert!(plans(&mut t, &omsorgshuset, 23).is_empty());
    assert_eq!(plans(&mut t, &jakobsberg, 23).len(), 1);
}

#[test]
fn todays_plans_are_derived_only_for_windows_still_ahead() {
    let mut t = demo();
    let omsorgshuset = t.omsorgshuset.clone();
    // 12:00 UTC is 13:00 in Stockholm: the windows ending 09:00 and
    // 13:00 have passed.
    derive(&mut t.c, &t.m.clone(), day(22), noon()).unwrap();
    assert_eq!(
        plans(&mut t, &omsorgshuset, 22),
        [("Olof".to_string(), "19:30-21:30".to_string())]
    );
    let jakobsberg = t.jakobsberg.clone();
    let lisa: Vec<String> = plans(&mut t, &jakobsberg, 22)
        .into_iter()
        .filter(|(n, _)| n == "Lisa")
        .map(|(_, w)| w)
        .collect();
    assert_eq!(lisa, ["16:00-18:00", "19:30-21:30"]);
}
