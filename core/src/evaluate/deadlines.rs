//! Deadline alerts (R10–R13) and the monthly list of clients without an
//! approved care plan (R10), as at an instant (tests travel in time).
//!
//! The service's start is the start of the unbroken run of orders at the
//! client's present provider: a renewal continues the run and keeps the
//! plan (R17); a new provider starts a new run and needs its own plan.
//! Each deadline alert carries the month its deadline fell in.

use super::context::{Ctx, Evaluation};
use crate::db::care_order::{self, CareOrder};
use crate::db::care_plan::{self, PlanStatus, PlanVersion};
use crate::db::client::{self, Client};
use crate::db::schema::care_plan_list;
use crate::db::{DbConn, StoreError, alert, new_id};
use crate::domain::{YearMonth, local_date};
use crate::model::{AlertKind, ClientId, MunicipalityId, ProviderId};
use chrono::{Days, Months, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The deadline kinds, in evaluation order.
pub const KINDS: &[AlertKind] = &[
    AlertKind::CarePlanMissing,
    AlertKind::CarePlanMissingEscalated,
    AlertKind::CarePlanFollowUpDue,
    AlertKind::IndividualFollowUpDue,
    AlertKind::ContactPersonMissing,
];

/// The order in force on `day` and the first day of its unbroken run at
/// the same provider. `orders` in any order.
pub fn service_run(orders: &[CareOrder], day: NaiveDate) -> Option<(&CareOrder, NaiveDate)> {
    let active = orders
        .iter()
        .filter(|o| o.fields.valid_from <= day && o.fields.valid_to.is_none_or(|t| t >= day))
        .max_by_key(|o| o.fields.valid_from)?;
    let mut start = active.fields.valid_from;
    loop {
        let earlier = orders
            .iter()
            .filter(|o| o.fields.provider_id == active.fields.provider_id)
            .filter(|o| o.fields.valid_from < start)
            .filter(|o| {
                o.fields
                    .valid_to
                    .is_none_or(|t| t.succ_opt().is_some_and(|n| n >= start))
            })
            .map(|o| o.fields.valid_from)
            .min();
        match earlier {
            Some(s) => start = s,
            None => break,
        }
    }
    Some((active, start))
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The plan versions written by `provider_id`.
fn by_provider(versions: Vec<PlanVersion>, provider_id: &str) -> Vec<PlanVersion> {
    versions
        .into_iter()
        .filter(|v| v.provider_id == provider_id)
        .collect()
}

/// Evaluates the deadline alerts of one client, in one transaction that
/// takes the write lock only if an alert changes
/// ([`crate::db::read_mostly`]; most runs change nothing).
pub fn client(c: &mut DbConn, x: &Ctx<'_>, cl: &Client) -> Result<Evaluation, StoreError> {
    crate::db::read_mostly(c, |c| evaluate(c, x, cl))
}

fn evaluate(c: &mut DbConn, x: &Ctx<'_>, cl: &Client) -> Result<Evaluation, StoreError> {
    let mut out = Evaluation::default();
    let now = x.at.naive_utc();
    let today = x.today;
    let s = &x.m.settings;
    let orders = care_order::list_for_client(c, &cl.id)?;
    let mut found: BTreeMap<AlertKind, (NaiveDate, String, serde_json::Value)> = BTreeMap::new();
    if let Some((order, start)) = service_run(&orders, today) {
        let provider = order.fields.provider_id.clone();
        let versions = by_provider(care_plan::versions(c, &cl.id)?, &provider);
        let status = PlanStatus::of(&versions);
        // R10: no plan N days after the start; the caseworker is told too
        // after the escalation days.
        let due = start + Days::new(u64::try_from(s.care_plan_deadline_days).unwrap_or(14));
        if !status.present() && today > due {
            let draft = if status == PlanStatus::Draft {
                " Ett utkast finns men är inte fastställt."
            } else {
                ""
            };
            let figures = json!({
                "service_start": start,
                "due": due,
                "days_late": (today - due).num_days(),
                "plan_status": status,
            });
            found.insert(
                AlertKind::CarePlanMissing,
                (
                    due,
                    format!(
                        "Genomförandeplan saknas. Insatsen började {} och planen skulle ha \
                         fastställts senast {} ({} dagar, R10).{draft}",
                        iso(start),
                        iso(due),
                        s.care_plan_deadline_days
                    ),
                    figures.clone(),
                ),
            );
            let escalate = due + Days::new(u64::try_from(s.care_plan_escalation_days).unwrap_or(7));
            if today > escalate {
                found.insert(
                    AlertKind::CarePlanMissingEscalated,
                    (
                        escalate,
                        format!(
                            "Genomförandeplan saknas fortfarande, {} dagar efter sista dag {}. \
                             Utföraren har fått en påminnelse (R10).{draft}",
                            (today - due).num_days(),
                            iso(due)
                        ),
                        figures,
                    ),
                );
            }
        }
        // R11: an approved plan followed up at least every N months; an
        // approval is a follow-up.
        if status.present() {
            let approved = versions
                .iter()
                .filter_map(|v| v.approved_at)
                .map(|t| local_date(t.and_utc(), x.tz))
                .max();
            let followed = care_plan::follow_ups(c, &cl.id)?
                .into_iter()
                .filter(|f| f.provider_id == provider)
                .map(|f| f.followed_up_on)
                .max();
            if let Some(last) = approved.max(followed) {
                let months = u32::try_from(s.plan_follow_up_months).unwrap_or(6);
                if let Some(due) = last.checked_add_months(Months::new(months))
                    && today > due
                {
                    found.insert(
                        AlertKind::CarePlanFollowUpDue,
                        (
                            due,
                            format!(
                                "Genomförandeplanen har inte följts upp sedan {}. Den ska följas \
                                 upp minst var {}:e månad och senast {} (R11).",
                                iso(last),
                                months,
                                iso(due)
                            ),
                            json!({ "last_follow_up": last, "due": due }),
                        ),
                    );
                }
            }
        }
        // R13: a contact person named within N days of the start.
        if care_plan::contact(c, &cl.id, &provider)?.is_none() {
            let due = start + Days::new(u64::try_from(s.contact_person_days).unwrap_or(5));
            if today > due {
                found.insert(
                    AlertKind::ContactPersonMissing,
                    (
                        due,
                        format!(
                            "Kontaktperson saknas. Insatsen började {} och kontaktperson och \
                             ersättare ska utses inom {} dagar, senast {} (R13).",
                            iso(start),
                            s.contact_person_days,
                            iso(due)
                        ),
                        json!({ "service_start": start, "due": due }),
                    ),
                );
            }
        }
        // R12: the caseworker's watch date: the one set at the last
        // individual follow-up, else N months after the first order.
        let last = care_plan::individuals(c, &cl.id)?.into_iter().last();
        let first = orders.iter().map(|o| o.fields.valid_from).min();
        let months = u32::try_from(s.individual_follow_up_months).unwrap_or(12);
        let due = match &last {
            Some(f) => Some(f.next_due),
            None => first.and_then(|d| d.checked_add_months(Months::new(months))),
        };
        if let Some(due) = due
            && today >= due
        {
            let since = last.as_ref().map_or_else(
                || format!("insatsen började {}", first.map(iso).unwrap_or_default()),
                |f| format!("senaste uppföljningen gjordes {}", iso(f.done_on)),
            );
            found.insert(
                AlertKind::IndividualFollowUpDue,
                (
                    due,
                    format!(
                        "Individuell uppföljning ska göras: bevakningsdatum {} ({since}, R12).",
                        iso(due)
                    ),
                    json!({
                        "due": due,
                        "last_follow_up": last.as_ref().map(|f| f.done_on),
                    }),
                ),
            );
        }
        for &kind in KINDS {
            if let Some((due, message, figures)) = found.remove(&kind) {
                let month = YearMonth::of(due).to_string();
                let f = alert::Finding {
                    municipality_id: x.m.id.clone(),
                    client_id: cl.id.clone(),
                    month: month.clone(),
                    kind,
                    caseworker_id: cl.fields.caseworker_id.clone(),
                    provider_id: Some(provider.clone()),
                    message,
                    figures,
                    planned_visit_id: None,
                };
                out.count(alert::raise(c, &f, now)?);
                out.resolved += alert::clear_except(c, &cl.id, kind, Some(&month), now)?;
            } else {
                out.resolved += alert::clear_except(c, &cl.id, kind, None, now)?;
            }
        }
    } else {
        for &kind in KINDS {
            out.resolved += alert::clear_except(c, &cl.id, kind, None, now)?;
        }
    }
    Ok(out)
}

/// One line of the monthly list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListedClient {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub client_id: ClientId,
    pub name: String,
    pub service_start: NaiveDate,
    /// `missing` or `draft`.
    pub plan_status: PlanStatus,
    /// Days since the plan was due (negative: not due yet).
    pub days_late: i64,
}

/// A stored list.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = care_plan_list)]
pub struct PlanList {
    /// Order of making: the publishers' cursor.
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    #[serde(skip)]
    pub municipality_id: MunicipalityId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub provider_id: ProviderId,
    pub list_date: NaiveDate,
    #[serde(with = "crate::db::utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub generated_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "as_clients")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ListedClient>))]
    pub clients: String,
}

fn as_clients<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or(serde_json::Value::Array(vec![]));
    v.serialize(s)
}

