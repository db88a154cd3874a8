//! The measures report: personalkontinuitet, fast omsorgskontakt and the
//! verification rate, per client, provider, authority unit and
//! municipality, for a span of local days. The definitions are in
//! [`crate::domain::continuity`].
//!
//! **Rule: who did what is never used to measure a care worker.** The
//! registrations of visits say which care worker was where, and the
//! staff's unions and the municipalities' own routines forbid using them
//! to judge individuals. Every figure here is per client or per group of
//! clients (provider, unit, municipality); none is grouped by, filtered
//! by or returned with a care worker's identity, and no endpoint may
//! report one per person (`api/src/tests/measures.rs` checks the contract
//! for it). Keep it so.

use crate::db::municipality::Municipality;
use crate::db::schema::{absence, authority_unit, client, provider};
use crate::db::{DbConn, StoreError};
use crate::domain::PersonalNumber;
use crate::domain::continuity::{self, ContactShare, NATIONAL, National};
use crate::model::{ClientId, ProviderId};
use crate::report::Filter;
use chrono::{NaiveDate, TimeZone};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A group's measures (the municipality, a provider, a unit).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMeasures {
    /// The provider's or unit's id; unset for the municipality.
    pub id: Option<String>,
    pub name: String,
    /// Clients in personalkontinuitet's population (65+, at home, two
    /// visits every day) in the first 14 days of the span.
    pub continuity_clients: usize,
    /// Their mean number of different care workers met.
    pub continuity_mean: Option<f64>,
    /// Visits that count, and those the contact person or deputy made.
    pub visits: i64,
    pub contact_visits: i64,
    /// Basis points of the visits and of their time made by the contact
    /// person or deputy (fast omsorgskontakt).
    pub contact_visits_basis_points: Option<i64>,
    pub contact_minutes_basis_points: Option<i64>,
    /// Visits verified at both ends by a lock or an NFC tag, neither
    /// corrected nor entered afterwards, and their share.
    pub verified_visits: i64,
    pub verified_basis_points: Option<i64>,
}

/// A client's measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientMeasures {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_id: ClientId,
    pub client_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider_id: Option<ProviderId>,
    pub unit_id: Option<String>,
    /// In personalkontinuitet's population for the first 14 days.
    pub in_continuity_population: bool,
    /// Different care workers met in those 14 days (07:00–22:00, without
    /// alarm visits and meal deliveries); set in the population only.
    pub care_workers_met: Option<usize>,
    pub visits: i64,
    pub contact_visits_basis_points: Option<i64>,
    pub contact_minutes_basis_points: Option<i64>,
    pub verified_basis_points: Option<i64>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Measures {
    pub from: NaiveDate,
    /// The last day, inclusive.
    pub to: NaiveDate,
    /// Personalkontinuitet's window: `from` and the 13 days after.
    pub continuity_to: NaiveDate,
    /// The national figure beside the municipality's.
    pub national: National,
    pub municipality: GroupMeasures,
    pub providers: Vec<GroupMeasures>,
    pub units: Vec<GroupMeasures>,
    pub clients: Vec<ClientMeasures>,
}

/// A client as read: id, given and family name, personal number,
/// caseworker, provider.
type ClientRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// What is summed per client before the groups.
#[derive(Default)]
struct Sums {
    contact: ContactShare,
    verified: i64,
    met: Option<usize>,
}

