//! The alert rules with time travel: visits in past months, evaluation at
//! chosen instants.

use crate::db::absence::{self, NewAbsence};
use crate::db::alert::{self, Alert, Viewer};
use crate::db::testing::TestDb;
use crate::db::visit_event::{NewVisitEvent, Payload};
use crate::db::{
    DbConn, client, explanation, municipality::Municipality, new_id, now, user_account,
};
use crate::domain::figures::FrameWindow;
use crate::domain::{YearMonth, variance};
use crate::evaluate;
use crate::record::{self, Rules};
use crate::seed;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use diesel::prelude::*;

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
    anna: String,
    jakobsberg: String,
    lisa: String,
    caseworker: String,
    chef: String,
}

/// The demo as of 22 November 2026: orders from 1 August.
fn fx() -> Fx {
    let db = TestDb::new();
    let mut c = db.connect();
    let m = seed::demo(&mut c, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
        .unwrap()
        .municipality;
    let user =
        |c: &mut DbConn, name: &str| user_account::find_by_username(c, name).unwrap().unwrap();
    let anna = user(&mut c, "demo.anna");
    let lisa = client::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap();
    Fx {
        anna: anna.id.to_string(),
        jakobsberg: anna.fields.provider_id.unwrap().to_string(),
        caseworker: lisa.fields.caseworker_id.clone().unwrap().to_string(),
        lisa: lisa.id.to_string(),
        chef: user(&mut c, "demo.chef.jakobsberg").id.to_string(),
        c,
        m,
        _db: db,
    }
}

fn local(d: NaiveDate, h: u32, min: u32) -> NaiveDateTime {
    Stockholm
        .from_local_datetime(&d.and_hms_opt(h, min, 0).unwrap())
        .earliest()
        .unwrap()
        .naive_utc()
}

fn at(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    local(NaiveDate::from_ymd_opt(y, mo, d).unwrap(), h, 0).and_utc()
}

impl Fx {
    fn event(&self, kind: &str, t: NaiveDateTime) -> NewVisitEvent {
        NewVisitEvent {
            id: new_id().into(),
            source: crate::model::Source::Phone,
            source_key: self.anna.clone(),
            event_id: new_id(),
            kind: crate::model::EventKind::parse(kind).expect("a known kind"),
            staff_id: self.anna.clone().into(),
            client_id: self.lisa.clone().into(),
            provider_id: self.jakobsberg.clone().into(),
            occurred_at: t,
            received_at: now(),
            local_date: crate::domain::local_date(t.and_utc(), Stockholm),
            method: Some(crate::model::Method::Nfc),
            method_ref: Some("tag".into()),
            reason: None,
            payload: serde_json::to_string(&Payload::default()).unwrap(),
        }
    }

    /// Visits to Lisa adding up to `minutes` in `month`: two hours each
    /// morning from the 1st (at most `last_day`), the rest on the next day.
    fn perform(&mut self, month: &str, minutes: i64, last_day: u32) {
        let month: YearMonth = month.parse().unwrap();
        let mut left = minutes;
        let mut day = month.first_day();
        while left > 0 {
            assert!(
                chrono::Datelike::day(&day) <= last_day,
                "too much for the days"
            );
            let length = left.min(120);
            let start = local(day, 9, 0);
            for e in [
                self.event("check_in", start),
                self.event("check_out", start + Duration::minutes(length)),
            ] {
                record::record(&mut self.c, &e, None, RULES).unwrap();
            }
            left -= length;
            day = day.succ_opt().unwrap();
        }
    }

    fn evaluate(&mut self, when: DateTime<Utc>) -> evaluate::Evaluation {
        evaluate::municipality(&mut self.c, &self.m, when).unwrap()
    }

    /// Lisa's alerts of a kind that are not resolved, by month.
    fn open(&mut self, kind: &str) -> Vec<String> {
        let mut months: Vec<String> = alert::list(
            &mut self.c,
            &self.m.id,
            &Viewer::Admin,
            &alert::Filter {
                kind: Some(crate::model::AlertKind::parse(kind).expect("a known kind")),
                client_id: Some(&self.lisa),
                ..Default::default()
            },
            100,
        )
        .unwrap()
        .into_iter()
        .filter(|a| a.state != crate::model::AlertState::Resolved)
        .map(|a| a.month)
        .collect();
        months.sort();
        months
    }

    /// Lisa's variance alerts that `viewer` may see (the deadline alerts
    /// of R10-R13 have their own tests).
    fn visible(&mut self, viewer: Viewer) -> Vec<Alert> {
        let lisa = self.lisa.clone();
        let filter = alert::Filter {
            client_id: Some(&lisa),
            ..Default::default()
        };
        alert::list(&mut self.c, &self.m.id, &viewer, &filter, 100)
            .unwrap()
            .into_iter()
            .filter(|a| !crate::evaluate::deadlines::KINDS.contains(&a.kind))
            .collect()
    }
}

/// 8 % under Järfälla's 51:36 (3,096 minutes) is 2,848 minutes.
const EIGHT_PERCENT_UNDER: i64 = 2848;

#[test]
fn three_months_eight_percent_under_bring_three_alerts_and_then_a_follow_up() {
    let mut f = fx();
    for month in ["2026-08", "2026-09", "2026-10"] {
        f.perform(month, EIGHT_PERCENT_UNDER, 28);
    }
    f.evaluate(at(2026, 9, 6, 8));
    assert_eq!(f.open("outside_band"), ["2026-08"]);
    assert!(f.open("follow_up_recommended").is_empty());
    f.evaluate(at(2026, 10, 6, 8));
    assert_eq!(f.open("outside_band"), ["2026-08", "2026-09"]);
    assert!(f.open("follow_up_recommended").is_empty());
    f.evaluate(at(2026, 11, 6, 8));
    assert_eq!(f.open("outside_band"), ["2026-08", "2026-09", "2026-10"]);
    assert_eq!(f.open("follow_up_recommended"), ["2026-10"]);
    // The caseworker sees them, in Swedish, with the figures and the rules.
    let mine = f.visible(Viewer::Caseworker(f.caseworker.clone()));
    let oct = mine
        .iter()
        .find(|a| a.kind == crate::model::AlertKind::OutsideBand && a.month == "2026-10")
        .unwrap();
    assert_eq!(oct.rules, "R1,R2");
    assert!(
        oct.message.starts_with(
            "Utförd tid i oktober 2026 är 8,0 % under beställd tid (47:28 av 51:36 timmar"
        ),
        "{}",
        oct.message
    );
    assert!(oct.message.contains("Ramtid"), "{}", oct.message);
    let figures: serde_json::Value = serde_json::from_str(&oct.figures).unwrap();
    assert_eq!(
        (
            figures["expected_minutes"].as_i64(),
            figures["performed_minutes"].as_i64()
        ),
        (Some(3096), Some(2848))
    );
    assert!(
        mine.iter()
            .any(|a| a.kind == crate::model::AlertKind::FollowUpRecommended && a.rules == "R4")
    );
    // The contract's example shows the same figures.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mobile-contract/examples/mqtt-alert.json"
    );
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&figures), keys(&example["figures"]));
    // Evaluating again changes nothing and duplicates nothing.
    let again = f.evaluate(at(2026, 11, 6, 9));
    assert!(!again.changed(), "{again:?}");
    assert_eq!(f.open("outside_band").len(), 3);
}

