//! Storage tests on a real database: SQLite by default, PostgreSQL when
//! `HEMTID_TEST_DATABASE_URL` is set.

use super::care_order::{self, CareOrderFields, OrderLineFields};
use super::client::{self, ClientFields};
use super::decision::{self, DecisionFields};
use super::provider::{self, ProviderFields};
use super::testing::TestDb;
use super::*;
use crate::domain::{MonthConvention, monthly_ordered_time};
use crate::seed;
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let db = TestDb::empty();
    let mut conn = db.connect();
    let up = run_migrations(&mut conn).unwrap();
    assert!(!up.is_empty());
    // The schema works: a demo loads.
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    let down = revert_all_migrations(&mut conn).unwrap();
    assert_eq!(down.len(), up.len());
    let again = run_migrations(&mut conn).unwrap();
    assert_eq!(again, up);
    assert!(
        run_migrations(&mut conn).unwrap().is_empty(),
        "nothing pending"
    );
    assert!(
        municipality::list(&mut conn).unwrap().is_empty(),
        "down dropped the data"
    );
}

/// On SQLite the tables the write path upserts by a key of several columns
/// are one tree ordered by that key (WITHOUT ROWID): a row written changes
/// one page of it, not a page of the table and one of the key's index
/// (docs/BENCHMARKS.md, the phone API). Down and up again they are so too.
#[test]
fn tables_upserted_by_key_are_one_tree_on_sqlite() {
    #[derive(QueryableByName, Debug)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    // The tables kept by key (none on PostgreSQL, which keeps a table and
    // its key's index apart whatever it is told).
    let keyed = |conn: &mut DbConn| -> Vec<String> {
        let DbConn::Sqlite(sq) = conn else {
            return Vec::new();
        };
        let mut names: Vec<String> =
            diesel::sql_query("SELECT name FROM pragma_table_list WHERE wr = 1")
                .load::<Table>(sq)
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect();
        names.sort();
        names
    };
    let rows = |conn: &mut DbConn| -> (i64, i64, i64) {
        use super::schema::{figure_dirty, figure_month, visited_day};
        (
            figure_month::table.count().get_result(conn).unwrap(),
            figure_dirty::table.count().get_result(conn).unwrap(),
            visited_day::table.count().get_result(conn).unwrap(),
        )
    };
    let db = TestDb::new();
    let mut conn = db.connect();
    let expected: Vec<&str> = match conn {
        DbConn::Sqlite(_) => vec![
            "figure_day",
            "figure_dirty",
            "figure_month",
            "figure_staff_day",
            "visit_service",
            "visit_share",
            "visited_day",
        ],
        DbConn::Pg(_) => vec![],
    };
    assert_eq!(keyed(&mut conn), expected);
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    conn.batch_execute(
        "INSERT INTO figure_month (client_id, provider_id, month, service_id, seconds, \
                                   frame_seconds, visits, declined) \
             SELECT c.id, p.id, '2026-11', 'any', 60, 60, 1, 0 FROM client c, provider p; \
         INSERT INTO figure_dirty (client_id, month, marked_at) \
             SELECT id, '2026-11', '2026-11-22 10:00:00' FROM client; \
         INSERT INTO visited_day (client_id, local_date, asked_at) \
             SELECT id, '2026-11-22', '2026-11-22 10:00:00' FROM client;",
    )
    .unwrap();
    let before = rows(&mut conn);
    assert!(before.0 > 0 && before.1 > 0 && before.2 > 0, "{before:?}");
    // Down and up again, the rows kept each way.
    let reverted = revert_last_migration(&mut conn).unwrap();
    assert!(reverted.contains("000033"), "{reverted}");
    assert!(keyed(&mut conn).is_empty());
    assert_eq!(rows(&mut conn), before);
    run_migrations(&mut conn).unwrap();
    assert_eq!(keyed(&mut conn), expected);
    assert_eq!(rows(&mut conn), before);
}

