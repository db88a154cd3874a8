//! Retention (gallring) with time travel: the demo as of June 2019, one
//! client's orders ended, the clock moved five years on.

use crate::auth::lock_keys::LockKeys;
use crate::db::schema::{care_order, client, municipality, retention_run, visit, visit_change};
use crate::db::testing::TestDb;
use crate::db::{DbConn, access_log, digital_key, user_account};
use crate::record::{self as approval, Change};
use crate::retention::{self, in_research_sample};
use crate::seed;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Stockholm
        .with_ymd_and_hms(y, m, d, 3, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

struct Fx {
    _db: TestDb,
    c: DbConn,
    keys: LockKeys,
    lisa: String,
    maj: String,
    chef: String,
}

/// The demo with its visits as of 15 June 2019; Lisa's orders end on 30
/// June 2019, everyone else's stay open. Retention: five years for both.
fn fx() -> Fx {
    let db = TestDb::new();
    let mut c = db.connect();
    let m = seed::demo(&mut c, day(2019, 6, 15)).unwrap().municipality;
    seed::demo_visits(&mut c, day(2019, 6, 15)).unwrap();
    let clients = crate::db::client::list(&mut c, &m.id).unwrap();
    let id = |name: &str| {
        clients
            .iter()
            .find(|x| x.fields.given_name == name)
            .unwrap()
            .id
            .clone()
    };
    let (lisa, maj) = (id("Lisa"), id("Maj"));
    diesel::update(care_order::table.filter(care_order::client_id.eq(&lisa)))
        .set(care_order::valid_to.eq(Some(day(2019, 6, 30))))
        .execute(&mut c)
        .unwrap();
    diesel::update(care_order::table.filter(care_order::client_id.ne(&lisa)))
        .set(care_order::valid_to.eq(None::<NaiveDate>))
        .execute(&mut c)
        .unwrap();
    diesel::update(municipality::table.find(&m.id))
        .set((
            municipality::access_log_retention_years.eq(5),
            municipality::client_retention_years.eq(5),
        ))
        .execute(&mut c)
        .unwrap();
    let keys = LockKeys::from_seed(&[7; 32]).unwrap();
    digital_key::register_signing_key(
        &mut c,
        keys.kid(),
        &keys.public_key(),
        at(2019, 1, 1).naive_utc(),
    )
    .unwrap();
    let chef = user_account::find_by_username(&mut c, "demo.chef.jakobsberg")
        .unwrap()
        .unwrap()
        .id;
    Fx {
        _db: db,
        c,
        keys,
        lisa: lisa.to_string(),
        maj: maj.to_string(),
        chef: chef.to_string(),
    }
}

impl Fx {
    /// Corrects the client's `n`th visit (ending it a minute earlier):
    /// one record in the change history's chain.
    fn correct(&mut self, client: &str, n: i64) {
        let (id, ended): (String, Option<chrono::NaiveDateTime>) = visit::table
            .filter(visit::client_id.eq(client))
            .filter(visit::ended_at.is_not_null())
            .order(visit::id)
            .offset(n)
            .select((visit::id, visit::ended_at))
            .first(&mut self.c)
            .unwrap();
        let end = ended.unwrap() - chrono::Duration::minutes(1);
        approval::correct(
            &mut self.c,
            &id,
            None,
            Some(end),
            Change {
                by: &self.chef,
                at: at(2019, 6, 16).naive_utc(),
                reason_code: Some("forgot_check_out"),
                comment: "Glömde checka ut.",
            },
        )
        .unwrap();
    }

    fn read(&mut self, client: &str, when: DateTime<Utc>) {
        let chef = self.chef.clone();
        access_log::record(
            &mut self.c,
            &access_log::Read {
                user_id: &chef,
                role: "provider_admin",
                client_id: client,
                what: "visits",
                subjects: vec![],
            },
            when.naive_utc(),
        )
        .unwrap();
    }

    fn run(&mut self, when: DateTime<Utc>, dry_run: bool) -> retention::Outcome {
        let mut all = retention::run_all(&mut self.c, when, &self.keys, dry_run).unwrap();
        assert_eq!(all.len(), 1, "one municipality");
        all.remove(0)
    }

    fn count(&mut self, table: &str, client: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let q = format!("SELECT COUNT(*) AS n FROM {table} WHERE client_id = '{client}'");
        match &mut self.c {
            DbConn::Pg(pg) => diesel::sql_query(q).get_result::<N>(pg).unwrap().n,
            DbConn::Sqlite(s) => diesel::sql_query(q).get_result::<N>(s).unwrap().n,
        }
    }

    /// Every table with a `client_id` column, from the database's catalogue.
    fn client_tables(&mut self) -> Vec<String> {
        #[derive(QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let rows: Vec<T> = match &mut self.c {
            DbConn::Pg(pg) => diesel::sql_query(
                "SELECT table_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'client_id'",
            )
            .load(pg)
            .unwrap(),
            DbConn::Sqlite(s) => diesel::sql_query(
                "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND p.name = 'client_id'",
            )
            .load(s)
            .unwrap(),
        };
        let mut names: Vec<String> = rows.into_iter().map(|t| t.name).collect();
        names.sort();
        names
    }
}

