//! Deadline alerts (R10–R13), the monthly list (R10), renewals that keep
//! the plan (R17) and the hash chains (R14), with time travel.

use crate::db::alert::{self, Viewer};
use crate::db::care_order::{self, CareOrderFields};
use crate::db::care_plan::{self, Draft, PlanContent, PlanStatus};
use crate::db::testing::TestDb;
use crate::db::{DbConn, access_log, client, municipality::Municipality, user_account};
use crate::evaluate::deadlines;
use crate::evaluate::{self, Ctx};
use crate::seed;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use diesel::connection::SimpleConnection;

struct Fx {
    db: TestDb,
    c: DbConn,
    m: Municipality,
    lisa: String,
    jakobsberg: String,
    omsorgshuset: String,
    chef: String,
    anna: String,
    caseworker: String,
}

/// The demo as of 22 November 2026: every order starts on 1 August.
fn fx() -> Fx {
    let db = TestDb::new();
    let mut c = db.connect();
    let m = seed::demo(&mut c, day(2026, 11, 22)).unwrap().municipality;
    let user =
        |c: &mut DbConn, name: &str| user_account::find_by_username(c, name).unwrap().unwrap();
    let anna = user(&mut c, "demo.anna");
    let lisa = client::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap();
    Fx {
        jakobsberg: anna.fields.provider_id.clone().unwrap().to_string(),
        omsorgshuset: user(&mut c, "demo.chef.omsorgshuset")
            .fields
            .provider_id
            .unwrap()
            .into_string(),
        chef: user(&mut c, "demo.chef.jakobsberg").id.to_string(),
        caseworker: lisa.fields.caseworker_id.clone().unwrap().to_string(),
        anna: anna.id.to_string(),
        lisa: lisa.id.to_string(),
        c,
        m,
        db,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Stockholm
        .with_ymd_and_hms(y, m, d, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

impl Fx {
    /// Lisa's deadline alerts as at `when`: (kind, month, audience), open ones.
    fn deadlines(&mut self, when: DateTime<Utc>) -> Vec<(String, String, String)> {
        let m = self.m.clone();
        let x = Ctx::new(&mut self.c, &m, when).unwrap();
        let cl = client::get_any(&mut self.c, &self.lisa).unwrap();
        deadlines::client(&mut self.c, &x, &cl).unwrap();
        let mut out: Vec<(String, String, String)> = alert::list(
            &mut self.c,
            &self.m.id,
            &Viewer::Admin,
            &alert::Filter {
                client_id: Some(&self.lisa),
                ..Default::default()
            },
            100,
        )
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.state != crate::model::AlertState::Resolved && deadlines::KINDS.contains(&a.kind)
        })
        .map(|a| {
            (
                a.kind.as_str().to_string(),
                a.month,
                a.audience.as_str().to_string(),
            )
        })
        .collect();
        out.sort();
        out
    }

    fn kinds(&mut self, when: DateTime<Utc>) -> Vec<String> {
        self.deadlines(when)
            .into_iter()
            .map(|(k, _, _)| k)
            .collect()
    }

    fn approve_plan(&mut self, client: &str, provider: &str, when: DateTime<Utc>) {
        let content = PlanContent {
            need_help_with: "Dusch och inköp".into(),
            my_goal: "Klara frukosten själv".into(),
            ..PlanContent::default()
        };
        let d = Draft {
            content: &content,
            participation: crate::model::Participation::TookPart,
            participation_note: "Planen skrevs hemma hos brukaren.",
        };
        let v = care_plan::start(
            &mut self.c,
            client,
            provider,
            &d,
            &self.chef,
            when.naive_utc(),
        )
        .unwrap();
        care_plan::approve(&mut self.c, &v.id, &self.chef, when.naive_utc()).unwrap();
    }
}

#[test]
fn a_missing_plan_alerts_the_provider_then_the_caseworker_and_an_approved_plan_resolves_both() {
    let mut f = fx();
    // Due 14 days after 1 August: nothing on the 15th.
    assert!(
        !f.kinds(at(2026, 8, 15))
            .contains(&"care_plan_missing".into())
    );
    let on16 = f.deadlines(at(2026, 8, 16));
    assert!(on16.contains(&(
        "care_plan_missing".into(),
        "2026-08".into(),
        "provider".into()
    )));
    assert!(
        !f.kinds(at(2026, 8, 22))
            .contains(&"care_plan_missing_escalated".into())
    );
    let later = f.deadlines(at(2026, 8, 23));
    assert!(later.contains(&(
        "care_plan_missing_escalated".into(),
        "2026-08".into(),
        "caseworker".into()
    )));
    // The provider sees the first, the caseworker the second.
    let provider = alert::list(
        &mut f.c,
        &f.m.id,
        &Viewer::Provider(f.jakobsberg.clone()),
        &alert::Filter {
            kind: Some(crate::model::AlertKind::CarePlanMissing),
            client_id: Some(&f.lisa.clone()),
            ..Default::default()
        },
        10,
    )
    .unwrap();
    assert_eq!(provider.len(), 1);
    assert!(
        provider[0]
            .message
            .contains("skulle ha fastställts senast 2026-08-15"),
        "{}",
        provider[0].message
    );
    assert_eq!(provider[0].rules, "R10");
    let mine = alert::list(
        &mut f.c,
        &f.m.id,
        &Viewer::Caseworker(f.caseworker.clone()),
        &alert::Filter {
            client_id: Some(&f.lisa.clone()),
            ..Default::default()
        },
        10,
    )
    .unwrap();
    assert!(
        mine.iter()
            .any(|a| a.kind == crate::model::AlertKind::CarePlanMissingEscalated)
    );
    assert!(
        !mine
            .iter()
            .any(|a| a.kind == crate::model::AlertKind::CarePlanMissing)
    );
    // A draft is not a plan.
    let content = PlanContent::default();
    let draft = Draft {
        content: &content,
        participation: crate::model::Participation::Declined,
        participation_note: "Brukaren ville inte delta.",
    };
    let (lisa, jakobsberg, chef) = (f.lisa.clone(), f.jakobsberg.clone(), f.chef.clone());
    let v = care_plan::start(
        &mut f.c,
        &lisa,
        &jakobsberg,
        &draft,
        &chef,
        at(2026, 8, 24).naive_utc(),
    )
    .unwrap();
    assert_eq!(v.state, crate::model::PlanState::Draft);
    assert!(
        f.kinds(at(2026, 8, 24))
            .contains(&"care_plan_missing".into())
    );
    care_plan::approve(&mut f.c, &v.id, &chef, at(2026, 8, 25).naive_utc()).unwrap();
    let kinds = f.kinds(at(2026, 8, 25));
    assert!(!kinds.contains(&"care_plan_missing".into()), "{kinds:?}");
    assert!(!kinds.contains(&"care_plan_missing_escalated".into()));
}

#[test]
fn a_contact_person_is_due_five_days_after_the_start() {
    let mut f = fx();
    assert!(
        !f.kinds(at(2026, 8, 6))
            .contains(&"contact_person_missing".into())
    );
    assert!(
        f.kinds(at(2026, 8, 7))
            .contains(&"contact_person_missing".into())
    );
    let (lisa, jakobsberg, anna, chef) = (
        f.lisa.clone(),
        f.jakobsberg.clone(),
        f.anna.clone(),
        f.chef.clone(),
    );
    care_plan::name_contact(
        &mut f.c,
        &lisa,
        &jakobsberg,
        &anna,
        None,
        &chef,
        at(2026, 8, 8).naive_utc(),
    )
    .unwrap();
    assert!(
        !f.kinds(at(2026, 8, 8))
            .contains(&"contact_person_missing".into())
    );
}

#[test]
fn a_plan_not_followed_up_for_six_months_alerts_until_it_is() {
    let mut f = fx();
    let (lisa, jakobsberg, chef) = (f.lisa.clone(), f.jakobsberg.clone(), f.chef.clone());
    f.approve_plan(&lisa, &jakobsberg, at(2026, 8, 10));
    assert!(
        !f.kinds(at(2027, 2, 10))
            .contains(&"care_plan_follow_up_due".into())
    );
    let due = f.deadlines(at(2027, 2, 11));
    assert!(due.contains(&(
        "care_plan_follow_up_due".into(),
        "2027-02".into(),
        "provider".into()
    )));
    care_plan::follow_up(
        &mut f.c,
        &lisa,
        &jakobsberg,
        day(2027, 2, 12),
        "Inga ändringar behövs.",
        &chef,
        at(2027, 2, 12).naive_utc(),
    )
    .unwrap();
    assert!(
        !f.kinds(at(2027, 2, 12))
            .contains(&"care_plan_follow_up_due".into())
    );
    // The next one is due six months after the follow-up.
    assert!(
        !f.kinds(at(2027, 8, 12))
            .contains(&"care_plan_follow_up_due".into())
    );
    assert!(
        f.kinds(at(2027, 8, 13))
            .contains(&"care_plan_follow_up_due".into())
    );
}

#[test]
fn the_individual_follow_up_sets_the_next_watch_date() {
    let mut f = fx();
    assert!(
        !f.kinds(at(2027, 7, 31))
            .contains(&"individual_follow_up_due".into())
    );
    let due = f.deadlines(at(2027, 8, 1));
    assert!(due.contains(&(
        "individual_follow_up_due".into(),
        "2027-08".into(),
        "caseworker".into()
    )));
    let (lisa, cw) = (f.lisa.clone(), f.caseworker.clone());
    care_plan::individual(
        &mut f.c,
        &lisa,
        day(2027, 8, 3),
        day(2028, 2, 1),
        "Behoven har ökat; ny beställning till våren.",
        &cw,
        at(2027, 8, 3).naive_utc(),
    )
    .unwrap();
    assert!(
        !f.kinds(at(2027, 8, 3))
            .contains(&"individual_follow_up_due".into())
    );
    assert!(
        !f.kinds(at(2028, 1, 31))
            .contains(&"individual_follow_up_due".into())
    );
    let again = f.deadlines(at(2028, 2, 1));
    assert!(again.contains(&(
        "individual_follow_up_due".into(),
        "2028-02".into(),
        "caseworker".into()
    )));
}

fn renew(f: &mut Fx, from: NaiveDate, provider: &str) {
    let lisa = f.lisa.clone();
    let orders = care_order::list_for_client(&mut f.c, &lisa).unwrap();
    let old = orders.first().unwrap().clone();
    let full = care_order::get_with_lines(&mut f.c, &f.m.id, &old.id).unwrap();
    let fields = CareOrderFields {
        valid_from: from,
        ordered_on: from,
        provider_id: provider.to_string().into(),
        ..old.fields.clone()
    };
    let lines: Vec<_> = full.lines.iter().map(|l| l.line.fields.clone()).collect();
    care_order::renew(&mut f.c, &old, &crate::db::new_id(), &fields, &lines).unwrap();
}

#[test]
fn a_renewed_order_keeps_the_plan_and_a_new_provider_needs_its_own() {
    let mut f = fx();
    let (lisa, jakobsberg, omsorgshuset) =
        (f.lisa.clone(), f.jakobsberg.clone(), f.omsorgshuset.clone());
    f.approve_plan(&lisa, &jakobsberg, at(2026, 8, 10));
    // Renewed from 1 December at the same provider: the plan carries over.
    renew(&mut f, day(2026, 12, 1), &jakobsberg);
    assert_eq!(
        care_plan::status(&mut f.c, &lisa).unwrap(),
        PlanStatus::Approved
    );
    assert!(
        !f.kinds(at(2026, 12, 20))
            .contains(&"care_plan_missing".into())
    );
    // The client chooses another provider from 1 January (LOV): the new
    // provider's plan is due 14 days later.
    renew(&mut f, day(2027, 1, 1), &omsorgshuset);
    assert!(
        !f.kinds(at(2027, 1, 15))
            .contains(&"care_plan_missing".into())
    );
    let due = f.deadlines(at(2027, 1, 16));
    assert!(due.contains(&(
        "care_plan_missing".into(),
        "2027-01".into(),
        "provider".into()
    )));
    let for_new = alert::list(
        &mut f.c,
        &f.m.id,
        &Viewer::Provider(omsorgshuset.clone()),
        &alert::Filter {
            kind: Some(crate::model::AlertKind::CarePlanMissing),
            client_id: Some(&lisa),
            ..Default::default()
        },
        10,
    )
    .unwrap();
    assert_eq!(for_new.len(), 1, "the new provider is told");
}

#[test]
fn the_list_of_clients_without_a_plan_is_made_on_the_16th_once_per_provider() {
    let mut f = fx();
    let m = f.m.clone();
    let run = |f: &mut Fx, when: DateTime<Utc>| {
        let x = Ctx::new(&mut f.c, &m, when).unwrap();
        deadlines::plan_lists(&mut f.c, &x).unwrap()
    };
    assert_eq!(run(&mut f, at(2026, 9, 15)), 0);
    assert_eq!(run(&mut f, at(2026, 9, 16)), 2, "one list per provider");
    assert_eq!(run(&mut f, at(2026, 9, 17)), 0, "once a month");
    let lists = deadlines::lists(&mut f.c, &m.id, Some(&f.jakobsberg)).unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].list_date, day(2026, 9, 16));
    let clients: Vec<serde_json::Value> = serde_json::from_str(&lists[0].clients).unwrap();
    let lisa = clients
        .iter()
        .find(|c| c["client_id"] == f.lisa.as_str())
        .expect("Lisa is listed");
    assert_eq!(lisa["plan_status"], "missing");
    assert_eq!(lisa["days_late"], 32, "due 15 August, listed 16 September");
    assert_eq!(clients.len(), 1, "only Lisa lacks a plan in the demo");
    // Lisa's plan approved: October's list leaves her out.
    let (lisa_id, jakobsberg) = (f.lisa.clone(), f.jakobsberg.clone());
    f.approve_plan(&lisa_id, &jakobsberg, at(2026, 10, 1));
    // The scheduled run makes the lists too.
    evaluate::municipality(&mut f.c, &m, at(2026, 10, 16)).unwrap();
    let lists = deadlines::lists(&mut f.c, &m.id, Some(&jakobsberg)).unwrap();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].list_date, day(2026, 10, 16));
    let clients: Vec<serde_json::Value> = serde_json::from_str(&lists[0].clients).unwrap();
    assert!(
        clients.is_empty(),
        "the demo's other clients have plans: {clients:?}"
    );
}