#[test]
fn demo_seed_is_idempotent_and_complete() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let first = seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    assert!(first.created);
    let again = seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    assert!(!again.created);
    assert_eq!(again.municipality.id, first.municipality.id);
    let m = &first.municipality.id;
    assert_eq!(provider::list(&mut conn, m).unwrap().len(), 2);
    assert_eq!(authority_unit::list(&mut conn, m).unwrap().len(), 2);
    assert_eq!(client::list(&mut conn, m).unwrap().len(), 6);
    assert_eq!(
        service::list(&mut conn, m).unwrap().len(),
        seed::JARFALLA_SERVICES.len()
    );
    assert_eq!(
        user_account::list(&mut conn, m).unwrap().len(),
        first.logins.len()
    );
    // Lisa's order is Järfälla's Bilaga 4: 51:36 h/month.
    let lisa = client::list(&mut conn, m)
        .unwrap()
        .into_iter()
        .find(|c| c.fields.given_name == "Lisa")
        .unwrap();
    let order = &care_order::list_for_client(&mut conn, &lisa.id).unwrap()[0];
    let full = care_order::get_with_lines(&mut conn, m, &order.id).unwrap();
    assert_eq!(full.lines.len(), 6);
    assert_eq!(full.lines[0].service_code, "O-Promenad");
    let t = monthly_ordered_time(
        &full.spec().unwrap(),
        "2026-10".parse().unwrap(),
        MonthConvention::Average,
    );
    assert_eq!(t.total_minutes, 3096);
    assert_eq!(t.computed_minutes, 2072);
}

#[test]
fn constraint_violations_map_to_their_errors() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let m = municipality::create(&mut conn, "0123", "Järfälla", &Default::default()).unwrap();
    assert!(matches!(
        municipality::create(&mut conn, "0123", "Again", &Default::default()),
        Err(StoreError::Conflict(_))
    ));
    let fields = ProviderFields {
        name: "Hemtjänst XX".into(),
        org_number: None,
        regi: "municipal".into(),
        active: true,
    };
    provider::create(&mut conn, &m.id, &new_id(), &fields).unwrap();
    assert!(matches!(
        provider::create(&mut conn, &m.id, &new_id(), &fields),
        Err(StoreError::Conflict(_))
    ));
    // Unknown municipality: foreign key.
    let other = ProviderFields {
        name: "Y".into(),
        ..fields.clone()
    };
    assert!(matches!(
        provider::create(&mut conn, "nope", &new_id(), &other),
        Err(StoreError::ForeignKey(_))
    ));
    // CHECK constraint on regi.
    let bad = ProviderFields {
        name: "Z".into(),
        regi: "lov".into(),
        ..fields
    };
    assert!(matches!(
        provider::create(&mut conn, &m.id, &new_id(), &bad),
        Err(StoreError::Check(_))
    ));
    // Updating a missing row.
    assert!(matches!(
        provider::update(&mut conn, &m.id, "missing", &bad),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn rows_are_scoped_to_their_municipality() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let a = municipality::create(&mut conn, "0001", "A", &Default::default()).unwrap();
    let b = municipality::create(&mut conn, "0002", "B", &Default::default()).unwrap();
    let p = provider::create(
        &mut conn,
        &a.id,
        &new_id(),
        &ProviderFields {
            name: "P".into(),
            org_number: None,
            regi: "private".into(),
            active: true,
        },
    )
    .unwrap();
    assert!(provider::get(&mut conn, &a.id, &p.id).is_ok());
    assert!(matches!(
        provider::get(&mut conn, &b.id, &p.id),
        Err(StoreError::NotFound)
    ));
    assert!(provider::list(&mut conn, &b.id).unwrap().is_empty());
}

#[test]
fn orders_keep_lines_in_order_and_renewals_link_back() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let summary = seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    let m = summary.municipality.id;
    let maj = client::list(&mut conn, &m)
        .unwrap()
        .into_iter()
        .find(|c| c.fields.given_name == "Maj")
        .unwrap();
    let first = care_order::list_for_client(&mut conn, &maj.id)
        .unwrap()
        .remove(0);
    let old = care_order::get_with_lines(&mut conn, &m, &first.id).unwrap();
    let line_fields: Vec<OrderLineFields> =
        old.lines.iter().map(|l| l.line.fields.clone()).collect();
    let new_fields = CareOrderFields {
        valid_from: d(2026, 12, 1),
        ordered_on: d(2026, 11, 20),
        ..old.order.fields.clone()
    };
    let new_id_ = new_id();
    care_order::renew(
        &mut conn,
        &old.order,
        &new_id_,
        &new_fields,
        &line_fields[1..],
    )
    .unwrap();
    let renewed = care_order::get_with_lines(&mut conn, &m, &new_id_).unwrap();
    assert_eq!(
        renewed.order.previous_order_id.as_deref(),
        Some(old.order.id.as_str())
    );
    assert_eq!(renewed.lines.len(), line_fields.len() - 1);
    assert_eq!(renewed.lines[0].line.position, 0);
    let ended = care_order::get(&mut conn, &m, &old.order.id).unwrap();
    assert_eq!(ended.fields.valid_to, Some(d(2026, 11, 30)));
    assert_eq!(
        care_order::successor(&mut conn, &old.order.id)
            .unwrap()
            .unwrap()
            .id,
        new_id_
    );
    // A second renewal of the same order is refused by the unique link.
    let again = care_order::renew(&mut conn, &old.order, &new_id(), &new_fields, &[]);
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    // Replacing lines keeps positions dense.
    care_order::update(&mut conn, &m, &new_id_, &renewed.order.fields, &line_fields).unwrap();
    let updated = care_order::get_with_lines(&mut conn, &m, &new_id_).unwrap();
    let positions: Vec<i32> = updated.lines.iter().map(|l| l.line.position).collect();
    assert_eq!(positions, (0..line_fields.len() as i32).collect::<Vec<_>>());
}