#[test]
fn the_research_sample_is_those_born_on_the_5th_15th_or_25th() {
    assert!(in_research_sample("19340505-2387"));
    assert!(in_research_sample("19340515-2387"));
    assert!(in_research_sample("19340525-2387"));
    assert!(
        in_research_sample("19340575-2387"),
        "samordningsnummer: 15 + 60"
    );
    assert!(!in_research_sample("19340512-2387"));
    assert!(!in_research_sample("19340506-2387"));
    assert!(!in_research_sample("gallrad:x"));
    assert!(!in_research_sample(""));
}

#[test]
fn a_clients_records_are_deleted_five_years_after_the_last_order_and_the_chains_still_verify() {
    let mut f = fx();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    // Interleaved in the change history: Lisa, Maj, Lisa, Maj.
    f.correct(&lisa, 0);
    f.correct(&maj, 0);
    f.correct(&lisa, 1);
    f.correct(&maj, 1);
    // The list of clients without a care plan, made on 16 June 2019,
    // names Lisa.
    let m = crate::db::municipality::list(&mut f.c).unwrap().remove(0);
    let x = crate::evaluate::Ctx::new(&mut f.c, &m, at(2019, 6, 16)).unwrap();
    assert!(crate::evaluate::deadlines::plan_lists(&mut f.c, &x).unwrap() > 0);
    let lists = |c: &mut DbConn| -> Vec<String> {
        crate::db::schema::care_plan_list::table
            .select(crate::db::schema::care_plan_list::clients)
            .load(c)
            .unwrap()
    };
    assert!(lists(&mut f.c).iter().any(|l| l.contains(&lisa)));
    // A planned visit of Lisa's, with its service and care worker.
    let anna = crate::db::user_account::find_by_username(&mut f.c, "demo.anna")
        .unwrap()
        .unwrap();
    let provider = anna.fields.provider_id.clone().unwrap();
    let shower = crate::db::service::find_by_code(&mut f.c, &m.id, "O-Duschhjälp")
        .unwrap()
        .unwrap();
    let plan = crate::db::planned_visit::NewPlan {
        planner_ref: "TES-2019".into(),
        client_id: lisa.clone().into(),
        local_date: day(2019, 6, 20),
        earliest_start: at(2019, 6, 20).naive_utc(),
        latest_start: at(2019, 6, 20).naive_utc(),
        expected_minutes: 30,
        double_staffing: false,
        time_critical: false,
        tolerance_minutes: None,
        source: crate::model::PlanSource::Planner,
        services: vec![shower.id.clone()],
        staff: vec![anna.id.clone()],
    };
    crate::db::planned_visit::store(
        &mut f.c,
        &provider,
        &[plan],
        false,
        at(2019, 6, 15).naive_utc(),
    )
    .unwrap();
    assert_eq!(f.count("planned_visit", &lisa), 1);
    let maj_visits = f.count("visit", &maj);
    let maj_figures = f.count("figure_day", &maj);
    assert!(f.count("visit", &lisa) > 10 && maj_visits > 10);
    assert!(f.count("figure_day", &lisa) > 0);

    // A day before five years have passed: Lisa is kept.
    let o = f.run(at(2024, 6, 30), false);
    assert_eq!(o.orders_ended_before, day(2019, 6, 30));
    assert_eq!((o.clients_purged, o.clients_kept), (0, 0));
    assert!(f.count("visit", &lisa) > 10);
    // The list of 16 June 2019 is older than five years by then.
    assert!(o.counts["care_plan_list"] > 0, "{o:?}");
    assert!(lists(&mut f.c).is_empty());

    // The dry run a day later counts what the real run then deletes.
    let dry = f.run(at(2024, 7, 2), true);
    assert_eq!(dry.clients_purged, 1);
    assert!(f.count("visit", &lisa) > 10, "a dry run deletes nothing");
    let runs: i64 = retention_run::table.count().get_result(&mut f.c).unwrap();
    assert_eq!(runs, 1, "a dry run is not recorded");

    let o = f.run(at(2024, 7, 2), false);
    assert_eq!((o.clients_purged, o.clients_kept), (1, 0));
    assert_eq!(o.counts, dry.counts, "the dry run said what would go");
    assert_eq!(o.counts["visit_change"], 2, "Lisa's two corrections");
    assert!(o.counts["visit"] > 10);
    assert!(o.counts["care_order"] > 0 && o.counts["decision"] > 0);

    // Nothing of Lisa's is left in any table that names a client, except
    // the access log (its own period) and the anonymised row itself.
    let tables = f.client_tables();
    assert!(tables.len() > 20, "{tables:?}");
    for t in &tables {
        let n = f.count(t, &lisa);
        match t.as_str() {
            "access_log" | "device" => {}
            _ => assert_eq!(n, 0, "{t} still holds Lisa's rows"),
        }
    }
    let (pn, family, purged): (String, String, Option<chrono::NaiveDateTime>) = client::table
        .find(&lisa)
        .select((
            client::personal_number,
            client::family_name,
            client::purged_at,
        ))
        .first(&mut f.c)
        .unwrap();
    assert!(!pn.contains("1934"), "the personal identity number is gone");
    assert_eq!(family, "");
    assert!(purged.is_some());
    // Maj's records are untouched.
    assert_eq!(f.count("visit", &maj), maj_visits);
    assert_eq!(f.count("figure_day", &maj), maj_figures);

    // The change history still verifies, across the gaps Lisa left.
    let reports = crate::audit::verify_chains(&mut f.c).unwrap();
    let changes = reports.iter().find(|r| r.chain == "visit_change").unwrap();
    assert_eq!(changes.broken, None, "{changes:?}");
    assert_eq!((changes.removed, changes.gaps), (2, 2));
    assert!(changes.records >= 2);
    // Maj's corrections may still not be deleted.
    let seq: i64 = visit_change::table
        .filter(visit_change::chain_seq.is_not_null())
        .select(diesel::dsl::max(visit_change::chain_seq))
        .first::<Option<i64>>(&mut f.c)
        .unwrap()
        .unwrap();
    assert!(
        f.c.batch_execute(&format!("DELETE FROM visit_change WHERE chain_seq = {seq}"))
            .is_err(),
        "outside a gap the history is append-only"
    );

    // The run is recorded with counts and nothing that names Lisa.
    let (purged, counts): (i32, String) = retention_run::table
        .order(retention_run::ran_at.desc())
        .select((retention_run::clients_purged, retention_run::counts))
        .first(&mut f.c)
        .unwrap();
    assert_eq!(purged, 1);
    assert!(!counts.contains(&lisa) && !counts.contains("Lisa"));
    // A second run finds nothing more.
    let again = f.run(at(2024, 7, 3), false);
    assert_eq!((again.clients_purged, again.rows_deleted()), (0, 0));
}