#[test]
fn an_approved_explanation_in_month_two_stops_the_follow_up() {
    let mut f = fx();
    for month in ["2026-08", "2026-09", "2026-10"] {
        f.perform(month, EIGHT_PERCENT_UNDER, 28);
    }
    let sep: YearMonth = "2026-09".parse().unwrap();
    let e = explanation::submit(
        &mut f.c,
        &f.lisa,
        &f.jakobsberg,
        sep,
        "declined_visits",
        "Lisa avböjde flera besök.",
        &f.chef,
        now(),
    )
    .unwrap();
    // Not before the 5th of the next month (R3).
    let caseworker = f.caseworker.clone();
    let review = |day| explanation::Review {
        approve: true,
        note: "Rimlig förklaring.",
        by: &caseworker,
        at: now(),
        local_today: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
        review_from_day: 5,
    };
    let early = explanation::review(&mut f.c, &e.id, review(4));
    assert!(matches!(early, Err(explanation::ReviewError::TooEarly(_))));
    explanation::review(&mut f.c, &e.id, review(6)).unwrap();
    for day in [at(2026, 9, 6, 8), at(2026, 10, 6, 8), at(2026, 11, 6, 8)] {
        f.evaluate(day);
    }
    // The explained month's alert is resolved (R3); the others stay.
    assert_eq!(f.open("outside_band"), ["2026-08", "2026-10"]);
    assert!(f.open("follow_up_recommended").is_empty());
}

