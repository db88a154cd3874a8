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
use crate::db::schema::{
    absence, authority_unit, client, contact_person, provider, service, user_account, visit,
    visit_event, visit_service,
};
use crate::db::visit::Visit;
use crate::db::{DbConn, StoreError};
use crate::domain::PersonalNumber;
use crate::domain::continuity::{self, ContactShare, NATIONAL, National, VisitFact};
use crate::report::Filter;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Methods that verify a visit's end by themselves.
const VERIFYING: [&str; 2] = ["nfc", "lock"];

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
    pub client_id: String,
    pub client_name: String,
    pub provider_id: Option<String>,
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
        .select((
            client::id,
            client::given_name,
            client::family_name,
            client::personal_number,
            client::caseworker_id,
            client::provider_id,
        ))
        .load(c)?;
    let units_of: HashMap<String, Option<String>> = user_account::table
        .filter(user_account::municipality_id.eq(&m.id))
        .select((user_account::id, user_account::authority_unit_id))
        .load::<(String, Option<String>)>(c)?
        .into_iter()
        .collect();
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
            .is_none_or(|p| Some(p) == provider_id.as_ref())
            && f.caseworker_id
                .as_ref()
                .is_none_or(|cw| Some(cw) == caseworker.as_ref())
            && f.unit_id.as_ref().is_none_or(|u| Some(u) == unit.as_ref());
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
    // The span's visits of those clients, not voided.
    let visits: Vec<Visit> = visit::table
        .inner_join(client::table.on(client::id.eq(visit::client_id)))
        .filter(client::municipality_id.eq(&m.id))
        .filter(visit::local_date.between(from, to))
        .filter(visit::voided.eq(false))
        .select(Visit::as_select())
        .load(c)?;
    let visits: Vec<Visit> = visits
        .into_iter()
        .filter(|v| who.contains_key(&v.fields.client_id) && v.start().is_some())
        .collect();
    // How each end was registered: method and source of its event.
    let event_ids: Vec<&str> = visits
        .iter()
        .flat_map(|v| [&v.fields.check_in_event_id, &v.fields.check_out_event_id])
        .flatten()
        .map(String::as_str)
        .collect();
    let mut events: HashMap<String, (Option<String>, String)> = HashMap::new();
    for chunk in event_ids.chunks(5_000) {
        for (id, method, source) in visit_event::table
            .filter(visit_event::id.eq_any(chunk))
            .select((visit_event::id, visit_event::method, visit_event::source))
            .load::<(String, Option<String>, String)>(c)?
        {
            events.insert(id, (method, source));
        }
    }
    // Services of each visit: whether it had any, and whether only ones
    // the measure leaves out.
    let visit_ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut kinds: HashMap<String, (bool, bool)> = HashMap::new(); // (any, all excluded)
    for chunk in visit_ids.chunks(5_000) {
        for (vid, excluded) in visit_service::table
            .inner_join(service::table.on(service::id.eq(visit_service::service_id)))
            .filter(visit_service::visit_id.eq_any(chunk))
            .filter(visit_service::declined.eq(false))
            .select((visit_service::visit_id, service::continuity_excluded))
            .load::<(String, bool)>(c)?
        {
            let k = kinds.entry(vid).or_insert((false, true));
            k.0 = true;
            k.1 &= excluded;
        }
    }
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
    // Contact persons and deputies at the client's provider (R13).
    let mut contacts: HashMap<String, Vec<String>> = HashMap::new();
    for (client_id, provider_id, user, deputy) in contact_person::table
        .select((
            contact_person::client_id,
            contact_person::provider_id,
            contact_person::user_id,
            contact_person::deputy_user_id,
        ))
        .load::<(String, String, String, Option<String>)>(c)?
    {
        if who
            .get(&client_id)
            .is_some_and(|w| w.provider.as_deref() == Some(provider_id.as_str()))
        {
            contacts
                .entry(client_id)
                .or_default()
                .extend(std::iter::once(user).chain(deputy));
        }
    }
    // Per client.
    let mut by_client: HashMap<&str, Vec<(&Visit, VisitFact<'_>)>> = HashMap::new();
    for v in &visits {
        let Some(start) = v.start() else { continue };
        let local = start.and_utc().with_timezone(&tz).naive_local();
        let (any, all_excluded) = kinds.get(&v.id).copied().unwrap_or((false, false));
        by_client
            .entry(v.fields.client_id.as_str())
            .or_default()
            .push((
                v,
                VisitFact {
                    client_id: &v.fields.client_id,
                    staff_id: &v.fields.staff_id,
                    start: local,
                    seconds: v.elapsed_seconds().unwrap_or(0),
                    excluded_only: any && all_excluded,
                },
            ));
    }
    let verified = |v: &Visit| -> bool {
        let end = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| events.get(id))
                .is_some_and(|(method, source)| {
                    source != "entry" && method.as_deref().is_some_and(|m| VERIFYING.contains(&m))
                })
        };
        !v.corrected() && end(&v.fields.check_in_event_id) && end(&v.fields.check_out_event_id)
    };
    let window: HashSet<NaiveDate> = from
        .iter_days()
        .take(continuity::WINDOW_DAYS as usize)
        .collect();
    let mut rows = Vec::with_capacity(who.len());
    let mut sums: BTreeMap<&str, Sums> = BTreeMap::new();
    for (id, w) in &who {
        let mine = by_client.get(id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        // The visits that happened and count as performed.
        let counted: Vec<&(&Visit, VisitFact<'_>)> =
            mine.iter().filter(|(v, _)| v.counts()).collect();
        let facts: Vec<VisitFact<'_>> = counted.iter().map(|(_, f)| f.clone()).collect();
        let mine_contacts: Vec<&str> = contacts
            .get(id)
            .map(|c| c.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let contact = continuity::contact_share(&facts, &mine_contacts);
        let verified_n = counted.iter().filter(|(v, _)| verified(v)).count() as i64;
        // Personalkontinuitet in the first 14 days.
        let in_window: Vec<VisitFact<'_>> = facts
            .iter()
            .filter(|f| window.contains(&f.start.date()))
            .cloned()
            .collect();
        let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for f in &in_window {
            *per_day.entry(f.start.date()).or_default() += 1;
        }
        let empty = BTreeSet::new();
        let in_population =
            continuity::in_population(w.born, absent.get(id).unwrap_or(&empty), &per_day, from);
        let met = in_population.then(|| {
            continuity::staff_met(&in_window)
                .get(id.as_str())
                .copied()
                .unwrap_or(0)
        });
        rows.push(ClientMeasures {
            client_id: id.clone(),
            client_name: w.name.clone(),
            provider_id: w.provider.clone(),
            unit_id: w.unit.clone(),
            in_continuity_population: in_population,
            care_workers_met: met,
            visits: contact.visits,
            contact_visits_basis_points: contact.visits_basis_points(),
            contact_minutes_basis_points: contact.seconds_basis_points(),
            verified_basis_points: (contact.visits > 0)
                .then(|| verified_n * 10_000 / contact.visits),
        });
        sums.insert(
            id.as_str(),
            Sums {
                contact,
                verified: verified_n,
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