#[test]
fn the_access_log_is_cut_at_its_period_and_a_forged_gap_is_named() {
    let mut f = fx();
    let (lisa, maj) = (f.lisa.clone(), f.maj.clone());
    f.read(&lisa, at(2019, 3, 1));
    f.read(&maj, at(2019, 4, 1));
    f.read(&lisa, at(2021, 1, 1));
    f.read(&maj, at(2024, 3, 1));
    let o = f.run(at(2024, 6, 1), false);
    assert_eq!(o.counts.get("access_log"), Some(&2), "{o:?}");
    let left: Vec<i64> = crate::db::schema::access_log::table
        .select(crate::db::schema::access_log::seq)
        .order(crate::db::schema::access_log::seq)
        .load(&mut f.c)
        .unwrap();
    assert_eq!(left, vec![3, 4]);
    let r = crate::audit::verify_chains(&mut f.c).unwrap().remove(0);
    assert_eq!(r.chain, "access_log");
    assert_eq!((r.records, r.removed, r.gaps, r.broken), (2, 2, 1, None));

    // A period under five years in the row (the API refuses one) still
    // keeps five.
    diesel::update(municipality::table)
        .set(municipality::access_log_retention_years.eq(2))
        .execute(&mut f.c)
        .unwrap();
    let o = f.run(at(2024, 6, 2), false);
    assert_eq!(
        o.counts.get("access_log"),
        None,
        "2021 is within five years"
    );

    // Someone with database rights but without the key records a gap of
    // their own and deletes the 2021 read: the trigger lets it through,
    // verify-logs does not.
    f.c.batch_execute(
        "INSERT INTO chain_gap (chain, from_seq, to_seq, prev_hash, last_hash, removed_at, \
         reason, kid, signature) SELECT 'access_log', seq, seq, prev_hash, hash, at, \
         'retention', kid, 'AAAA' FROM access_log, lock_signing_key WHERE seq = 3",
    )
    .unwrap();
    f.c.batch_execute("DELETE FROM access_log WHERE seq = 3")
        .unwrap();
    let r = crate::audit::verify_chains(&mut f.c).unwrap().remove(0);
    let broken = r.broken.expect("the forged gap is found");
    assert_eq!((broken.seq, broken.reason.as_str()), (3, "unsigned_gap"));
    // And the gaps themselves cannot be rewritten.
    assert!(f.c.batch_execute("DELETE FROM chain_gap").is_err());
    assert!(
        f.c.batch_execute("UPDATE chain_gap SET signature = 'x'")
            .is_err()
    );
}

#[test]
fn the_research_sample_is_kept_unless_the_municipality_says_otherwise() {
    let mut f = fx();
    let lisa = f.lisa.clone();
    diesel::update(client::table.find(&lisa))
        .set(client::personal_number.eq("19340515-2387"))
        .execute(&mut f.c)
        .unwrap();
    let o = f.run(at(2024, 7, 2), false);
    assert_eq!((o.clients_purged, o.clients_kept), (0, 1));
    assert!(f.count("visit", &lisa) > 10);
    diesel::update(municipality::table)
        .set(municipality::keep_research_sample.eq(false))
        .execute(&mut f.c)
        .unwrap();
    let o = f.run(at(2024, 7, 3), false);
    assert_eq!((o.clients_purged, o.clients_kept), (1, 0));
    assert_eq!(f.count("visit", &lisa), 0);
}