/// On or after the municipality's list day, makes this month's list per
/// provider (once): every client served by the provider without an
/// approved plan. Returns how many lists were made.
pub fn plan_lists(c: &mut DbConn, x: &Ctx<'_>) -> Result<usize, StoreError> {
    use chrono::Datelike;
    let day = u32::try_from(x.m.settings.plan_list_day).unwrap_or(16);
    let today = x.today;
    if today.day() < day {
        return Ok(0);
    }
    let Some(list_date) = today.with_day(day) else {
        return Ok(0);
    };
    // One run makes every provider's list: when this month's exist, the
    // hourly runs after the list day need not look at a single client.
    let made_already = care_plan_list::table
        .filter(care_plan_list::municipality_id.eq(&x.m.id))
        .filter(care_plan_list::list_date.eq(list_date))
        .count()
        .get_result::<i64>(c)?
        > 0;
    if made_already {
        return Ok(0);
    }
    let mut per_provider: BTreeMap<String, Vec<ListedClient>> = BTreeMap::new();
    for cl in client::list(c, &x.m.id)? {
        let orders = care_order::list_for_client(c, &cl.id)?;
        let Some((order, start)) = service_run(&orders, list_date) else {
            continue;
        };
        let provider = order.fields.provider_id.clone();
        let versions = by_provider(care_plan::versions(c, &cl.id)?, &provider);
        let status = PlanStatus::of(&versions);
        let entry = per_provider.entry(provider.to_string()).or_default();
        if !status.present() {
            let due = start
                + Days::new(u64::try_from(x.m.settings.care_plan_deadline_days).unwrap_or(14));
            entry.push(ListedClient {
                client_id: cl.id.clone(),
                name: format!("{} {}", cl.fields.given_name, cl.fields.family_name),
                service_start: start,
                plan_status: status,
                days_late: (list_date - due).num_days(),
            });
        }
    }
    let mut made = 0;
    for (provider, clients) in per_provider {
        let text =
            serde_json::to_string(&clients).map_err(|e| StoreError::Encode(e.to_string()))?;
        let inserted = diesel::insert_into(care_plan_list::table)
            .values((
                care_plan_list::id.eq(new_id()),
                care_plan_list::municipality_id.eq(&x.m.id),
                care_plan_list::provider_id.eq(&provider),
                care_plan_list::list_date.eq(list_date),
                care_plan_list::generated_at.eq(x.at.naive_utc()),
                care_plan_list::clients.eq(text),
            ))
            .execute(c)
            .map_err(StoreError::from);
        match inserted {
            Ok(_) => made += 1,
            // Another run (`hemtid evaluate` beside `serve`) made it first.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(made)
}

/// Stored lists of a municipality, newest first, optionally one provider's.
pub fn lists(
    c: &mut DbConn,
    municipality_id: &str,
    provider_id: Option<&str>,
) -> Result<Vec<PlanList>, StoreError> {
    let mut q = care_plan_list::table
        .filter(care_plan_list::municipality_id.eq(municipality_id))
        .order((
            care_plan_list::list_date.desc(),
            care_plan_list::provider_id,
        ))
        .select(PlanList::as_select())
        .into_boxed();
    if let Some(p) = provider_id {
        q = q.filter(care_plan_list::provider_id.eq(p.to_string()));
    }
    Ok(q.load(c)?)
}

/// Lists made after `seq`, oldest first (for the MQTT publisher).
pub fn lists_after(c: &mut DbConn, seq: i64, limit: i64) -> Result<Vec<PlanList>, StoreError> {
    Ok(care_plan_list::table
        .filter(care_plan_list::seq.gt(seq))
        .order(care_plan_list::seq)
        .limit(limit)
        .select(PlanList::as_select())
        .load(c)?)
}

impl PlanList {
    /// What goes out over MQTT: the list without names (ids, dates, status).
    pub fn payload(&self) -> serde_json::Value {
        let mut clients: Vec<serde_json::Value> =
            serde_json::from_str(&self.clients).unwrap_or_default();
        for c in &mut clients {
            if let Some(o) = c.as_object_mut() {
                o.remove("name");
            }
        }
        json!({
            "id": self.id,
            "provider_id": self.provider_id,
            "list_date": self.list_date,
            "clients": clients,
        })
    }
}