#[test]
fn four_percent_over_alerts_nobody_but_the_fee_administrators() {
    let mut f = fx();
    f.perform("2026-10", 3220, 28);
    f.evaluate(at(2026, 11, 6, 8));
    assert!(f.open("outside_band").is_empty());
    let caseworker = f.caseworker.clone();
    let jakobsberg = f.jakobsberg.clone();
    assert!(f.visible(Viewer::Caseworker(caseworker.clone())).is_empty());
    assert!(
        f.visible(Viewer::Provider(jakobsberg.clone()))
            .iter()
            .all(|a| a.kind == crate::model::AlertKind::MissingVisits)
    );
    // R5: performed above granted is the fee administrators' concern.
    let fee = f.visible(Viewer::FeeAdmin);
    assert_eq!(fee.len(), 1);
    assert_eq!(
        (fee[0].kind.as_str(), fee[0].rules.as_str()),
        ("exceeds_granted", "R5")
    );
    assert!(
        fee[0]
            .message
            .contains("(53:40) överstiger beviljad tid (51:36)"),
        "{}",
        fee[0].message
    );
}

#[test]
fn ten_days_in_hospital_are_within_the_band_once_registered() {
    let mut f = fx();
    // October has 31 days; Lisa was home for 21 of them and got their time.
    let home = 3096 * 21 / 31;
    f.perform("2026-10", home, 31);
    f.evaluate(at(2026, 11, 6, 8));
    assert_eq!(f.open("outside_band"), ["2026-10"]);
    let d = |day| NaiveDate::from_ymd_opt(2026, 10, day).unwrap();
    let (lisa, chef) = (f.lisa.clone(), f.chef.clone());
    absence::create(
        &mut f.c,
        &NewAbsence {
            client_id: &lisa,
            starts_on: d(10),
            ends_on: Some(d(19)),
            cause: "hospital",
            note: "",
            registered_by: &chef,
        },
        None,
        now(),
    )
    .unwrap();
    let e = f.evaluate(at(2026, 11, 6, 9));
    let resolved: Vec<(String, String, String)> = alert::list(
        &mut f.c,
        &f.m.id,
        &Viewer::Admin,
        &alert::Filter {
            state: Some(crate::model::AlertState::Resolved),
            ..Default::default()
        },
        100,
    )
    .unwrap()
    .into_iter()
    .map(|a| {
        (
            a.client_id.to_string(),
            a.month,
            a.kind.as_str().to_string(),
        )
    })
    .collect();
    // (Nothing was performed in August and September: the three-month
    // rule had fired too, and goes with October's alert.)
    assert_eq!(e.resolved, 2, "{e:?}");
    let lisa = f.lisa.clone();
    for kind in ["outside_band", "follow_up_recommended"] {
        assert!(
            resolved.contains(&(lisa.clone(), "2026-10".to_string(), kind.to_string())),
            "{resolved:?}"
        );
    }
    assert!(f.open("outside_band").is_empty());
    // The dirty mark the absence left is evaluated too, with the same result.
    let d = evaluate::dirty(&mut f.c, at(2026, 11, 6, 9), 100).unwrap();
    assert!(!d.changed(), "{d:?}");
}

#[test]
fn the_early_warning_fires_on_the_twentieth_at_forty_percent() {
    let mut f = fx();
    // 40 % of 3,096 minutes by the 19th of November.
    f.perform("2026-11", 1238, 19);
    f.evaluate(at(2026, 11, 20, 8));
    assert_eq!(f.open("pace_warning"), ["2026-11"]);
    let jakobsberg = f.jakobsberg.clone();
    let warning = f
        .visible(Viewer::Provider(jakobsberg.clone()))
        .into_iter()
        .find(|a| a.kind == crate::model::AlertKind::PaceWarning)
        .unwrap();
    assert_eq!(
        (warning.audience.as_str(), warning.rules.as_str()),
        ("provider", "R6,R7")
    );
    assert!(
        warning
            .message
            .starts_with("Med nuvarande takt blir utförd tid i november 2026 cirka"),
        "{}",
        warning.message
    );
    // Catching up (to about two thirds of the month's time) resolves it.
    f.perform_extra("2026-11", 19, 760);
    f.evaluate(at(2026, 11, 20, 9));
    assert!(f.open("pace_warning").is_empty());
}

