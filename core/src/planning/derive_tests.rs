//! Plans derived from the orders, on a real database (the demo's orders:
//! Lisa six visits a day and Greta four at Jakobsberg, Olof two at
//! Omsorgshuset).

use super::*;
use crate::db::testing::TestDb;
use crate::db::{municipality, planned_visit};
use crate::seed;
use chrono::{NaiveDate, TimeZone};
use std::collections::HashMap;

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
    // Olof's two visits a day: the first window and the last; Sven's
    // weekly personal care on a Monday (the 23rd is one): the first.
    assert_eq!(
        plans(&mut t, &omsorgshuset, 23),
        [
            ("Olof".to_string(), "07:00-09:00".to_string()),
            ("Olof".to_string(), "19:30-21:30".to_string()),
            ("Sven".to_string(), "07:00-09:00".to_string()),
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
    assert_eq!(plans(&mut t, &omsorgshuset, 23).len(), 3);

    // Switched off: the future derived plans go, the provider's own stay.
    let mut m = t.m.clone();
    m.settings.plans_from_orders = false;
    let m = municipality::update(&mut t.c, &m.id.clone(), &m.name.clone(), &m.settings).unwrap();
    let off = derive(&mut t.c, &m, day(23), noon()).unwrap();
    assert_eq!(off.removed, 3, "{off:?}");
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

#[test]
fn a_weekly_line_falls_on_set_weekdays_in_its_weeks() {
    use crate::domain::ordered_time::Weekdays;
    let all = Weekdays::ALL;
    let weekdays = Weekdays::from_names(&["mon", "tue", "wed", "thu", "fri"]).unwrap();
    // 23 November 2026 is a Monday; the order began on Wednesday the 18th.
    let from = day(18);
    let week = |times: u32, every: u32, days: Weekdays| -> Vec<u32> {
        (23..=29)
            .map(|d| weekly_on(times, every, days, from, day(d)))
            .collect()
    };
    assert_eq!(week(1, 1, all), [1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(week(2, 1, all), [1, 0, 0, 1, 0, 0, 0]);
    assert_eq!(week(3, 1, weekdays), [1, 1, 0, 1, 0, 0, 0]);
    assert_eq!(week(10, 1, all), [2, 1, 2, 1, 2, 1, 1]);
    assert_eq!(week(0, 1, all), [0; 7]);
    // Every other week, counted from the order's first week: not the
    // week of the 23rd (the second), the week of the 30th (the third).
    assert_eq!(week(1, 2, all), [0; 7]);
    assert_eq!(weekly_on(1, 2, all, from, day(30)), 1);
    assert_eq!(weekly_on(1, 2, all, from, day(16)), 1);
    // Not before the order's first week.
    assert_eq!(weekly_on(1, 1, all, from, day(9)), 0);
}

#[test]
fn weekly_personal_care_joins_the_days_first_visit_or_has_one_of_its_own() {
    let mut t = demo();
    let jakobsberg = t.jakobsberg.clone();
    let m_id = t.m.id.to_string();
    let svc = |c: &mut DbConn, code: &str| {
        crate::db::service::find_by_code(c, &m_id, code)
            .unwrap()
            .unwrap()
            .id
    };
    let (shower, walk) = (svc(&mut t.c, "O-Duschhjälp"), svc(&mut t.c, "O-Promenad"));
    let ids: HashMap<String, String> = client::list(&mut t.c, &t.m.id)
        .unwrap()
        .into_iter()
        .map(|x| (x.fields.given_name, x.id.to_string()))
        .collect();
    // (window start, expected minutes, services) of a client's plans.
    let of = |t: &mut Demo, name: &str, d: u32| {
        let m = t.m.clone();
        derive(&mut t.c, &m, day(d), noon()).unwrap();
        let mut out: Vec<(String, i32, Vec<crate::model::ServiceId>)> =
            planned_visit::for_day(&mut t.c, &jakobsberg, day(d))
                .unwrap()
                .into_iter()
                .filter(|p| p.plan.client_id.as_str() == ids[name])
                .map(|p| {
                    let at = p
                        .plan
                        .earliest_start
                        .and_utc()
                        .with_timezone(&crate::domain::STOCKHOLM)
                        .format("%H:%M")
                        .to_string();
                    let mut s = p.plan.services.clone();
                    s.sort();
                    (at, p.plan.expected_minutes, s)
                })
                .collect();
        out.sort();
        out
    };
    // Monday the 23rd: Lisa's weekly walk and shower (an hour each) join
    // her first visit (12 minutes of daily care, 51 a day over four).
    let lisa = of(&mut t, "Lisa", 23);
    assert_eq!(lisa.len(), 4, "{lisa:?}");
    assert_eq!(lisa[0].0, "07:00");
    assert_eq!(lisa[0].1, 12 + 60 + 60);
    assert!(lisa[0].2.contains(&shower) && lisa[0].2.contains(&walk));
    assert!(
        lisa[1..]
            .iter()
            .all(|p| p.1 == 12 && !p.2.contains(&shower))
    );
    // Tuesday: her daily visits only.
    assert!(of(&mut t, "Lisa", 24).iter().all(|p| p.1 == 12));
    // Maj has no daily visits: her shower twice a week is a visit of its
    // own in the first window on Monday and Thursday; her cleaning and
    // shopping (service, not personal care) are not planned.
    let only_shower = |v: Vec<(String, i32, Vec<crate::model::ServiceId>)>| {
        assert_eq!(v, [("07:00".to_string(), 30, vec![shower.clone()])]);
    };
    only_shower(of(&mut t, "Maj", 23));
    assert!(of(&mut t, "Maj", 24).is_empty());
    only_shower(of(&mut t, "Maj", 26));
    assert!(of(&mut t, "Maj", 27).is_empty());
}
