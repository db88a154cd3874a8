//! Monthly reports from the stored figures: performed against ordered per
//! client (R1, R3), the fee administrators' list of months above granted
//! time (R5), and the providers' payment basis per service group. A few
//! queries per report, whatever the number of clients.

use crate::db::client_month::{self, OrderedMonth};
use crate::db::municipality::Municipality;
use crate::db::schema::{absence, alert, client, explanation, provider, service, user_account};
use crate::db::{DbConn, Pool, StoreError, figure};
use crate::domain::figures::{Amounts, WHOLE};
use crate::domain::performed::minutes;
use crate::domain::variance::{self, MonthTime, Status};
use crate::domain::{YearMonth, format_hm};
use crate::model::{ClientId, ProviderId, UserId};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

mod csv;
mod ksi;
mod punctuality;

pub(crate) use csv::csv_field;
pub use csv::{fees_csv, monthly_csv, payment_csv};
pub use ksi::{KsiRow, ksi_csv, monthly_by_ksi};
pub use punctuality::{Punctuality, PunctualityGroup, punctuality, punctuality_csv};

/// Which clients a report covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Clients whose order in the month is this provider's.
    pub provider_id: Option<ProviderId>,
    /// Clients whose caseworker belongs to this authority unit.
    pub unit_id: Option<String>,
    pub caseworker_id: Option<UserId>,
}

impl Filter {
    /// Whether a client with `caseworker` (in `unit`) is within the
    /// filter's caseworker and unit.
    pub fn covers_caseworker(&self, caseworker: Option<&str>, unit: Option<&str>) -> bool {
        self.caseworker_id
            .as_ref()
            .is_none_or(|cw| Some(cw.as_str()) == caseworker)
            && self.unit_id.as_deref().is_none_or(|u| Some(u) == unit)
    }
}

/// Each user's authority unit, for the municipality's users: what a
/// client's caseworker gives the client's unit in the reports.
pub(crate) fn units_of_users(
    c: &mut DbConn,
    municipality_id: &str,
) -> Result<HashMap<String, Option<String>>, StoreError> {
    Ok(user_account::table
        .filter(user_account::municipality_id.eq(municipality_id))
        .select((user_account::id, user_account::authority_unit_id))
        .load::<(String, Option<String>)>(c)?
        .into_iter()
        .collect())
}

/// One client's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthlyRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_id: ClientId,
    pub client_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider_id: Option<ProviderId>,
    pub provider_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub caseworker_id: Option<UserId>,
    pub caseworker_name: Option<String>,
    /// `frame` or `per_service`.
    pub decision: String,
    pub ordered_minutes: i64,
    /// Ordered time of the days the client was away (a hospital stay).
    pub explained_minutes: i64,
    pub absent_days: usize,
    pub expected_minutes: i64,
    /// Performed minutes judged against the order: all but those of
    /// services offered without a needs decision.
    pub performed_minutes: i64,
    /// Performed minutes of services offered without a needs decision
    /// (SoL 2025:400): reported, outside the variance and the fees.
    pub without_decision_minutes: i64,
    pub variance_minutes: i64,
    /// Of the expected time, in basis points (−801 = −8,01 %).
    pub variance_basis_points: Option<i64>,
    /// `within_band`, `over` or `under` (R1; per service too under a
    /// per-service decision).
    pub status: Status,
    /// Performed minutes inside the frame window (R9).
    pub frame_window_minutes: i64,
    pub visits: i64,
    pub declined_visits: i64,
    /// The same figures as h:mm, as the orders write them.
    pub ordered: String,
    pub performed: String,
    pub variance: String,
    /// The provider's explanation: `submitted`, `approved` or `rejected`.
    pub explanation_state: Option<String>,
    pub explanation_cause: Option<String>,
    /// Alerts of the month not yet resolved, as `kind:state`.
    pub alerts: Vec<String>,
}

pub(super) struct Names {
    clients: HashMap<String, (String, Option<String>, Option<String>)>,
    providers: HashMap<String, String>,
    users: HashMap<String, (String, Option<String>)>,
}