#[test]
fn a_client_on_pace_gets_no_early_warning() {
    let mut f = fx();
    // Two thirds of the month, two thirds of the time.
    f.perform("2026-11", 2000, 19);
    f.evaluate(at(2026, 11, 20, 8));
    assert!(f.open("pace_warning").is_empty());
}

impl Fx {
    /// One long visit on `day`, approved as it is (it is over the 12-hour
    /// limit), as a provider admin would.
    fn perform_extra(&mut self, month: &str, day: u32, minutes: i64) {
        let month: YearMonth = month.parse().unwrap();
        let d = month.first_day().with_day_checked(day);
        let start = local(d, 6, 0);
        let check_in = self.event("check_in", start);
        for e in [
            check_in.clone(),
            self.event("check_out", start + Duration::minutes(minutes)),
        ] {
            record::record(&mut self.c, &e, None, RULES).unwrap();
        }
        let chef = self.chef.clone();
        let change = crate::record::Change {
            by: &chef,
            at: now(),
            reason_code: None,
            comment: "",
        };
        crate::record::approve(&mut self.c, &check_in.id, change).unwrap();
    }
}

trait WithDay {
    fn with_day_checked(self, day: u32) -> NaiveDate;
}

impl WithDay for NaiveDate {
    fn with_day_checked(self, day: u32) -> NaiveDate {
        chrono::Datelike::with_day(&self, day).unwrap()
    }
}

#[test]
fn reports_show_the_month_the_fees_and_the_payment_basis() {
    use crate::report;
    let mut f = fx();
    f.perform("2026-10", EIGHT_PERCENT_UNDER, 28);
    f.evaluate(at(2026, 11, 6, 8));
    let oct: YearMonth = "2026-10".parse().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 6).unwrap();
    // The bulk ordered time agrees with the one-client reading.
    let all = crate::db::client_month::ordered_for_municipality(&mut f.c, &f.m, oct).unwrap();
    for cl in client::list(&mut f.c, &f.m.id).unwrap() {
        let one = crate::db::client_month::ordered(&mut f.c, &f.m, &cl.id, None, oct).unwrap();
        assert_eq!(
            all.get(cl.id.as_str()).cloned().unwrap_or_default(),
            one,
            "{}",
            cl.fields.given_name
        );
    }
    // Read again from what was remembered: the same.
    let again = crate::db::client_month::ordered_for_municipality(&mut f.c, &f.m, oct).unwrap();
    assert_eq!(again, all);
    let rows = report::monthly(&mut f.c, &f.m, oct, today, &report::Filter::default()).unwrap();
    let lisa = rows.iter().find(|r| r.client_id == f.lisa).unwrap();
    assert_eq!(
        (
            lisa.ordered.as_str(),
            lisa.performed.as_str(),
            lisa.variance.as_str()
        ),
        ("51:36", "47:28", "-4:08")
    );
    assert_eq!(
        (lisa.variance_basis_points, lisa.status),
        (Some(-801), variance::Status::Under)
    );
    assert_eq!(lisa.decision, "frame");
    assert!(
        lisa.alerts.contains(&"outside_band:open".to_string()),
        "{:?}",
        lisa.alerts
    );
    assert_eq!(
        lisa.provider_name.as_deref(),
        Some("Hemtjänsten Jakobsberg")
    );
    // Filters: the other provider's report has no Lisa.
    let other = report::Filter {
        provider_id: Some("no-such-provider".into()),
        ..Default::default()
    };
    assert!(
        report::monthly(&mut f.c, &f.m, oct, today, &other)
            .unwrap()
            .is_empty()
    );
    let mine = report::Filter {
        caseworker_id: Some(f.caseworker.clone().into()),
        ..Default::default()
    };
    let for_caseworker = report::monthly(&mut f.c, &f.m, oct, today, &mine).unwrap();
    assert!(for_caseworker.iter().any(|r| r.client_id == f.lisa));
    assert!(
        for_caseworker
            .iter()
            .all(|r| r.caseworker_id.as_deref() == Some(f.caseworker.as_str()))
    );
    let csv = report::monthly_csv(&rows);
    assert!(
        csv.starts_with("\u{feff}Brukare;Utförare;Handläggare;Beslut;Beställd tid"),
        "{csv}"
    );
    assert!(
        csv.contains("Lisa Lindqvist;Hemtjänsten Jakobsberg;"),
        "{csv}"
    );
    assert!(
        csv.contains(";51:36;0;0:00;51:36;47:28;0:00;-4:08;-8,0;Under;"),
        "{csv}"
    );
    // Nothing above granted in October: no fee rows. November 4 % over is one.
    assert!(report::fees(&mut f.c, &f.m, oct, today).unwrap().is_empty());
    f.perform("2026-11", 3220, 28);
    let nov: YearMonth = "2026-11".parse().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let fees = report::fees(&mut f.c, &f.m, nov, day).unwrap();
    assert_eq!(fees.len(), 1);
    assert_eq!((fees[0].over_minutes, fees[0].over.as_str()), (124, "2:04"));
    // The visits had no services: all of it is paid as time without one.
    let basis = report::payment_basis(&mut f.c, &f.m, oct, None).unwrap();
    assert_eq!(basis.len(), 1);
    assert_eq!(
        (basis[0].service_group.as_str(), basis[0].performed_minutes),
        ("-", 2848)
    );
    assert!(report::payment_csv(&basis).contains("Hemtjänsten Jakobsberg;Utan insats;47:28;47:28"));
}

