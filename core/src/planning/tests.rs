//! The plan files a planning system or a spreadsheet writes, read and
//! stored on a real database.

use super::*;
use crate::db::testing::TestDb;
use crate::seed;
use chrono::{NaiveDate, TimeZone};

const CLIENT: &str = "8f7c1d2e-3b4a-4c5d-8e6f-708192a3b4c5";
const STAFF: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn fields(v: &ValidationErrors) -> Vec<(String, String)> {
    v.0.iter()
        .map(|e| (e.field.clone(), e.code.clone()))
        .collect()
}

#[test]
fn a_spreadsheets_semicolon_file_reads_in_local_time() {
    // A BOM, semicolons, columns in another order, Swedish yes and no,
    // service codes with spaces, two care workers, a window across
    // midnight.
    let text = format!(
        "\u{feff}client_id;planner_ref;date;earliest_start;latest_start;expected_minutes;services;staff;double_staffing;time_critical;tolerance_minutes\n\
         {CLIENT};TES-1;2026-11-23;07:00;07:30;30;O-Personlig hygien|O-Duschhjälp;{STAFF}|{CLIENT};ja;nej;\n\
         {CLIENT};TES-2;2026-11-23;23:30;00:15;20;;;;JA;3\n"
    );
    let (rows, faults) = from_csv(text.as_bytes(), crate::domain::STOCKHOLM);
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(rows.len(), 2);
    let (row, first) = &rows[0];
    assert_eq!(*row, 2);
    assert_eq!(first.planner_ref, "TES-1");
    assert_eq!(first.client_id.to_string(), CLIENT);
    assert_eq!(first.earliest_start, utc(2026, 11, 23, 6, 0));
    assert_eq!(first.latest_start, utc(2026, 11, 23, 6, 30));
    assert_eq!(first.expected_minutes, 30);
    assert_eq!(first.services, ["O-Personlig hygien", "O-Duschhjälp"]);
    assert_eq!(first.staff.len(), 2);
    assert!(first.double_staffing && !first.time_critical);
    assert_eq!(first.tolerance_minutes, None);
    let (row, second) = &rows[1];
    assert_eq!(*row, 3);
    assert_eq!(second.earliest_start, utc(2026, 11, 23, 22, 30));
    assert_eq!(second.latest_start, utc(2026, 11, 23, 23, 15));
    assert!(second.services.is_empty() && second.staff.is_empty());
    assert!(second.time_critical);
    assert_eq!(second.tolerance_minutes, Some(3));
}

#[test]
fn a_faulty_header_reads_no_rows_and_names_each_column() {
    let text = format!(
        "planner_ref,client,date,earliest_start,latest_start,colour\nA,{CLIENT},2026-11-23,07:00,07:30,red\n"
    );
    let (rows, faults) = from_csv(text.as_bytes(), crate::domain::STOCKHOLM);
    assert!(rows.is_empty());
    let got = fields(&faults);
    for want in [
        ("header.client", "unknown_column"),
        ("header.colour", "unknown_column"),
        ("header.client_id", "missing_column"),
        ("header.expected_minutes", "missing_column"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {got:?}"
        );
    }
}