#[test]
fn personal_numbers_are_unique_per_municipality_and_found_by_value() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let m = municipality::create(&mut conn, "0123", "J", &Default::default()).unwrap();
    let fields = ClientFields {
        personal_number: "19121212-1212".into(),
        given_name: "Tolvan".into(),
        family_name: "Tolvansson".into(),
        street_address: "Gatan 1".into(),
        postal_code: "175 61".into(),
        city: "Järfälla".into(),
        phone: None,
        caseworker_id: None,
        provider_id: None,
        household_id: None,
    };
    let c = client::create(&mut conn, &m.id, &new_id(), &fields).unwrap();
    assert!(matches!(
        client::create(&mut conn, &m.id, &new_id(), &fields),
        Err(StoreError::Conflict(_))
    ));
    let found = client::find_by_personal_number(&mut conn, &m.id, "19121212-1212")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, c.id);
    assert!(!format!("{found:?}").contains("1212-1212"));
    // Decisions reject a period that ends before it starts (CHECK).
    let bad = DecisionFields {
        client_id: c.id.clone(),
        kind: crate::model::DecisionKind::Frame,
        legal_basis: "SoL 4 kap. 1 §".into(),
        decided_on: d(2026, 1, 1),
        valid_from: d(2026, 2, 1),
        valid_to: Some(d(2026, 1, 31)),
        purpose: String::new(),
        goals: String::new(),
        caseworker_id: None,
    };
    assert!(matches!(
        decision::create(&mut conn, &new_id(), &bad),
        Err(StoreError::Check(_))
    ));
}

#[test]
fn pool_answers_ping_on_both_backends() {
    let db = TestDb::new();
    let pool = db.pool();
    ping(&mut pool.get().unwrap()).unwrap();
}

#[test]
fn a_passive_checkpoint_copies_the_sqlite_log_back() {
    let db = TestDb::new();
    let mut conn = db.connect();
    if checkpoint(&mut conn).unwrap().is_none() {
        return; // PostgreSQL keeps no such log.
    }
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    // The demo's pages went to the log; a checkpoint with no reader in the
    // way copies all of them into the database file.
    let after = checkpoint(&mut conn).unwrap().unwrap();
    assert!(after.log > 0, "{after:?}");
    assert_eq!(after.checkpointed, after.log);
}