/// Lisa's alert of a kind and month, if not resolved.
fn open_alert(f: &mut Fx, kind: &str, month: &str) -> Option<Alert> {
    let lisa = f.lisa.clone();
    let filter = alert::Filter {
        kind: Some(crate::model::AlertKind::parse(kind).expect("a known kind")),
        month: Some(month),
        client_id: Some(&lisa),
        ..Default::default()
    };
    alert::list(&mut f.c, &f.m.id, &Viewer::Admin, &filter, 10)
        .unwrap()
        .into_iter()
        .find(|a| a.state != crate::model::AlertState::Resolved)
}

#[test]
fn r2_the_message_says_who_contacts_the_caseworker_by_decision_kind() {
    let mut f = fx();
    f.evaluate(at(2026, 11, 6, 8));
    // Lisa has a frame decision, Maj a per-service one; neither got any time.
    let lisa = open_alert(&mut f, "outside_band", "2026-10").unwrap();
    assert!(
        lisa.message.contains("Ramtid: utföraren uppmanar brukaren"),
        "{}",
        lisa.message
    );
    let maj = client::list(&mut f.c, &f.m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Maj")
        .unwrap();
    let filter = alert::Filter {
        kind: Some(crate::model::AlertKind::OutsideBand),
        month: Some("2026-10"),
        client_id: Some(&maj.id),
        ..Default::default()
    };
    let a = alert::list(&mut f.c, &f.m.id, &Viewer::Admin, &filter, 10).unwrap();
    assert!(
        a[0].message
            .contains("Insatsbeslut: utföraren kontaktar handläggaren (R2)"),
        "{}",
        a[0].message
    );
    assert!(
        a[0].message.contains("Insatser utanför toleransen:"),
        "{}",
        a[0].message
    );
}

#[test]
fn r8_short_days_and_r21_declined_visits() {
    let mut f = fx();
    // Oct 1–4: one visit a day where six are ordered; on the 2nd the
    // client also declined a visit (R21), which counts towards the day.
    f.perform("2026-10", 4 * 120, 4);
    let declined = f.event(
        "declined",
        local(NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(), 18, 0),
    );
    record::record(&mut f.c, &declined, None, RULES).unwrap();
    f.evaluate(at(2026, 10, 5, 8));
    let a = open_alert(&mut f, "missing_visits", "2026-10").unwrap();
    assert_eq!((a.audience.as_str(), a.rules.as_str()), ("provider", "R8"));
    assert!(
        a.message.starts_with(
            "Färre besök än beställt på 4 dagar i oktober 2026: 1/10 (1 av 6), 2/10 (2 av 6)"
        ),
        "{}",
        a.message
    );
    // A closed month 8 % under with a declined visit points at the journal.
    f.perform("2026-09", EIGHT_PERCENT_UNDER, 28);
    let sep = f.event(
        "declined",
        local(NaiveDate::from_ymd_opt(2026, 9, 29).unwrap(), 18, 0),
    );
    record::record(&mut f.c, &sep, None, RULES).unwrap();
    f.evaluate(at(2026, 10, 5, 9));
    let band = open_alert(&mut f, "outside_band", "2026-09").unwrap();
    assert!(
        band.message
            .contains("1 avböjda besök: stäm av mot genomförandejournalen (R21)"),
        "{}",
        band.message
    );
}

#[test]
fn a_visit_left_open_past_the_limit_alerts_the_provider_until_closed() {
    let mut f = fx();
    let start = local(NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(), 7, 0);
    let check_in = f.event("check_in", start);
    record::record(&mut f.c, &check_in, None, RULES).unwrap();
    f.evaluate(at(2026, 11, 10, 18));
    assert!(open_alert(&mut f, "visit_open_too_long", "2026-11").is_none());
    f.evaluate(at(2026, 11, 10, 20));
    let a = open_alert(&mut f, "visit_open_too_long", "2026-11").unwrap();
    assert!(
        a.message
            .contains("öppet sedan 2026-11-10 07:00 (mer än 12 timmar)"),
        "{}",
        a.message
    );
    let out = f.event("check_out", start + Duration::minutes(45));
    record::record(&mut f.c, &out, None, RULES).unwrap();
    f.evaluate(at(2026, 11, 10, 21));
    assert!(open_alert(&mut f, "visit_open_too_long", "2026-11").is_none());
}

#[test]
fn a_check_in_that_arrives_already_stale_is_looked_at_at_once() {
    use crate::db::schema::figure_dirty;
    let mut f = fx();
    let marks = |f: &mut Fx| -> i64 { figure_dirty::table.count().get_result(&mut f.c).unwrap() };
    // The evaluator has caught up.
    evaluate::dirty(&mut f.c, Utc::now(), 1000).unwrap();
    assert_eq!(marks(&mut f), 0);
    // A check-in of an hour ago opens a visit within the limit: nothing
    // to look at until it closes.
    let fresh = f.event("check_in", (Utc::now() - Duration::hours(1)).naive_utc());
    record::record(&mut f.c, &fresh, None, RULES).unwrap();
    assert_eq!(marks(&mut f), 0);
    // One of 13 hours ago (a phone that was offline) is past the 12-hour
    // limit as it arrives: the next evaluation of what changed raises the
    // alert, without waiting for the hourly full run.
    let mut stale = f.event("check_in", (Utc::now() - Duration::hours(13)).naive_utc());
    let bertil = user_account::find_by_username(&mut f.c, "demo.bertil")
        .unwrap()
        .unwrap()
        .id;
    stale.staff_id = bertil.clone();
    stale.source_key = bertil.to_string();
    record::record(&mut f.c, &stale, None, RULES).unwrap();
    assert_eq!(marks(&mut f), 1);
    let month = crate::domain::YearMonth::of(crate::domain::local_date(
        Utc::now() - Duration::hours(13),
        crate::domain::STOCKHOLM,
    ))
    .to_string();
    evaluate::dirty(&mut f.c, Utc::now(), 1000).unwrap();
    assert!(open_alert(&mut f, "visit_open_too_long", &month).is_some());
}

#[test]
fn a_month_being_changed_is_judged_when_it_is_still_not_halfway() {
    use crate::db::schema::figure_dirty;
    let mut f = fx();
    evaluate::dirty(&mut f.c, at(2026, 11, 6, 9), 1000).unwrap();
    // The first half of a phone's offline batch: October far under the
    // order, and marked for the alert rules.
    f.perform("2026-10", 120, 31);
    let quiet = std::time::Duration::from_secs(60);
    let half = evaluate::settled(&mut f.c, at(2026, 11, 6, 9), 1000, quiet).unwrap();
    // Not judged while it may still be changing: no alert that the rest
    // of the batch would resolve again, and the mark stays.
    assert_eq!(half.client_months, 0, "{half:?}");
    assert!(open_alert(&mut f, "outside_band", "2026-10").is_none());
    let marks: i64 = figure_dirty::table.count().get_result(&mut f.c).unwrap();
    assert_eq!(marks, 1);
    // Still for long enough (the mark's time set back as the wall clock
    // would move on): judged once, with everything in.
    diesel::update(figure_dirty::table)
        .set(figure_dirty::marked_at.eq(now() - Duration::minutes(2)))
        .execute(&mut f.c)
        .unwrap();
    let whole = evaluate::settled(&mut f.c, at(2026, 11, 6, 9), 1000, quiet).unwrap();
    assert_eq!(whole.client_months, 1, "{whole:?}");
    assert!(open_alert(&mut f, "outside_band", "2026-10").is_some());
}

/// The ordered minutes remembered for reports follow a changed order and a
/// changed month convention.
#[test]
fn remembered_ordered_time_follows_order_and_convention_changes() {
    use crate::db::client_month::{ordered, ordered_for_municipality};
    let mut f = fx();
    let oct: YearMonth = "2026-10".parse().unwrap();
    let bulk = |f: &mut Fx| {
        let m = crate::db::municipality::get(&mut f.c, &f.m.id).unwrap();
        let all = ordered_for_municipality(&mut f.c, &m, oct).unwrap();
        let one = ordered(&mut f.c, &m, &f.lisa, None, oct).unwrap();
        assert_eq!(all.get(&f.lisa).cloned().unwrap_or_default(), one);
        one
    };
    let before = bulk(&mut f);
    assert!(before.minutes > 0);
    // Lisa's order: every line ten minutes longer.
    let order = crate::db::care_order::list_for_client(&mut f.c, &f.lisa)
        .unwrap()
        .into_iter()
        .find(|o| o.fields.valid_from <= oct.last_day())
        .unwrap();
    let full = crate::db::care_order::get_with_lines(&mut f.c, &f.m.id, &order.id).unwrap();
    let lines: Vec<_> = full
        .lines
        .iter()
        .map(|l| {
            let mut x = l.line.fields.clone();
            x.minutes_per_occurrence += 10;
            x
        })
        .collect();
    // updated_at is what tells a changed order: let the clock move on.
    std::thread::sleep(std::time::Duration::from_millis(5));
    crate::db::care_order::update(&mut f.c, &f.m.id, &order.id, &order.fields, &lines).unwrap();
    // (Her frame order states its total; the services' minutes grow.)
    let longer = bulk(&mut f);
    let sum = |o: &crate::db::client_month::OrderedMonth| o.by_service.values().sum::<i64>();
    assert!(sum(&longer) > sum(&before), "{longer:?} after {before:?}");
    // The other month convention counts other days.
    let mut settings = f.m.settings.clone();
    settings.month_convention = if settings.month_convention == "calendar" {
        "average".into()
    } else {
        "calendar".into()
    };
    crate::db::municipality::update(&mut f.c, &f.m.id, &f.m.name, &settings).unwrap();
    let other = bulk(&mut f);
    assert_ne!(sum(&other), sum(&longer));
}

/// The evaluator's hourly run once ended at the first client whose alert
/// it could not write while the gateway held SQLite's write lock past the
/// busy timeout, leaving every client after it for an hour (seen in the
/// ingest bench). A busy database now leaves that client for the next
/// run and the run goes on; PostgreSQL has no database-wide write lock,
/// so there another writer's open transaction holds up nothing.
#[test]
fn a_busy_database_leaves_a_client_for_the_next_run_instead_of_ending_it() {
    use diesel::connection::SimpleConnection;
    let mut f = fx();
    f.perform("2026-10", 3220, 28);
    let sqlite = matches!(f.c, DbConn::Sqlite(_));
    let mut other = f._db.connect();
    other.batch_execute("BEGIN").unwrap();
    // Another writer, in the middle of its transaction.
    let writes = if sqlite {
        "UPDATE municipality SET name = name"
    } else {
        "UPDATE provider SET name = name"
    };
    other.batch_execute(writes).unwrap();
    if sqlite {
        f.c.batch_execute("PRAGMA busy_timeout = 100").unwrap();
    }
    let busy = evaluate::municipality(&mut f.c, &f.m, at(2026, 11, 6, 8))
        .expect("a busy database does not end the run");
    if sqlite {
        assert!(busy.skipped > 0, "{busy:?}");
        assert_eq!(busy.raised, 0, "{busy:?}");
        assert!(f.visible(Viewer::FeeAdmin).is_empty());
    } else {
        assert_eq!(busy.skipped, 0, "{busy:?}");
        assert!(busy.raised > 0, "{busy:?}");
    }
    other.batch_execute("ROLLBACK").unwrap();
    // The next run catches up.
    f.evaluate(at(2026, 11, 6, 9));
    let fee = f.visible(Viewer::FeeAdmin);
    assert_eq!(fee.len(), 1);
    assert_eq!(fee[0].kind, crate::model::AlertKind::ExceedsGranted);
}