#[test]
fn each_faulty_row_is_named_by_its_spreadsheet_row_and_the_rest_read() {
    let head = "planner_ref,client_id,date,earliest_start,latest_start,expected_minutes,staff,time_critical";
    let text = format!(
        "{head}\n\
         ok-1,{CLIENT},2026-11-23,07:00,07:30,30,,\n\
         bad-time,{CLIENT},2026-11-23,7.00,07:30,30,,\n\
         bad-date,{CLIENT},23/11/2026,07:00,07:30,30,,\n\
         spring-gap,{CLIENT},2027-03-28,02:30,02:45,30,,\n\
         short,{CLIENT},2026-11-23\n\
         bad-staff,{CLIENT},2026-11-23,07:00,07:30,30,{STAFF}|anna,\n\
         bad-flag,{CLIENT},2026-11-23,07:00,07:30,thirty,,kanske\n\
         \"ok, 2\",{CLIENT},2026-11-23,08:00,08:30,30,,1\n"
    );
    let (rows, faults) = from_csv(text.as_bytes(), crate::domain::STOCKHOLM);
    let refs: Vec<(usize, &str)> = rows
        .iter()
        .map(|(r, p)| (*r, p.planner_ref.as_str()))
        .collect();
    assert_eq!(refs, [(2, "ok-1"), (9, "ok, 2")]);
    assert_eq!(
        fields(&faults),
        [
            ("rows[3].earliest_start", "invalid_time"),
            ("rows[4].date", "invalid_date"),
            ("rows[5].earliest_start", "nonexistent_local_time"),
            ("rows[5].latest_start", "nonexistent_local_time"),
            ("rows[6]", "wrong_field_count"),
            ("rows[7].staff[1]", "invalid_uuid"),
            ("rows[8].expected_minutes", "invalid_number"),
            ("rows[8].time_critical", "invalid_boolean"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
}

#[test]
fn a_time_the_clocks_pass_twice_is_its_first_and_other_encodings_are_refused() {
    let text = format!(
        "planner_ref,client_id,date,earliest_start,latest_start,expected_minutes\n\
         autumn,{CLIENT},2026-10-25,02:30,02:45,30\n"
    );
    let (rows, faults) = from_csv(text.as_bytes(), crate::domain::STOCKHOLM);
    assert!(faults.is_empty(), "{faults:?}");
    // 02:30 summer time (UTC+2), not the second 02:30 (UTC+1).
    assert_eq!(rows[0].1.earliest_start, utc(2026, 10, 25, 0, 30));
    // Windows-1252 (a spreadsheet's "CSV" without UTF-8): refused whole.
    let latin1 = b"planner_ref,client_id\nH\xe4lsa,x\n";
    let (rows, faults) = from_csv(latin1, crate::domain::STOCKHOLM);
    assert!(rows.is_empty());
    assert_eq!(
        fields(&faults),
        [("file".to_string(), "not_utf8".to_string())]
    );
}

#[test]
fn an_imported_file_is_stored_once_and_a_faulty_one_not_at_all() {
    let db = TestDb::new();
    let mut c = db.connect();
    let demo = seed::demo(&mut c, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()).unwrap();
    let m = demo.municipality.id;
    let anna = user_account::find_by_username(&mut c, "demo.anna")
        .unwrap()
        .unwrap();
    let provider_id = anna.fields.provider_id.clone().unwrap().to_string();
    let lisa = client::list(&mut c, &m)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap()
        .id;
    let now = utc(2026, 11, 22, 12, 0);
    let text = format!(
        "planner_ref;client_id;date;earliest_start;latest_start;expected_minutes;services;staff\n\
         TES-1;{lisa};2026-11-23;07:00;07:30;30;O-Duschhjälp;{}\n\
         TES-2;{lisa};2026-11-23;12:00;12:30;20;;\n",
        anna.id
    );
    let stored = import_csv(&mut c, &m, &provider_id, text.as_bytes(), false, now).unwrap();
    assert_eq!(
        (stored.created, stored.updated, stored.unchanged),
        (2, 0, 0)
    );
    let again = import_csv(&mut c, &m, &provider_id, text.as_bytes(), true, now).unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged, again.removed),
        (0, 0, 2, 0)
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let plans = planned_visit::for_day(&mut c, &provider_id, day).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(
        plans[0].plan.earliest_start,
        utc(2026, 11, 23, 6, 0).naive_utc()
    );

    // One row unreadable, one of an unknown client and service: nothing
    // of the file is stored, and both rows are named.
    let faulty = format!(
        "planner_ref,client_id,date,earliest_start,latest_start,expected_minutes,services\n\
         TES-3,{lisa},2026-11-24,07:00,07:30,30,\n\
         TES-4,{lisa},2026-11-24,25:00,07:30,30,\n\
         TES-5,{CLIENT},2026-11-24,08:00,08:30,30,O-Trollkonst\n"
    );
    let Err(ImportError::Invalid(v)) =
        import_csv(&mut c, &m, &provider_id, faulty.as_bytes(), false, now)
    else {
        panic!("a faulty file was stored");
    };
    assert_eq!(
        fields(&v),
        [
            ("rows[3].earliest_start", "invalid_time"),
            ("rows[4].client_id", "unknown_client"),
            ("rows[4].services[0]", "unknown_service"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let next = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    assert!(
        planned_visit::for_day(&mut c, &provider_id, next)
            .unwrap()
            .is_empty()
    );
}
