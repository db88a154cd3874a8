//! The month per KSI code (the national classification of social care
//! interventions), for the statistics the municipality reports.

use super::csv::csv;
use super::{Filter, covered, names};
use crate::db::client_month::{self, OrderedMonth};
use crate::db::municipality::Municipality;
use crate::db::schema::service;
use crate::db::{DbConn, StoreError, figure};
use crate::domain::figures::WHOLE;
use crate::domain::performed::minutes;
use crate::domain::{YearMonth, format_hm};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One KSI code's month: the ordered and performed time of the catalogue
/// services that carry it, over the clients the filter covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KsiRow {
    /// The code (`SNH RB ZZ`); unset for the services without one.
    pub ksi_code: Option<String>,
    /// The catalogue codes of the services in the group.
    pub services: Vec<String>,
    /// Clients with time ordered or performed in the group.
    pub clients: usize,
    /// The services' ordered minutes, from the order lines (under a frame
    /// decision the lines need not add up to the frame, R8).
    pub ordered_minutes: i64,
    pub performed_minutes: i64,
    /// Of the performed minutes, those of services offered without a
    /// needs decision (SoL 2025:400).
    pub without_decision_minutes: i64,
    pub ordered: String,
    pub performed: String,
}

/// The month's ordered and performed time per KSI code of the services
/// (Socialstyrelsen's classification), for the clients `f` covers.
/// Performed time of visits without services has no code and is left
/// out; the monthly report has each client's whole time.
pub fn monthly_by_ksi(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    f: &Filter,
) -> Result<Vec<KsiRow>, StoreError> {
    let names = names(c, m)?;
    let ordered = client_month::ordered_for_municipality(c, m, month)?;
    let catalogue: HashMap<String, (String, Option<String>, bool)> = service::table
        .filter(service::municipality_id.eq(&m.id))
        .select((
            service::id,
            service::code,
            service::ksi_code,
            service::without_decision,
        ))
        .load::<(String, String, Option<String>, bool)>(c)?
        .into_iter()
        .map(|(id, code, ksi, undecided)| (id, (code, ksi, undecided)))
        .collect();
    #[derive(Default)]
    struct Sum {
        services: BTreeSet<String>,
        clients: BTreeSet<String>,
        ordered: i64,
        performed: i64,
        undecided: i64,
    }
    let mut groups: BTreeMap<Option<String>, Sum> = BTreeMap::new();
    let empty = OrderedMonth::default();
    let mut covers: HashMap<String, bool> = HashMap::new();
    let mut is_covered = |id: &str| {
        *covers
            .entry(id.to_string())
            .or_insert_with(|| covered(f, &names, id, ordered.get(id).unwrap_or(&empty)).is_some())
    };
    for (client_id, o) in &ordered {
        if !is_covered(client_id) {
            continue;
        }
        for (sid, minutes) in &o.by_service {
            let Some((code, ksi, _)) = catalogue.get(sid) else {
                continue;
            };
            let g = groups.entry(ksi.clone()).or_default();
            g.services.insert(code.clone());
            g.clients.insert(client_id.clone());
            g.ordered += minutes;
        }
    }
    let mut seconds: BTreeMap<Option<String>, (i64, i64)> = BTreeMap::new();
    for (client_id, _, sid, a) in figure::municipality_month(c, &m.id, month)? {
        if sid == WHOLE || !is_covered(&client_id) {
            continue;
        }
        let Some((code, ksi, undecided)) = catalogue.get(&sid) else {
            continue;
        };
        let g = groups.entry(ksi.clone()).or_default();
        g.services.insert(code.clone());
        g.clients.insert(client_id);
        let s = seconds.entry(ksi.clone()).or_default();
        s.0 += a.seconds;
        if *undecided {
            s.1 += a.seconds;
        }
    }
    for (k, (all, undecided)) in seconds {
        if let Some(g) = groups.get_mut(&k) {
            g.performed = minutes(all);
            g.undecided = minutes(undecided);
        }
    }
    // Coded groups first, in code order; the uncoded last.
    let mut rows: Vec<KsiRow> = groups
        .into_iter()
        .map(|(k, g)| KsiRow {
            ksi_code: k,
            services: g.services.into_iter().collect(),
            clients: g.clients.len(),
            ordered_minutes: g.ordered,
            performed_minutes: g.performed,
            without_decision_minutes: g.undecided,
            ordered: format_hm(g.ordered),
            performed: format_hm(g.performed),
        })
        .collect();
    rows.sort_by_key(|r| (r.ksi_code.is_none(), r.ksi_code.clone()));
    Ok(rows)
}

/// The KSI report as CSV.
pub fn ksi_csv(rows: &[KsiRow]) -> String {
    csv(
        &[
            "KSI-kod",
            "Insatser",
            "Brukare",
            "Beställd tid",
            "Utförd tid",
            "Varav utan biståndsbeslut",
        ],
        rows.iter().map(|r| {
            vec![
                r.ksi_code.clone().unwrap_or_else(|| "Utan KSI-kod".into()),
                r.services.join(", "),
                r.clients.to_string(),
                r.ordered.clone(),
                r.performed.clone(),
                format_hm(r.without_decision_minutes),
            ]
        }),
    )
}
