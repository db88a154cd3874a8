//! Punctuality per provider, authority unit and month (issue 25): the
//! planned visits, how many were performed, in time or late beyond their
//! tolerance, how many were missed, and the visits no plan was kept by.
//! Per provider and unit only, never per care worker (the same rule as
//! the verification rate: `crate::measures`).

use super::Filter;
use crate::db::municipality::Municipality;
use crate::db::schema::{authority_unit, client, provider};
use crate::db::{DbConn, StoreError};
use crate::domain::YearMonth;
use crate::domain::punctuality::{MatchLimits, State};
use crate::evaluate::punctuality::{days, planned, tolerances};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A group's month (the municipality, a provider, a unit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PunctualityGroup {
    /// The provider's or unit's id; unset for the municipality.
    pub id: Option<String>,
    pub name: String,
    /// Planned visits of the month.
    pub planned: i64,
    /// Kept by a check-in (done or under way).
    pub performed: i64,
    /// Of those, begun by the latest start and the tolerance.
    pub in_time: i64,
    /// Begun later than the latest start and the tolerance.
    pub late: i64,
    /// Nobody came within the window and the expected length.
    pub missed: i64,
    /// Not yet due, or late with no check-in yet (this month's).
    pub pending: i64,
    /// Time-critical plans (medication, insulin, CPAP), and those missed.
    pub time_critical: i64,
    pub time_critical_missed: i64,
    /// Visits performed that kept no plan (R6's unplanned).
    pub unplanned: i64,
    /// Basis points of the settled plans (performed or missed) begun in
    /// time.
    pub in_time_basis_points: Option<i64>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Punctuality {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-11"))]
    pub month: YearMonth,
    /// When the states were read (this month's plans may still change).
    pub as_at: DateTime<Utc>,
    pub municipality: PunctualityGroup,
    /// Providers with plans in the month.
    pub providers: Vec<PunctualityGroup>,
    /// The authority units of the clients' caseworkers.
    pub units: Vec<PunctualityGroup>,
}

/// What one plan or unplanned visit adds to its groups.
#[derive(Clone, Copy)]
enum Count {
    Plan {
        state: State,
        late: bool,
        time_critical: bool,
    },
    Unplanned,
}

impl PunctualityGroup {
    fn add(&mut self, n: Count) {
        match n {
            Count::Unplanned => self.unplanned += 1,
            Count::Plan {
                state,
                late,
                time_critical,
            } => {
                self.planned += 1;
                self.time_critical += i64::from(time_critical);
                match state {
                    State::Done | State::InProgress => {
                        self.performed += 1;
                        if late {
                            self.late += 1;
                        } else {
                            self.in_time += 1;
                        }
                    }
                    State::Missed => {
                        self.missed += 1;
                        self.time_critical_missed += i64::from(time_critical);
                    }
                    State::Waiting | State::Late => self.pending += 1,
                }
            }
        }
    }

    fn finish(mut self) -> Self {
        let settled = self.performed + self.missed;
        self.in_time_basis_points = (settled > 0).then(|| self.in_time * 10_000 / settled);
        self
    }
}

