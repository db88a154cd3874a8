//! What hemtid stored, against what the simulation sent.

use super::plan::{Expected, Plan};
use anyhow::Result;
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use hemtid_core::db::DbConn;
use hemtid_core::db::figure;
use hemtid_core::db::municipality::Municipality;
use hemtid_core::domain::YearMonth;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// One check and whether it held.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    source: String,
}

#[derive(diesel::QueryableByName)]
struct ClientRow {
    #[diesel(sql_type = Text)]
    client_id: String,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    seconds: i64,
}

fn count(c: &mut DbConn, sql: &str) -> Result<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(c)?.n)
}

/// How many of the simulation's events hemtid holds (to wait on).
pub fn stored_events(c: &mut DbConn, m: &Municipality) -> Result<i64> {
    count(
        c,
        &format!(
            "SELECT COUNT(*) AS n FROM visit_event WHERE client_id IN \
             (SELECT id FROM client WHERE municipality_id = '{}')",
            m.id
        ),
    )
}

/// Every check; all must hold.
pub fn run(
    c: &mut DbConn,
    m: &Municipality,
    plan: &Plan,
    days: &[chrono::NaiveDate],
) -> Result<Vec<Check>> {
    let mut out = Vec::new();
    let e: &Expected = &plan.expected;
    // The municipality id is ours (a UUID): safe to write into the SQL.
    let clients = format!("SELECT id FROM client WHERE municipality_id = '{}'", m.id);
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT event_id, source FROM visit_event WHERE client_id IN ({clients})"
    ))
    .load(c)?;
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids: HashSet<&str> = HashSet::new();
    let mut twice = 0;
    for r in &rows {
        *by_source.entry(r.source.clone()).or_default() += 1;
        if !ids.insert(r.event_id.as_str()) {
            twice += 1;
        }
    }
    let sent: BTreeSet<&str> = plan.device.iter().map(|d| d.event_id.as_str()).collect();
    let missing_device = sent.iter().filter(|id| !ids.contains(*id)).count();
    out.push(Check {
        name: "every lock event stored",
        ok: missing_device == 0 && by_source.get("device").copied().unwrap_or(0) == e.device_events,
        detail: format!(
            "{} sent, {} stored, {missing_device} missing",
            e.device_events,
            by_source.get("device").copied().unwrap_or(0)
        ),
    });
    out.push(Check {
        name: "every phone registration stored",
        ok: by_source.get("phone").copied().unwrap_or(0) == e.phone_events,
        detail: format!(
            "{} sent ({} of them late in offline batches), {} stored",
            e.phone_events,
            e.offline_items,
            by_source.get("phone").copied().unwrap_or(0)
        ),
    });
    out.push(Check {
        name: "no event stored twice",
        ok: twice == 0,
        detail: format!("{twice} event ids more than once among {}", rows.len()),
    });
    let stored: Vec<ClientRow> = diesel::sql_query(format!(
        "SELECT client_id, COUNT(*) AS visits, CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds \
         FROM visit WHERE client_id IN ({clients}) AND ended_at IS NOT NULL AND NOT voided \
         GROUP BY client_id"
    ))
    .load(c)?;
    let stored: BTreeMap<String, (i64, i64)> = stored
        .into_iter()
        .map(|r| (r.client_id, (r.visits, r.seconds)))
        .collect();
    let differing: Vec<String> = e
        .by_client
        .iter()
        .filter(|(k, v)| stored.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: sent {v:?}, stored {:?}", stored.get(k)))
        .chain(
            stored
                .keys()
                .filter(|k| !e.by_client.contains_key(*k))
                .map(|k| format!("{k}: not visited, stored {:?}", stored.get(k))),
        )
        .collect();
    let (visits, seconds) = stored.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    out.push(Check {
        name: "visits and their real elapsed time per client",
        ok: differing.is_empty(),
        detail: format!(
            "{} visits, {:.1} hours stored for {} clients; {} differ{}",
            visits,
            seconds as f64 / 3600.0,
            stored.len(),
            differing.len(),
            differing
                .first()
                .map(|d| format!(", e.g. {d}"))
                .unwrap_or_default()
        ),
    });
    let open = count(
        c,
        &format!(
            "SELECT COUNT(*) AS n FROM visit WHERE client_id IN ({clients}) AND ended_at IS NULL"
        ),
    )?;
    out.push(Check {
        name: "no visit left open",
        ok: open == 0,
        detail: format!("{open} open"),
    });
    let double = count(
        c,
        &format!(
            "SELECT COUNT(*) AS n FROM visit WHERE client_id IN ({clients}) AND double_staffing"
        ),
    )?;
    out.push(Check {
        name: "double staffing recognised",
        ok: double == e.double_staffing_marked as i64,
        detail: format!(
            "{} visits joined by a second worker, {} of them on the phone marked so; {double} stored as double-staffed",
            e.double_staffed_visits, e.double_staffing_marked
        ),
    });
    let dead = count(
        c,
        &format!(
            "SELECT COUNT(*) AS n FROM dead_letter WHERE device_id IN \
             (SELECT id FROM device WHERE municipality_id = '{}')",
            m.id
        ),
    )?;
    let reasons: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT reason AS event_id, MIN(detail) AS source FROM dead_letter WHERE device_id IN \
         (SELECT id FROM device WHERE municipality_id = '{}') GROUP BY reason",
        m.id
    ))
    .load(c)?;
    out.push(Check {
        name: "no dead letters",
        ok: dead == 0,
        detail: format!(
            "{dead} dead letters from the simulated locks{}",
            reasons
                .iter()
                .map(|r| format!("; {}: {}", r.event_id, r.source))
                .collect::<String>()
        ),
    });
    // The incremental figures equal the figures computed from scratch.
    let rules = m
        .rules()
        .ok_or_else(|| anyhow::anyhow!("invalid time zone"))?;
    let months: BTreeSet<YearMonth> = days.iter().map(|d| YearMonth::of(*d)).collect();
    let mut months_differing = Vec::new();
    let mut cells = 0;
    for month in &months {
        let (computed, _, _) = figure::compute_month(c, m, *month, rules)?;
        let kept = figure::stored_month(c, m, *month)?;
        cells += kept.len();
        if computed != kept {
            months_differing.push(format!(
                "{month}: {} cells kept, {} computed",
                kept.len(),
                computed.len()
            ));
        }
        let computed = figure::compute_staff_month(c, m, *month, rules)?;
        let kept = figure::stored_staff_month(c, m, *month)?;
        if computed != kept {
            months_differing.push(format!(
                "{month}: {} measures' cells kept, {} computed",
                kept.len(),
                computed.len()
            ));
        }
    }
    out.push(Check {
        name: "incremental figures equal a rebuild",
        ok: months_differing.is_empty(),
        detail: if months_differing.is_empty() {
            format!("{} months, {cells} day cells", months.len())
        } else {
            months_differing.join("; ")
        },
    });
    Ok(out)
}