#[test]
fn the_hash_chains_verify_and_name_the_first_altered_record() {
    let f = fx();
    let mut c = f.db.connect();
    for i in 0..5 {
        access_log::record(
            &mut c,
            &access_log::Read {
                user_id: &f.caseworker,
                role: "caseworker",
                client_id: &f.lisa,
                what: if i % 2 == 0 { "journal" } else { "care_plan" },
                subjects: vec![f.anna.clone()],
            },
            at(2026, 9, 1 + i).naive_utc(),
        )
        .unwrap();
    }
    let reports = crate::audit::verify_chains(&mut c).unwrap();
    assert_eq!(reports[0].chain, "access_log");
    assert_eq!(reports[0].records, 5);
    assert_eq!(reports[0].broken, None);
    // Append-only: the database refuses a change.
    assert!(
        c.batch_execute("UPDATE access_log SET what = 'visits' WHERE seq = 3")
            .is_err()
    );
    assert!(
        c.batch_execute("DELETE FROM access_log WHERE seq = 5")
            .is_err()
    );
    // Someone with the rights to drop the guard alters the third record.
    let drop_guard = match &c {
        DbConn::Pg(_) => "ALTER TABLE access_log DISABLE TRIGGER access_log_append_only",
        DbConn::Sqlite(_) => "DROP TRIGGER access_log_append_only_u",
    };
    c.batch_execute(drop_guard).unwrap();
    c.batch_execute("UPDATE access_log SET user_id = 'someone-else' WHERE seq = 3")
        .unwrap();
    let reports = crate::audit::verify_chains(&mut c).unwrap();
    let broken = reports[0].broken.clone().expect("the chain is broken");
    assert_eq!((broken.seq, broken.reason.as_str()), (3, "altered"));
    assert_eq!(reports[0].records, 2, "two good records before it");
}

#[test]
fn a_deleted_record_breaks_the_chain_where_it_was() {
    let f = fx();
    let mut c = f.db.connect();
    for i in 0..4 {
        access_log::record(
            &mut c,
            &access_log::Read {
                user_id: &f.chef,
                role: "provider_admin",
                client_id: &f.lisa,
                what: "visits",
                subjects: vec![],
            },
            at(2026, 9, 1 + i).naive_utc(),
        )
        .unwrap();
    }
    let drop_guard = match &c {
        DbConn::Pg(_) => "ALTER TABLE access_log DISABLE TRIGGER access_log_append_only",
        DbConn::Sqlite(_) => "DROP TRIGGER access_log_append_only_d",
    };
    c.batch_execute(drop_guard).unwrap();
    c.batch_execute("DELETE FROM access_log WHERE seq = 2")
        .unwrap();
    let broken = crate::audit::verify_chains(&mut c).unwrap()[0]
        .broken
        .clone()
        .unwrap();
    assert_eq!((broken.seq, broken.reason.as_str()), (2, "missing"));
}