pub(super) fn names(c: &mut DbConn, m: &Municipality) -> Result<Names, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select((
            client::id,
            client::given_name,
            client::family_name,
            client::caseworker_id,
            client::provider_id,
        ))
        .load::<(String, String, String, Option<String>, Option<String>)>(c)?
        .into_iter()
        .map(|(id, g, f, cw, p)| (id, (format!("{g} {f}"), cw, p)))
        .collect();
    let providers = provider::table
        .filter(provider::municipality_id.eq(&m.id))
        .select((provider::id, provider::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let users = user_account::table
        .filter(user_account::municipality_id.eq(&m.id))
        .select((
            user_account::id,
            user_account::display_name,
            user_account::authority_unit_id,
        ))
        .load::<(String, String, Option<String>)>(c)?
        .into_iter()
        .map(|(id, n, u)| (id, (n, u)))
        .collect();
    Ok(Names {
        clients,
        providers,
        users,
    })
}

/// Every client's performed against ordered time for `month`; absences
/// count up to `today` while they last.
pub fn monthly(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    today: NaiveDate,
    f: &Filter,
) -> Result<Vec<MonthlyRow>, StoreError> {
    monthly_with(c, None, m, month, today, f)
}

/// What the monthly report reads besides the ordered time.
pub(super) struct Performed {
    names: Names,
    totals: HashMap<String, Amounts>,
    by_service: HashMap<String, BTreeMap<String, i64>>,
    /// Services offered without a needs decision.
    undecided: BTreeSet<String>,
    absences: HashMap<String, BTreeSet<NaiveDate>>,
    explanations: HashMap<String, (String, String)>,
    alerts: HashMap<String, Vec<String>>,
}

/// [`monthly`]; with a pool, the ordered time is read on a second
/// connection (when one is free at once) while `c` reads the rest: the
/// two halves take about as long each.
pub fn monthly_with(
    c: &mut DbConn,
    pool: Option<&Pool>,
    m: &Municipality,
    month: YearMonth,
    today: NaiveDate,
    f: &Filter,
) -> Result<Vec<MonthlyRow>, StoreError> {
    let (ordered, performed) = match pool.and_then(|p| p.try_get()) {
        Some(mut second) => std::thread::scope(|s| {
            let ordered =
                s.spawn(move || client_month::ordered_for_municipality(&mut second, m, month));
            let performed = performed(c, m, month, today);
            let ordered = ordered
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok::<_, StoreError>((ordered?, performed?))
        })?,
        None => (
            client_month::ordered_for_municipality(c, m, month)?,
            performed(c, m, month, today)?,
        ),
    };
    let Performed {
        names,
        totals,
        by_service,
        undecided,
        absences,
        explanations,
        alerts,
    } = &performed;
    let tolerance = i64::from(m.settings.tolerance_basis_points);
    let days = month.days();
    // Rows are sorted by name at the end.
    let client_ids: HashSet<&String> = ordered.keys().chain(totals.keys()).collect();
    let row = |id: &String| -> Option<MonthlyRow> {
        let empty = OrderedMonth::default();
        let o = ordered.get(id).unwrap_or(&empty);
        let (name, caseworker, _) = names.clients.get(id)?;
        let provider_id = covered(f, names, id, o)?;
        let total = totals.get(id).copied().unwrap_or_default();
        let absent = absences.get(id).map_or(0, BTreeSet::len);
        let undecided_seconds: i64 = by_service.get(id).map_or(0, |s| {
            s.iter()
                .filter(|(sid, _)| undecided.contains(*sid))
                .map(|(_, secs)| secs)
                .sum()
        });
        let v = variance::judge_month(&MonthTime {
            ordered_minutes: o.minutes,
            ordered_by_service: Some(&o.by_service),
            performed_seconds: total.seconds,
            undecided_seconds,
            performed_by_service: by_service
                .get(id)
                .map(|s| s.iter().map(|(k, v)| (k.as_str(), *v)).collect())
                .unwrap_or_default(),
            frame: o.frame,
            absent_days: u32::try_from(absent).unwrap_or(days),
            days_in_month: days,
            tolerance_bp: tolerance,
        });
        let j = v.total;
        let exp = explanations.get(id);
        Some(MonthlyRow {
            client_id: id.clone().into(),
            client_name: name.clone(),
            provider_name: provider_id
                .as_ref()
                .and_then(|p| names.providers.get(p).cloned()),
            provider_id: provider_id.map(Into::into),
            caseworker_name: caseworker
                .as_ref()
                .and_then(|cw| names.users.get(cw))
                .map(|(n, _)| n.clone()),
            caseworker_id: caseworker.clone().map(Into::into),
            decision: if o.frame { "frame" } else { "per_service" }.into(),
            ordered_minutes: o.minutes,
            explained_minutes: v.explained_minutes,
            absent_days: absent,
            expected_minutes: j.expected_minutes,
            performed_minutes: j.performed_minutes,
            without_decision_minutes: minutes(undecided_seconds),
            variance_minutes: j.variance_minutes,
            variance_basis_points: j.variance_basis_points,
            status: v.status,
            frame_window_minutes: minutes(total.frame_seconds),
            visits: total.visits,
            declined_visits: total.declined,
            ordered: format_hm(o.minutes),
            performed: format_hm(j.performed_minutes),
            variance: format_hm(j.variance_minutes),
            explanation_state: exp.map(|(s, _)| s.clone()),
            explanation_cause: exp.map(|(_, c)| c.clone()),
            alerts: alerts.get(id).cloned().unwrap_or_default(),
        })
    };
    // Two halves on two threads: a large municipality has tens of
    // thousands of rows.
    let ids: Vec<&String> = client_ids.into_iter().collect();
    let (first, second) = ids.split_at(ids.len() / 2);
    let mut rows = std::thread::scope(|s| {
        let other = s.spawn(|| second.iter().filter_map(|id| row(id)).collect::<Vec<_>>());
        let mut rows: Vec<MonthlyRow> = first.iter().filter_map(|id| row(id)).collect();
        rows.extend(
            other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        rows
    });
    rows.sort_by(|a, b| {
        a.client_name
            .cmp(&b.client_name)
            .then(a.client_id.cmp(&b.client_id))
    });
    Ok(rows)
}

/// The client's provider in the month when `f` covers the client
/// (`Some(None)` for a covered client without one), `None` when it does
/// not.
pub(super) fn covered(
    f: &Filter,
    names: &Names,
    client_id: &str,
    o: &OrderedMonth,
) -> Option<Option<String>> {
    let (_, caseworker, client_provider) = names.clients.get(client_id)?;
    let provider_id = o
        .provider_id
        .clone()
        .or_else(|| client_provider.clone().map(Into::into));
    if f.provider_id
        .as_ref()
        .is_some_and(|p| Some(p) != provider_id.as_ref())
    {
        return None;
    }
    if f.caseworker_id
        .as_ref()
        .is_some_and(|cw| Some(cw.as_str()) != caseworker.as_deref())
    {
        return None;
    }
    if let Some(unit) = &f.unit_id {
        let unit_of = caseworker
            .as_ref()
            .and_then(|cw| names.users.get(cw))
            .and_then(|(_, u)| u.as_ref());
        if unit_of != Some(unit) {
            return None;
        }
    }
    Some(provider_id.map(String::from))
}

fn performed(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    today: NaiveDate,
) -> Result<Performed, StoreError> {
    let names = names(c, m)?;
    let mut totals: HashMap<String, Amounts> = HashMap::with_capacity(names.clients.len());
    let mut by_service: HashMap<String, BTreeMap<String, i64>> =
        HashMap::with_capacity(names.clients.len());
    for (client_id, _, service_id, a) in figure::municipality_month(c, &m.id, month)? {
        if service_id == WHOLE {
            totals.entry(client_id).or_default().add(a, 1);
        } else {
            *by_service
                .entry(client_id)
                .or_default()
                .entry(service_id)
                .or_default() += a.seconds;
        }
    }
    let undecided = crate::db::service::without_decision(c, &m.id)?;
    let absences = absent_days(c, m, month, today)?;
    let clients_of_m = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let explanations: HashMap<String, (String, String)> = explanation::table
        .filter(explanation::month.eq(month.to_string()))
        .filter(explanation::client_id.eq_any(clients_of_m))
        .select((
            explanation::client_id,
            explanation::state,
            explanation::cause,
        ))
        .load::<(String, String, String)>(c)?
        .into_iter()
        // One provider's approval is enough for R4; show the best state.
        .fold(HashMap::new(), |mut acc, (cl, state, cause)| {
            let keep = acc
                .get(&cl)
                .is_none_or(|(s, _): &(String, String)| s != "approved");
            if keep {
                acc.insert(cl, (state, cause));
            }
            acc
        });
    let mut alerts: HashMap<String, Vec<String>> = HashMap::new();
    for (cl, kind, state) in alert::table
        .filter(alert::municipality_id.eq(&m.id))
        .filter(alert::month.eq(month.to_string()))
        .filter(alert::state.ne(crate::model::AlertState::Resolved))
        .order((alert::client_id, alert::kind))
        .select((alert::client_id, alert::kind, alert::state))
        .load::<(String, String, String)>(c)?
    {
        alerts
            .entry(cl)
            .or_default()
            .push(format!("{kind}:{state}"));
    }
    Ok(Performed {
        names,
        totals,
        by_service,
        undecided,
        absences,
        explanations,
        alerts,
    })
}

fn absent_days(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    today: NaiveDate,
) -> Result<HashMap<String, BTreeSet<NaiveDate>>, StoreError> {
    let clients = client::table
        .filter(client::municipality_id.eq(&m.id))
        .select(client::id);
    let rows: Vec<(String, NaiveDate, Option<NaiveDate>)> = absence::table
        .filter(absence::client_id.eq_any(clients))
        .filter(absence::cancelled_at.is_null())
        .filter(absence::starts_on.le(month.last_day()))
        .filter(
            absence::ends_on
                .is_null()
                .or(absence::ends_on.ge(month.first_day())),
        )
        .select((absence::client_id, absence::starts_on, absence::ends_on))
        .load(c)?;
    let mut out: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
    for (cl, from, to) in rows {
        out.entry(cl)
            .or_default()
            .extend(crate::db::absence::days_within(from, to, month, today));
    }
    Ok(out)
}

/// R5: a client-month where performed time exceeds granted time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_id: ClientId,
    pub client_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider_id: Option<ProviderId>,
    pub provider_name: Option<String>,
    pub granted_minutes: i64,
    pub performed_minutes: i64,
    pub over_minutes: i64,
    pub granted: String,
    pub performed: String,
    pub over: String,
}

/// R5: every client whose performed time exceeds the granted (ordered)
/// time in `month`, absences aside (the fee follows what was performed).
pub fn fees(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    today: NaiveDate,
) -> Result<Vec<FeeRow>, StoreError> {
    Ok(monthly(c, m, month, today, &Filter::default())?
        .into_iter()
        .filter(|r| r.ordered_minutes > 0 && r.performed_minutes > r.ordered_minutes)
        .map(|r| FeeRow {
            over_minutes: r.performed_minutes - r.ordered_minutes,
            over: format_hm(r.performed_minutes - r.ordered_minutes),
            granted: r.ordered.clone(),
            performed: r.performed.clone(),
            granted_minutes: r.ordered_minutes,
            performed_minutes: r.performed_minutes,
            client_id: r.client_id,
            client_name: r.client_name,
            provider_id: r.provider_id,
            provider_name: r.provider_name,
        })
        .collect())
}

/// Performed minutes of a provider in one service group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub provider_id: ProviderId,
    pub provider_name: String,
    /// `S` (service), `O` (personal care) or `-` for visits without a service.
    pub service_group: String,
    pub performed_minutes: i64,
    pub performed: String,
    /// Of which inside the frame window (R9).
    pub frame_window_minutes: i64,
}