/// The month of the municipality's plans (those of `f`'s provider, and of
/// clients of `f`'s unit or caseworker), each plan's state as at `now`.
pub fn punctuality(
    c: &mut DbConn,
    m: &Municipality,
    month: YearMonth,
    now: DateTime<Utc>,
    f: &Filter,
) -> Result<Punctuality, StoreError> {
    let unit_of_caseworker = super::units_of_users(c, &m.id)?;
    // Each client's caseworker and unit; a client outside the filter is
    // left out.
    let mut unit_of: HashMap<String, Option<String>> = HashMap::new();
    for (id, caseworker) in client::table
        .filter(client::municipality_id.eq(&m.id))
        .select((client::id, client::caseworker_id))
        .load::<(String, Option<String>)>(c)?
    {
        let unit = caseworker
            .as_ref()
            .and_then(|cw| unit_of_caseworker.get(cw).cloned().flatten());
        if f.covers_caseworker(caseworker.as_deref(), unit.as_deref()) {
            unit_of.insert(id, unit);
        }
    }
    let providers: Vec<(String, String)> = provider::table
        .filter(provider::municipality_id.eq(&m.id))
        .order(provider::name)
        .select((provider::id, provider::name))
        .load(c)?;
    let unit_names: HashMap<String, String> = authority_unit::table
        .filter(authority_unit::municipality_id.eq(&m.id))
        .select((authority_unit::id, authority_unit::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let tol = tolerances(&m.settings);
    let mut total = PunctualityGroup {
        name: m.name.clone(),
        ..Default::default()
    };
    let mut by_provider = Vec::new();
    let mut by_unit: BTreeMap<String, PunctualityGroup> = BTreeMap::new();
    for (provider_id, name) in providers {
        if f.provider_id
            .as_ref()
            .is_some_and(|p| p.as_str() != provider_id)
        {
            continue;
        }
        let mut group = PunctualityGroup {
            id: Some(provider_id.clone()),
            name,
            ..Default::default()
        };
        let month_days = days(
            c,
            &provider_id,
            month.first_day(),
            month.last_day(),
            now,
            &tol,
            MatchLimits::default(),
            false,
        )?;
        let mut counts: Vec<(String, Count)> = Vec::new();
        for (_, day) in month_days {
            for p in day.plans {
                let rules = planned(&p.plan);
                let late = p.standing.started_late.is_some_and(|l| l > tol.of(&rules));
                counts.push((
                    p.plan.plan.client_id.to_string(),
                    Count::Plan {
                        state: p.standing.state,
                        late,
                        time_critical: p.plan.plan.time_critical,
                    },
                ));
            }
            for u in day.unplanned {
                counts.push((u.client_id.to_string(), Count::Unplanned));
            }
        }
        // A provider without plans in the month is not planning yet: its
        // visits are not "unplanned".
        if !counts.iter().any(|(_, n)| matches!(n, Count::Plan { .. })) {
            continue;
        }
        for (client_id, n) in counts {
            let Some(unit) = unit_of.get(&client_id) else {
                continue;
            };
            group.add(n);
            total.add(n);
            if let Some(u) = unit {
                by_unit
                    .entry(u.clone())
                    .or_insert_with(|| PunctualityGroup {
                        id: Some(u.clone()),
                        name: unit_names.get(u).cloned().unwrap_or_default(),
                        ..Default::default()
                    })
                    .add(n);
            }
        }
        by_provider.push(group.finish());
    }
    Ok(Punctuality {
        month,
        as_at: now,
        municipality: total.finish(),
        providers: by_provider,
        units: by_unit
            .into_values()
            .map(PunctualityGroup::finish)
            .collect(),
    })
}

/// The report's groups as CSV with Swedish headings (the municipality
/// first, then the providers and the units).
pub fn punctuality_csv(r: &Punctuality) -> String {
    let rows = std::iter::once(("Kommun", &r.municipality))
        .chain(r.providers.iter().map(|g| ("Utförare", g)))
        .chain(r.units.iter().map(|g| ("Enhet", g)))
        .map(|(level, g)| {
            vec![
                level.to_string(),
                g.name.clone(),
                g.planned.to_string(),
                g.performed.to_string(),
                g.in_time.to_string(),
                g.late.to_string(),
                g.missed.to_string(),
                g.pending.to_string(),
                g.time_critical.to_string(),
                g.time_critical_missed.to_string(),
                g.unplanned.to_string(),
                super::csv::percent(g.in_time_basis_points),
            ]
        });
    super::csv::csv(
        &[
            "Nivå",
            "Namn",
            "Planerade besök",
            "Utförda",
            "I tid",
            "Sena",
            "Missade",
            "Väntar",
            "Tidskritiska",
            "Tidskritiska missade",
            "Oplanerade besök",
            "I tid %",
        ],
        rows,
    )
}