/// The measures of the municipality's clients (those `f` covers) for the
/// local days `from`..=`to`; `today` decides ages' centuries.
pub fn measures(
    c: &mut DbConn,
    m: &Municipality,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    f: &Filter,
) -> Result<Measures, StoreError> {
    let tz = m.tz().unwrap_or(crate::domain::STOCKHOLM);
    let continuity_to = from + chrono::Days::new(u64::from(continuity::WINDOW_DAYS) - 1);
    // The clients, their caseworkers' units, names.
    let clients: Vec<ClientRow> = client::table
        .filter(client::municipality_id.eq(&m.id))
        .filter(client::purged_at.is_null())
        .select((
            client::id,
            client::given_name,
            client::family_name,
            client::personal_number,
            client::caseworker_id,
            client::provider_id,
        ))
        .load(c)?;
    let units_of = crate::report::units_of_users(c, &m.id)?;
    let unit_names: HashMap<String, String> = authority_unit::table
        .filter(authority_unit::municipality_id.eq(&m.id))
        .select((authority_unit::id, authority_unit::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let provider_names: HashMap<String, String> = provider::table
        .filter(provider::municipality_id.eq(&m.id))
        .select((provider::id, provider::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    struct Who {
        name: String,
        born: Option<NaiveDate>,
        provider: Option<String>,
        unit: Option<String>,
    }
    let mut who: BTreeMap<String, Who> = BTreeMap::new();
    for (id, given, family, pn, caseworker, provider_id) in clients {
        let unit = caseworker
            .as_ref()
            .and_then(|cw| units_of.get(cw).cloned().flatten());
        let covered = f
            .provider_id
            .as_ref()
            .is_none_or(|p| Some(p.as_str()) == provider_id.as_deref())
            && f.covers_caseworker(caseworker.as_deref(), unit.as_deref());
        if covered {
            who.insert(
                id,
                Who {
                    name: format!("{given} {family}"),
                    born: PersonalNumber::parse(&pn, today)
                        .ok()
                        .map(|p| p.birth_date()),
                    provider: provider_id,
                    unit,
                },
            );
        }
    }
    // The visits themselves are grouped by the database: per client, the
    // span's counted visits with their time, the contact person's and
    // deputy's share and the verified ones; and in personalkontinuitet's
    // window the days with two visits and the different care workers.
    let grouped = grouped(c, m, from, to, continuity_to, tz)?;
    // Absent days (hospital, away) in personalkontinuitet's window.
    let mut absent: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
    for (client_id, starts, ends) in absence::table
        .filter(absence::starts_on.le(continuity_to))
        .filter(absence::ends_on.is_null().or(absence::ends_on.ge(from)))
        .select((absence::client_id, absence::starts_on, absence::ends_on))
        .load::<(String, NaiveDate, Option<NaiveDate>)>(c)?
    {
        if !who.contains_key(&client_id) {
            continue;
        }
        let days = absent.entry(client_id).or_default();
        let end = ends.unwrap_or(continuity_to).min(continuity_to);
        for d in starts.max(from).iter_days().take_while(|d| *d <= end) {
            days.insert(d);
        }
    }
    let mut rows = Vec::with_capacity(who.len());
    let mut sums: BTreeMap<&str, Sums> = BTreeMap::new();
    for (id, w) in &who {
        let Grouped {
            contact,
            verified,
            full_days,
            staff,
        } = grouped.get(id).copied().unwrap_or_default();
        let empty = BTreeSet::new();
        let in_population =
            continuity::in_population(w.born, absent.get(id).unwrap_or(&empty), full_days, from);
        let met = in_population.then_some(staff);
        rows.push(ClientMeasures {
            client_id: id.clone().into(),
            client_name: w.name.clone(),
            provider_id: w.provider.clone().map(Into::into),
            unit_id: w.unit.clone(),
            in_continuity_population: in_population,
            care_workers_met: met,
            visits: contact.visits,
            contact_visits_basis_points: contact.visits_basis_points(),
            contact_minutes_basis_points: contact.seconds_basis_points(),
            verified_basis_points: (contact.visits > 0).then(|| verified * 10_000 / contact.visits),
        });
        sums.insert(
            id.as_str(),
            Sums {
                contact,
                verified,
                met,
            },
        );
    }
    let group = |id: Option<String>, name: String, members: &mut dyn Iterator<Item = &Sums>| {
        let mut contact = ContactShare::default();
        let mut verified = 0;
        let mut met = Vec::new();
        for s in members {
            contact.add(s.contact);
            verified += s.verified;
            met.extend(s.met);
        }
        GroupMeasures {
            id,
            name,
            continuity_clients: met.len(),
            continuity_mean: continuity::mean(met),
            visits: contact.visits,
            contact_visits: contact.contact_visits,
            contact_visits_basis_points: contact.visits_basis_points(),
            contact_minutes_basis_points: contact.seconds_basis_points(),
            verified_visits: verified,
            verified_basis_points: (contact.visits > 0).then(|| verified * 10_000 / contact.visits),
        }
    };
    let municipality = group(None, m.name.clone(), &mut sums.values());
    let mut providers = Vec::new();
    let provider_ids: BTreeSet<&str> = who.values().filter_map(|w| w.provider.as_deref()).collect();
    for p in provider_ids {
        let mut members = who
            .iter()
            .filter(|(_, w)| w.provider.as_deref() == Some(p))
            .filter_map(|(id, _)| sums.get(id.as_str()));
        providers.push(group(
            Some(p.to_string()),
            provider_names.get(p).cloned().unwrap_or_default(),
            &mut members,
        ));
    }
    let mut units = Vec::new();
    let unit_ids: BTreeSet<&str> = who.values().filter_map(|w| w.unit.as_deref()).collect();
    for u in unit_ids {
        let mut members = who
            .iter()
            .filter(|(_, w)| w.unit.as_deref() == Some(u))
            .filter_map(|(id, _)| sums.get(id.as_str()));
        units.push(group(
            Some(u.to_string()),
            unit_names.get(u).cloned().unwrap_or_default(),
            &mut members,
        ));
    }
    rows.sort_by(|a, b| {
        a.client_name
            .cmp(&b.client_name)
            .then(a.client_id.cmp(&b.client_id))
    });
    Ok(Measures {
        from,
        to,
        continuity_to,
        national: NATIONAL,
        municipality,
        providers,
        units,
        clients: rows,
    })
}

/// The condition of a visit that counts as performed ([`Visit::counts`]):
/// not voided, both ends known and in order, and closed, corrected or
/// approved. `v` is the visit's alias.
const COUNTED: &str = "NOT v.voided \
     AND COALESCE(v.corrected_started_at, v.started_at) IS NOT NULL \
     AND COALESCE(v.corrected_ended_at, v.ended_at) IS NOT NULL \
     AND COALESCE(v.corrected_ended_at, v.ended_at) >= COALESCE(v.corrected_started_at, v.started_at) \
     AND (v.status = 'closed' OR v.corrected_started_at IS NOT NULL \
          OR v.corrected_ended_at IS NOT NULL OR v.approved_at IS NOT NULL)";

#[derive(QueryableByName)]
struct ClientSums {
    #[diesel(sql_type = diesel::sql_types::Text)]
    client_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    visits: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seconds: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    contact_visits: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    contact_seconds: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    verified: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    staff: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    full_days: i64,
}

/// What one grouped query gives per client.
#[derive(Debug, Clone, Copy, Default)]
struct Grouped {
    contact: ContactShare,
    verified: i64,
    /// Days of personalkontinuitet's window with two counted visits.
    full_days: usize,
    /// Different care workers of the window's daytime visits.
    staff: usize,
}

/// Per client of the municipality, from the kept measures' figures
/// (`figure_staff_day`: per client, day and care worker) of the span
/// `from..=to` and the window: the counted visits' number and time, the
/// contact person's and deputy's (at the client's provider, R13), the
/// verified ones (both ends by lock or NFC, neither entered afterwards nor
/// corrected); and in personalkontinuitet's window `from..=window_to` the
/// days with two visits and the different care workers of the visits that
/// start 07:00–22:00 local time and are not only services the measure
/// leaves out ([`continuity::counts`]). For those left out, the day's
/// bounds are computed here, in the municipality's time zone, and passed
/// as a list of instants: the same SQL on both backends.
fn grouped(
    c: &mut DbConn,
    m: &Municipality,
    from: NaiveDate,
    to: NaiveDate,
    window_to: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<HashMap<String, Grouped>, StoreError> {
    let pg = matches!(c, DbConn::Pg(_));
    // Numbered on both backends: the VALUES list comes first in the text.
    let p = |i: usize| if pg { format!("${i}") } else { format!("?{i}") };
    // 07:00 and 22:00 on the local clock of each day, as UTC instants
    // (neither hour falls in a Swedish daylight-saving gap).
    let local = |d: NaiveDate, t: chrono::NaiveTime| {
        let r = tz.from_local_datetime(&d.and_time(t));
        r.earliest().or_else(|| r.latest()).map(|x| x.naive_utc())
    };
    let days: Vec<(NaiveDate, chrono::NaiveDateTime, chrono::NaiveDateTime)> = from
        .iter_days()
        .take_while(|d| *d <= window_to)
        .filter_map(|d| {
            Some((
                d,
                local(d, continuity::DAY_STARTS)?,
                local(d, continuity::DAY_ENDS)?,
            ))
        })
        .collect();
    // The VALUES list needs a row even if no day's bounds could be made:
    // one that matches no visit.
    let days = if days.is_empty() {
        let never = NaiveDate::MIN;
        vec![(
            never,
            never.and_time(chrono::NaiveTime::MIN),
            never.and_time(chrono::NaiveTime::MIN),
        )]
    } else {
        days
    };
    // PostgreSQL types a VALUES list of parameters by its first use.
    let typed = |i: usize, t: &str| {
        if pg {
            format!("CAST({} AS {t})", p(i))
        } else {
            p(i)
        }
    };
    const FIRST: usize = 6;
    let values: Vec<String> = (0..days.len())
        .map(|k| {
            format!(
                "({}, {}, {})",
                typed(FIRST + 3 * k, "DATE"),
                typed(FIRST + 3 * k + 1, "TIMESTAMP"),
                typed(FIRST + 3 * k + 2, "TIMESTAMP")
            )
        })
        .collect();
    let values = values.join(", ");
    let start = "COALESCE(v.corrected_started_at, v.started_at)";
    let (m_id, from_p, upto_p, window_p, to_p) = (p(1), p(2), p(3), p(4), p(5));
    let daily = continuity::DAILY_VISITS;
    // The kept figures per client, day and care worker
    // (`figure_staff_day`, maintained with the other figures) give
    // everything but one thing: whether a daytime visit was made only of
    // services the measure leaves out, which a catalogue setting decides.
    // `excluded` counts those visits of the window per client, day and
    // care worker, found from those services' few rows, not by a look at
    // every visit's services; a care worker is met on a day when some of
    // the day's daytime visits are not among them. Summed per care worker
    // first and then per client (a count of rows, not a `COUNT(DISTINCT)`
    // that sorts): at 20,000 clients' month, 516 ms became 228.
    // The services left out, as parameters: with the ids themselves the
    // planner finds their few rows by index (asked by a subquery, it
    // guessed a share of all rows and read every visit's services).
    let left_out: Vec<String> = crate::db::schema::service::table
        .filter(crate::db::schema::service::municipality_id.eq(&m.id))
        .filter(crate::db::schema::service::continuity_excluded.eq(true))
        .select(crate::db::schema::service::id)
        .load(c)?;
    let first_left_out = FIRST + 3 * days.len();
    let left_out_list: Vec<String> = (0..left_out.len()).map(|k| p(first_left_out + k)).collect();
    // Without any, nothing is left out.
    let excluded = if left_out.is_empty() {
        "excluded AS (SELECT client_id, local_date, staff_id, 0 AS n FROM figure_staff_day WHERE 1 = 0), "
            .to_string()
    } else {
        format!(
            "excluded AS (SELECT v.client_id, v.local_date, v.staff_id, COUNT(*) AS n \
               FROM visit v JOIN days d ON d.day = v.local_date \
               WHERE v.id IN (SELECT vs.visit_id FROM visit_service vs \
                 WHERE NOT vs.declined AND vs.service_id IN ({}) \
                 AND NOT EXISTS (SELECT 1 FROM visit_service o JOIN service s ON s.id = o.service_id \
                   WHERE o.visit_id = vs.visit_id AND NOT o.declined AND NOT s.continuity_excluded)) \
               AND {COUNTED} AND {start} >= d.lo AND {start} < d.hi \
               GROUP BY v.client_id, v.local_date, v.staff_id), ",
            left_out_list.join(", ")
        )
    };
    let sql = format!(
        "WITH days (day, lo, hi) AS (VALUES {values}), {excluded}\
         cells AS ( \
           SELECT f.client_id, f.staff_id, f.visits, f.seconds, f.verified, \
             CASE WHEN f.local_date <= {to_p} THEN 1 ELSE 0 END AS in_span, \
             CASE WHEN cp.user_id = f.staff_id OR cp.deputy_user_id = f.staff_id THEN 1 ELSE 0 END AS contact, \
             CASE WHEN f.local_date <= {window_p} AND f.daytime > COALESCE(e.n, 0) \
               THEN 1 ELSE 0 END AS met \
           FROM figure_staff_day f JOIN client c ON c.id = f.client_id \
           LEFT JOIN contact_person cp ON cp.client_id = f.client_id AND cp.provider_id = c.provider_id \
           LEFT JOIN excluded e ON e.client_id = f.client_id AND e.local_date = f.local_date \
             AND e.staff_id = f.staff_id \
           WHERE c.municipality_id = {m_id} AND f.local_date BETWEEN {from_p} AND {upto_p}), \
         per_staff AS (SELECT client_id, SUM(in_span * visits) AS visits, \
           SUM(in_span * seconds) AS seconds, SUM(in_span * contact * visits) AS contact_visits, \
           SUM(in_span * contact * seconds) AS contact_seconds, SUM(in_span * verified) AS verified, \
           MAX(met) AS met \
           FROM cells GROUP BY client_id, staff_id), \
         sums AS (SELECT client_id, SUM(visits) AS visits, SUM(seconds) AS seconds, \
           SUM(contact_visits) AS contact_visits, SUM(contact_seconds) AS contact_seconds, \
           SUM(verified) AS verified, SUM(met) AS staff \
           FROM per_staff GROUP BY client_id), \
         full_days AS (SELECT client_id, SUM(CASE WHEN n >= {daily} THEN 1 ELSE 0 END) AS n \
           FROM (SELECT f.client_id, f.local_date, SUM(f.visits) AS n \
                 FROM figure_staff_day f JOIN client c ON c.id = f.client_id \
                 WHERE c.municipality_id = {m_id} AND f.local_date BETWEEN {from_p} AND {window_p} \
                 GROUP BY f.client_id, f.local_date) per_day \
           GROUP BY client_id) \
         SELECT s.client_id AS client_id, CAST(COALESCE(s.visits, 0) AS BIGINT) AS visits, \
           CAST(COALESCE(s.seconds, 0) AS BIGINT) AS seconds, \
           CAST(COALESCE(s.contact_visits, 0) AS BIGINT) AS contact_visits, \
           CAST(COALESCE(s.contact_seconds, 0) AS BIGINT) AS contact_seconds, \
           CAST(COALESCE(s.verified, 0) AS BIGINT) AS verified, \
           CAST(COALESCE(s.staff, 0) AS BIGINT) AS staff, CAST(COALESCE(f.n, 0) AS BIGINT) AS full_days \
         FROM sums s LEFT JOIN full_days f ON f.client_id = s.client_id"
    );
    macro_rules! run {
        ($conn:expr, $backend:ty) => {{
            let mut q = diesel::sql_query(sql.as_str())
                .into_boxed::<$backend>()
                .bind::<diesel::sql_types::Text, _>(&m.id)
                .bind::<diesel::sql_types::Date, _>(from)
                .bind::<diesel::sql_types::Date, _>(to.max(window_to))
                .bind::<diesel::sql_types::Date, _>(window_to)
                .bind::<diesel::sql_types::Date, _>(to);
            for (day, lo, hi) in &days {
                q = q
                    .bind::<diesel::sql_types::Date, _>(*day)
                    .bind::<diesel::sql_types::Timestamp, _>(*lo)
                    .bind::<diesel::sql_types::Timestamp, _>(*hi);
            }
            for id in &left_out {
                q = q.bind::<diesel::sql_types::Text, _>(id);
            }
            q.load::<ClientSums>($conn)?
        }};
    }
    let rows = match c {
        DbConn::Pg(pg) => run!(pg, diesel::pg::Pg),
        DbConn::Sqlite(s) => run!(s, diesel::sqlite::Sqlite),
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.client_id,
                Grouped {
                    contact: ContactShare {
                        visits: r.visits,
                        contact_visits: r.contact_visits,
                        seconds: r.seconds,
                        contact_seconds: r.contact_seconds,
                    },
                    verified: r.verified,
                    full_days: usize::try_from(r.full_days).unwrap_or(0),
                    staff: usize::try_from(r.staff).unwrap_or(0),
                },
            )
        })
        .collect())
}

/// The clients' rows as CSV (Swedish headings, `;`).
pub fn clients_csv(r: &Measures) -> String {
    let pct = |bp: Option<i64>| {
        bp.map(|b| format!("{},{:02}", b / 100, b % 100))
            .unwrap_or_default()
    };
    // With a byte-order mark, as the other reports: Excel reads UTF-8 so.
    let mut out = String::from(
        "\u{feff}Brukare;Brukar-id;Utförare-id;I kontinuitetsmåttet;Antal personal (14 dagar);Besök;Kontaktpersonens andel besök %;Kontaktpersonens andel tid %;Verifierade besök %\n",
    );
    for c in &r.clients {
        out.push_str(&format!(
            "{};{};{};{};{};{};{};{};{}\n",
            crate::report::csv_field(&c.client_name),
            c.client_id,
            c.provider_id.as_deref().unwrap_or(""),
            if c.in_continuity_population {
                "ja"
            } else {
                "nej"
            },
            c.care_workers_met
                .map(|n| n.to_string())
                .unwrap_or_default(),
            c.visits,
            pct(c.contact_visits_basis_points),
            pct(c.contact_minutes_basis_points),
            pct(c.verified_basis_points),
        ));
    }
    out
}