/// The providers' payment basis: performed minutes per provider and
/// service group (S, O; `-` for visits checked out without a service).
pub fn payment_basis(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    provider_id: Option<&str>,
) -> Result<Vec<PaymentRow>, StoreError> {
    let groups: BTreeMap<String, String> = service::table
        .filter(service::municipality_id.eq(&m.id))
        .select((service::id, service::service_group))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let names: BTreeMap<String, String> = provider::table
        .filter(provider::municipality_id.eq(&m.id))
        .select((provider::id, provider::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    // (provider, group) → (seconds, frame seconds); the whole rows give the
    // time without services.
    let mut sums: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut whole: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (_, p, sid, a) in figure::municipality_month(c, &m.id, month)? {
        if provider_id.is_some_and(|only| only != p) {
            continue;
        }
        if sid == WHOLE {
            let w = whole.entry(p).or_default();
            w.0 += a.seconds;
            w.1 += a.frame_seconds;
        } else {
            let g = groups.get(&sid).cloned().unwrap_or_else(|| "-".into());
            let s = sums.entry((p, g)).or_default();
            s.0 += a.seconds;
            s.1 += a.frame_seconds;
        }
    }
    for (p, (secs, frame)) in whole {
        let assigned: (i64, i64) = sums
            .iter()
            .filter(|((pp, _), _)| *pp == p)
            .fold((0, 0), |acc, (_, v)| (acc.0 + v.0, acc.1 + v.1));
        let rest = (secs - assigned.0, frame - assigned.1);
        if rest.0 != 0 {
            sums.insert((p, "-".into()), rest);
        }
    }
    Ok(sums
        .into_iter()
        .map(|((p, g), (secs, frame))| PaymentRow {
            provider_name: names.get(&p).cloned().unwrap_or_default(),
            provider_id: p.into(),
            service_group: g,
            performed_minutes: minutes(secs),
            performed: format_hm(minutes(secs)),
            frame_window_minutes: minutes(frame),
        })
        .collect())
}