#[test]
fn a_restart_checkpoint_starts_the_sqlite_log_again() {
    let db = TestDb::new();
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    if restart_log(&mut conn, 5000).unwrap().is_none() {
        return; // PostgreSQL keeps no such log.
    }
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    let write = |conn: &mut DbConn| {
        conn.batch_execute("UPDATE municipality SET name = name || ''")
            .unwrap()
    };
    write(&mut conn);
    let grown = checkpoint(&mut conn).unwrap().unwrap();
    // A reader of an older snapshot, for a moment: a passive checkpoint
    // would leave it the log; the restart waits for it, copies the whole
    // log back, and the next commit writes the log from its beginning.
    let mut reader = pool.get().unwrap();
    let (began, begin) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(move || {
            reader.batch_execute("BEGIN").unwrap();
            municipality::list(&mut reader).unwrap();
            began.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            reader.batch_execute("COMMIT").unwrap();
        });
        begin.recv().unwrap();
        write(&mut conn);
        let restart = restart_log(&mut conn, 5000).unwrap().unwrap();
        assert_eq!(restart.busy, 0, "{restart:?}");
        assert_eq!(restart.checkpointed, restart.log, "{restart:?}");
    });
    write(&mut conn);
    let fresh = checkpoint(&mut conn).unwrap().unwrap();
    assert!(fresh.log < grown.log, "{fresh:?} after {grown:?}");
}

#[test]
fn a_restart_checkpoint_gives_up_on_a_reader_that_stays() {
    let db = TestDb::new();
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    if restart_log(&mut conn, 0).unwrap().is_none() {
        return; // PostgreSQL keeps no such log.
    }
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    let mut reader = pool.get().unwrap();
    reader.batch_execute("BEGIN").unwrap();
    municipality::list(&mut reader).unwrap();
    conn.batch_execute("UPDATE municipality SET name = name || ''")
        .unwrap();
    // A report reading for minutes must not hold the writers back that
    // long: the restart gives up after its own wait, not the connection's
    // busy timeout (10 s), and says so.
    let started = std::time::Instant::now();
    let restart = restart_log(&mut conn, 100).unwrap().unwrap();
    assert_eq!(restart.busy, 1, "{restart:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The connection waits as long as before for its own locks.
    let DbConn::Sqlite(s) = &mut *conn else {
        unreachable!()
    };
    let timeout: Vec<Timeout> = diesel::sql_query("PRAGMA busy_timeout").load(s).unwrap();
    assert_eq!(timeout[0].timeout, 10_000);
    reader.batch_execute("COMMIT").unwrap();
}

#[derive(QueryableByName)]
struct Timeout {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    timeout: i32,
}

#[test]
fn a_mostly_reading_transaction_takes_the_write_lock_only_to_write() {
    let db = TestDb::new();
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    seed::demo(&mut conn, d(2026, 11, 22)).unwrap();
    let rename = |c: &mut DbConn, name: &str| {
        diesel::sql_query("UPDATE municipality SET name = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .execute(c)
    };
    let name = |c: &mut DbConn| municipality::list(c).unwrap()[0].name.clone();
    // Reading only: another connection writes in the middle of it (on
    // SQLite it would wait for the lock and fail after the busy timeout
    // if the reader held it).
    let mut other = pool.get().unwrap();
    let mut runs = 0;
    let seen = read_mostly(&mut conn, |c| {
        runs += 1;
        let before = name(c);
        if runs == 1 {
            transaction(&mut other, |o| Ok(rename(o, "Skrivet emellan")?)).unwrap();
        }
        Ok(before)
    })
    .unwrap();
    assert_eq!(runs, 1);
    assert_ne!(seen, "Skrivet emellan");
    // Writing after another connection wrote since it began reading: on
    // SQLite the deferred attempt cannot take the lock and runs again
    // with it; either way the write lands once and reads what is there.
    let mut runs = 0;
    read_mostly(&mut conn, |c| {
        runs += 1;
        let before = name(c);
        if runs == 1 {
            transaction(&mut other, |o| Ok(rename(o, "Igen")?)).unwrap();
        }
        rename(c, &format!("{before} och sedan"))?;
        Ok(())
    })
    .unwrap();
    // PostgreSQL: one run, reading committed data as it goes (what
    // `transaction` always did there).
    let sqlite = matches!(*conn, DbConn::Sqlite(_));
    let want = if sqlite {
        "Igen och sedan"
    } else {
        "Skrivet emellan och sedan"
    };
    assert_eq!(name(&mut conn), want);
    assert_eq!(runs, if sqlite { 2 } else { 1 });
}

#[test]
fn ids_made_later_sort_later() {
    // What keeps a batch's rows together in the indexes of their ids.
    let first = new_id();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let second = new_id();
    assert!(first < second, "{first} then {second}");
    assert_eq!(second.len(), 36);
}

/// One line of a plan (`EXPLAIN` on PostgreSQL).
#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan PostgreSQL makes for `sql` (`?` for its values) prepared and
/// executed with `args` (SQL literals) under `plan_cache_mode = mode`
/// (`force_generic_plan`: the plan a kept statement may end up with;
/// `force_custom_plan`: one made for the values), each line cut short.
pub(super) fn explain_prepared(
    pg: &mut diesel::PgConnection,
    mode: &str,
    sql: &str,
    args: &str,
) -> String {
    use diesel::connection::SimpleConnection;
    pg.batch_execute(&format!(
        "SET plan_cache_mode = {mode}; PREPARE p AS {}",
        unnest::numbered(sql)
    ))
    .unwrap();
    let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN EXECUTE p({args})"))
        .load(pg)
        .unwrap();
    pg.batch_execute("DEALLOCATE p; RESET plan_cache_mode")
        .unwrap();
    lines.into_iter().map(|l| short(&l.line)).collect()
}

/// A plan line cut short of its constants (a bound list of 600 ids), and
/// its line end.
fn short(line: &str) -> String {
    line.chars()
        .take(160)
        .chain(std::iter::once('\n'))
        .collect()
}

/// One step of a plan (`EXPLAIN QUERY PLAN` on SQLite).
#[derive(diesel::QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// The gateway's reads by lists of ids and the pairing's window reads go
/// through an index one id at a time and stop at their limits, and its
/// deletes of shares and services find their rows the same way, whatever
/// the planner knows of the tables: tables without statistics here, as on
/// a new deployment or a server with autovacuum off. On PostgreSQL
/// statements are kept prepared, and a kept statement's generic plan is
/// made once, for the tables as they were: each is checked as a generic
/// plan made on empty tables and as a plan made for its values. On
/// PostgreSQL `visit_id = ANY(ids)` was planned as a whole-table scan and
/// the window read all of a care worker's events and sorted them
/// (a profile of the ingest bench on 2026-12-01; see this test's commit).
#[test]
fn ingest_reads_go_by_index_whatever_the_statistics() {
    use diesel::sql_types::{Text, Timestamp};
    let db = TestDb::new();
    let mut conn = db.connect();
    let ids: Vec<String> = (0..600).map(|_| new_id()).collect();
    let t = d(2026, 11, 23).and_hms_opt(9, 0, 0).unwrap();
    municipality::list(&mut conn).unwrap();
    municipality::list(&mut conn).unwrap();
    match &mut conn {
        DbConn::Pg(pg) => {
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            // Statements are kept prepared (`DatabaseUrl::establish`).
            let kept: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements")
                .get_result(pg)
                .unwrap();
            assert!(kept.n > 0, "no statement kept prepared");
            let list = format!("'{{{}}}'::text[]", ids.join(","));
            let staff = format!("'{{{}}}'::text[]", ids[..90].join(","));
            let times = format!("array_fill('{t}'::timestamp, ARRAY[90])");
            for mode in ["force_generic_plan", "force_custom_plan"] {
                let mut plan = |sql: &str, args: &str| explain_prepared(pg, mode, sql, args);
                let holding = plan(visit::HOLDING_SQL, &list);
                for must in [
                    "Nested Loop",
                    "visit_check_in_event_id_key",
                    "visit_check_out_event_id_key",
                ] {
                    assert!(holding.contains(must), "{mode}: {must} not in\n{holding}");
                }
                assert!(!holding.contains("Seq Scan on visit"), "{mode}: {holding}");
                for (table, index, order) in [
                    ("visit_share", "visit_share_pkey", "visit_id, client_id"),
                    (
                        "visit_service",
                        "visit_service_pkey",
                        "visit_id, declined, client_id, service_id",
                    ),
                ] {
                    let p = plan(&visit::by_visit_sql(table, order), &list);
                    assert!(
                        p.contains("Nested Loop") && p.contains(index),
                        "{mode}: {p}"
                    );
                    assert!(!p.contains(&format!("Seq Scan on {table}")), "{mode}: {p}");
                    let p = plan(&delete_of_visits_sql(table), &format!("'{}'", ids[0]));
                    assert!(p.contains(index), "{mode}: {p}");
                    assert!(!p.contains(&format!("Seq Scan on {table}")), "{mode}: {p}");
                }
                for (table, index) in [("visit_event", "visit_event_pkey"), ("visit", "visit_pkey")]
                {
                    let p = plan(&unnest::by_key_sql(table, "id"), &list);
                    assert!(
                        p.contains("Nested Loop") && p.contains(index),
                        "{mode}: {p}"
                    );
                    assert!(!p.contains(&format!("Seq Scan on {table}")), "{mode}: {p}");
                }
                let p = plan(visit::DELETE_SQL, &format!("'{}'", ids[0]));
                assert!(p.contains("visit_pkey"), "{mode}: {p}");
                assert!(!p.contains("Seq Scan on visit"), "{mode}: {p}");
                let windows = plan(visit_event::WINDOWS_SQL, &format!("{staff}, {times}, 3, 7"));
                assert!(
                    windows.contains("Index Scan Backward using visit_event_staff_pair_idx")
                        && windows.contains("Index Scan using visit_event_staff_pair_idx"),
                    "{mode}: {windows}"
                );
                assert!(!windows.contains("Sort"), "{mode}: {windows}");
            }
        }
        DbConn::Sqlite(s) => {
            // The window reads name the pair index's condition: SQLite
            // uses a partial index only for its own condition, written
            // the same way.
            let steps: Vec<PlanStep> = diesel::sql_query(format!(
                "EXPLAIN QUERY PLAN SELECT id FROM visit_event WHERE staff_id = ? \
                 AND {} AND occurred_at < ? ORDER BY occurred_at DESC LIMIT 3",
                visit_event::PAIR_KINDS
            ))
            .bind::<Text, _>(&ids[0])
            .bind::<Timestamp, _>(t)
            .load(s)
            .unwrap();
            let plan: String = steps.into_iter().map(|s| s.detail + "\n").collect();
            assert!(plan.contains("visit_event_staff_pair_idx"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}

/// The pairing's window reads and its reads of visits' shares and services
/// are kept prepared: on SQLite preparing them was a large part of each
/// read (a `sql` literal in them made diesel prepare them on every call),
/// on PostgreSQL parsing and planning them.
#[test]
fn pairing_reads_are_kept_prepared() {
    use diesel::connection::{Connection, InstrumentationEvent};
    let db = TestDb::new();
    let mut conn = db.connect();
    let cached = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = cached.clone();
    conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::CacheQuery { sql, .. } = e {
            seen.lock().unwrap().push(sql.to_string());
        }
    });
    let t = d(2026, 11, 23).and_hms_opt(9, 0, 0).unwrap();
    for _ in 0..3 {
        visit_event::window_span(&mut conn, "nobody", t, t, 8, 8).unwrap();
        visit::attribution(&mut conn, "nothing").unwrap();
    }
    let count = |part: &str| {
        cached
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| sql.contains(part))
            .count()
    };
    let (windows, lists) = (count(visit_event::PAIR_KINDS), count("json_each"));
    match conn {
        // The reads before and from the instant, and of the shares and the
        // services, each prepared once.
        DbConn::Sqlite(_) => assert_eq!((windows, lists), (2, 2)),
        // The same reads, and the shares' and services' by one index
        // lookup per visit (`unnest`), each prepared once.
        DbConn::Pg(_) => assert_eq!((windows, lists, count("CROSS JOIN LATERAL")), (2, 0, 2)),
    }
}

#[test]
fn a_closed_vocabulary_reads_its_text_and_refuses_any_other() {
    use crate::model::{AlertKind, VisitStatus};
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let db = TestDb::empty();
    let mut conn = db.connect();
    let read = |conn: &mut DbConn, text: &str| {
        diesel::select(sql::<Text>(&format!("'{text}'"))).get_result::<VisitStatus>(conn)
    };
    assert_eq!(
        read(&mut conn, "exception").unwrap(),
        VisitStatus::Exception
    );
    // Another text is an error to handle, not a value nor a panic.
    let err = read(&mut conn, "Closed").unwrap_err();
    assert!(
        matches!(err, diesel::result::Error::DeserializationError(_)),
        "{err:?}"
    );
    assert!(format!("{err:?}").contains("VisitStatus"), "{err:?}");
    // Bound as a parameter, the text goes in as it comes out.
    let back: String = diesel::select(sql::<Text>("").bind::<Text, _>(AlertKind::PaceWarning))
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(back, "pace_warning");
}
