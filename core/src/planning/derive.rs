//! Planned visits derived from the orders (issue 25), so that late and
//! missed visits are noticed from day one in a municipality whose
//! providers have no planning system: each order's daily visits
//! (`daily_visits`, R8) spread over the municipality's visit windows,
//! with the services of the order's daily lines for that weekday; and
//! its weekly personal care (a shower twice a week, R8's fixed
//! frequency) on set weekdays, in the day's first visit (one of its own
//! in the first window when the order has no daily visits).
//!
//! Only where asked (`plans_from_orders`), only for providers that sent
//! no plans of their own for the day, never for a day the client is
//! away (an absence), and never in the past: a window whose latest start
//! has passed is not created, and a derived plan already past is kept
//! as it stands (it is the day's history).

use crate::db::municipality::Municipality;
use crate::db::planned_visit::{self, NewPlan, Stored};
use crate::db::schema::{absence, care_order, client, order_line, planned_visit as pv, provider};
use crate::db::{DbConn, StoreError};
use crate::domain::ordered_time::{Period, Weekdays};
use crate::model::{PlanSource, ServiceId};
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// At most this many windows.
const MAX_WINDOWS: usize = 8;

/// The windows of `text` (`07:00-09:00 11:00-13:00`) as minutes after
/// local midnight, or `None` if one is malformed, ends before it starts,
/// or starts before the previous one ends.
pub fn parse_windows(text: &str) -> Option<Vec<(u32, u32)>> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for w in text.split([' ', ',']).filter(|w| !w.is_empty()) {
        let (a, b) = w.split_once('-')?;
        let (a, b) = (
            crate::domain::parse_time_of_day(a)?,
            crate::domain::parse_time_of_day(b)?,
        );
        let (a, b) = (u32::try_from(a).ok()?, u32::try_from(b).ok()?);
        if b <= a || out.last().is_some_and(|(_, end)| a < *end) {
            return None;
        }
        out.push((a, b));
    }
    (1..=MAX_WINDOWS).contains(&out.len()).then_some(out)
}

/// The windows as the setting stores them.
pub fn format_windows(w: &[(u32, u32)]) -> String {
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    w.iter()
        .map(|(a, b)| format!("{}-{}", hm(*a), hm(*b)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which of `k` windows `n` daily visits take: spread evenly from the
/// first to the last (one visit: the first; two: the first and the last);
/// more visits than windows take every window once.
pub fn spread(n: usize, k: usize) -> Vec<usize> {
    match (n, k) {
        (0, _) | (_, 0) => Vec::new(),
        (1, _) => vec![0],
        (n, k) if n >= k => (0..k).collect(),
        (n, k) => (0..n)
            .map(|i| (i * (k - 1) * 2 + (n - 1)) / ((n - 1) * 2))
            .collect(),
    }
}

/// What a derivation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
}

impl std::ops::AddAssign for Derived {
    fn add_assign(&mut self, d: Derived) {
        self.created += d.created;
        self.updated += d.updated;
        self.unchanged += d.unchanged;
        self.removed += d.removed;
    }
}

impl From<Stored> for Derived {
    fn from(s: Stored) -> Derived {
        Derived {
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            removed: s.removed,
        }
    }
}

/// An order as the derivation reads it: id, client, provider, daily
/// visits, first valid day.
type OrderRow = (String, String, String, Option<i32>, NaiveDate);

/// Derives the municipality's plans of local `day` as at `now`: creates
/// and updates the future ones, and removes future derived plans the
/// orders no longer give (an order ended, fewer visits, the provider
/// plans the day itself, the setting switched off).
pub fn derive(
    c: &mut DbConn,
    m: &Municipality,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Derived, StoreError> {
    let tz = m.tz().unwrap_or(crate::domain::STOCKHOLM);
    let windows = parse_windows(&m.settings.order_visit_windows).unwrap_or_default();
    let providers: Vec<String> = provider::table
        .filter(provider::municipality_id.eq(&m.id))
        .select(provider::id)
        .load(c)?;
    let mut by_provider: BTreeMap<String, Vec<NewPlan>> = BTreeMap::new();
    if m.settings.plans_from_orders && !windows.is_empty() {
        // Providers that plan the day themselves.
        let planning: HashSet<String> = pv::table
            .filter(pv::provider_id.eq_any(&providers))
            .filter(pv::local_date.eq(day))
            .filter(pv::source.eq(PlanSource::Planner))
            .select(pv::provider_id)
            .distinct()
            .load::<String>(c)?
            .into_iter()
            .collect();
        let away: HashSet<String> = absence::table
            .filter(
                absence::client_id.eq_any(
                    client::table
                        .filter(client::municipality_id.eq(&m.id))
                        .select(client::id),
                ),
            )
            .filter(absence::cancelled_at.is_null())
            .filter(absence::starts_on.le(day))
            .filter(absence::ends_on.is_null().or(absence::ends_on.ge(day)))
            .select(absence::client_id)
            .load::<String>(c)?
            .into_iter()
            .collect();
        let orders: Vec<OrderRow> = care_order::table
            .inner_join(client::table)
            .filter(client::municipality_id.eq(&m.id))
            .filter(client::purged_at.is_null())
            .filter(care_order::valid_from.le(day))
            .filter(
                care_order::valid_to
                    .is_null()
                    .or(care_order::valid_to.ge(day)),
            )
            .select((
                care_order::id,
                care_order::client_id,
                care_order::provider_id,
                care_order::daily_visits,
                care_order::valid_from,
            ))
            .load(c)?;
        let orders: Vec<OrderRow> = orders
            .into_iter()
            .filter(|(_, client_id, provider_id, _, _)| {
                !planning.contains(provider_id) && !away.contains(client_id)
            })
            .collect();
        let ids: Vec<(&str, NaiveDate)> = orders.iter().map(|o| (o.0.as_str(), o.4)).collect();
        let mut lines = lines_of_day(c, &ids, day)?;
        for (order_id, client_id, provider_id, daily, _) in &orders {
            let n = usize::try_from(daily.unwrap_or(0)).unwrap_or(0);
            let of_day = lines.remove(order_id.as_str()).unwrap_or_default();
            // The weekly care of the day needs a visit: the first.
            let n = if of_day.weekly_minutes > 0 {
                n.max(1)
            } else {
                n
            };
            let chosen = spread(n, windows.len());
            let per_visit = i32::try_from(of_day.daily_minutes / chosen.len().max(1) as i64)
                .unwrap_or(30)
                .clamp(10, 240);
            for (i, w) in chosen.into_iter().enumerate() {
                let (from, to) = windows[w];
                let (Some(earliest), Some(latest)) = (at(day, from, tz), at(day, to, tz)) else {
                    continue;
                };
                if latest <= now {
                    continue;
                }
                let (expected, services) = if i == 0 && of_day.weekly_minutes > 0 {
                    let daily = if of_day.daily_minutes > 0 {
                        per_visit
                    } else {
                        0
                    };
                    let minutes = i64::from(daily) + of_day.weekly_minutes;
                    let mut services = of_day.daily_services.clone();
                    for s in &of_day.weekly_services {
                        if !services.contains(s) {
                            services.push(s.clone());
                        }
                    }
                    (
                        i32::try_from(minutes).unwrap_or(240).clamp(10, 240),
                        services,
                    )
                } else {
                    (per_visit, of_day.daily_services.clone())
                };
                by_provider
                    .entry(provider_id.clone())
                    .or_default()
                    .push(NewPlan {
                        planner_ref: format!("order:{order_id}:{day}:{i}"),
                        client_id: client_id.clone().into(),
                        local_date: day,
                        earliest_start: earliest.naive_utc(),
                        latest_start: latest.naive_utc(),
                        expected_minutes: expected,
                        double_staffing: false,
                        time_critical: false,
                        tolerance_minutes: None,
                        source: PlanSource::Order,
                        services,
                        staff: Vec::new(),
                    });
            }
        }
    }
    let mut out = Derived::default();
    for provider_id in &providers {
        let plans = by_provider.remove(provider_id).unwrap_or_default();
        let keep: HashSet<&str> = plans.iter().map(|p| p.planner_ref.as_str()).collect();
        let gone =
            planned_visit::remove_derived(c, provider_id, &[day], &keep, Some(now.naive_utc()))?;
        out.removed += gone.len();
        crate::evaluate::visit_alerts::resolve_removed(c, &gone, now)?;
        if !plans.is_empty() {
            out += planned_visit::store(c, provider_id, &plans, false, now.naive_utc())?.into();
        }
    }
    Ok(out)
}

/// The latest change of what derived plans follow: the orders and the
/// municipalities' settings.
pub fn inputs_changed_at(c: &mut DbConn) -> Result<Option<chrono::NaiveDateTime>, StoreError> {
    use crate::db::schema::municipality;
    let orders: Option<chrono::NaiveDateTime> = care_order::table
        .select(diesel::dsl::max(care_order::updated_at))
        .first(c)?;
    let settings: Option<chrono::NaiveDateTime> = municipality::table
        .select(diesel::dsl::max(municipality::updated_at))
        .first(c)?;
    Ok(orders.max(settings))
}

/// The instant of a local time of day (a time the clocks skip: none; one
/// they pass twice: the first).
fn at(day: NaiveDate, minute: u32, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let t = if minute >= 24 * 60 {
        day.succ_opt()?.and_hms_opt(0, 0, 0)?
    } else {
        day.and_hms_opt(minute / 60, minute % 60, 0)?
    };
    match tz.from_local_datetime(&t) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// What an order's lines give one day.
#[derive(Debug, Default)]
struct OfDay {
    /// The daily lines of the day's weekday.
    daily_minutes: i64,
    daily_services: Vec<ServiceId>,
    /// The weekly personal-care lines that fall on the day
    /// ([`weekly_on`]).
    weekly_minutes: i64,
    weekly_services: Vec<ServiceId>,
}

/// Whether a weekly line of `times` a week, every `every` weeks, on
/// `weekdays`, falls on `day`, and how many times: its occurrences
/// spread evenly over its weekdays from the first (once a week: the
/// first; twice, of all seven: Monday and Thursday), in the weeks counted
/// from the order's first valid day's (every other week: the first,
/// the third, …).
pub fn weekly_on(
    times: u32,
    every: u32,
    weekdays: Weekdays,
    valid_from: NaiveDate,
    day: NaiveDate,
) -> u32 {
    let monday =
        |d: NaiveDate| d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let weeks = (monday(day) - monday(valid_from)).num_days() / 7;
    if every == 0 || weeks < 0 || weeks % i64::from(every) != 0 {
        return 0;
    }
    let days: Vec<chrono::Weekday> = (0..7u8)
        .filter_map(|i| chrono::Weekday::try_from(i).ok())
        .filter(|d| weekdays.contains(*d))
        .collect();
    let Some(at) = days.iter().position(|d| *d == day.weekday()) else {
        return 0;
    };
    let k = days.len() as u32;
    (0..times)
        .filter(|i| (i * k / times) as usize == at)
        .count() as u32
}

/// Per order of `orders` (with its first valid day), what its lines give
/// `day`: the daily lines of its weekday, and the weekly personal-care
/// lines that fall on it (read 5,000 orders per statement). Service
/// lines (S-: cleaning, shopping, often without the client at home) and
/// monthly lines are not placed: a missed visit there is not a visit
/// nobody came to.
fn lines_of_day(
    c: &mut DbConn,
    orders: &[(&str, NaiveDate)],
    day: NaiveDate,
) -> Result<HashMap<String, OfDay>, StoreError> {
    use crate::db::schema::service;
    use crate::model::ServiceGroup;
    let valid_from: HashMap<&str, NaiveDate> = orders.iter().copied().collect();
    let ids: Vec<&str> = orders.iter().map(|o| o.0).collect();
    let mut out: HashMap<String, OfDay> = HashMap::new();
    for chunk in ids.chunks(5000) {
        #[allow(clippy::type_complexity)]
        let lines: Vec<(String, String, i32, i32, String, i32, i32, String)> = order_line::table
            .inner_join(service::table)
            .filter(order_line::care_order_id.eq_any(chunk))
            .order((order_line::care_order_id, order_line::position))
            .select((
                order_line::care_order_id,
                order_line::service_id,
                order_line::minutes_per_occurrence,
                order_line::times,
                order_line::period,
                order_line::weekdays,
                order_line::every,
                service::service_group,
            ))
            .load(c)?;
        for (order, service, per, times, period, weekdays, every, group) in lines {
            let Some(days) = Weekdays::from_bits(weekdays) else {
                continue;
            };
            let add = |minutes: &mut i64, services: &mut Vec<ServiceId>, n: i64| {
                *minutes += i64::from(per) * n;
                let service = ServiceId::new(service.clone());
                if !services.contains(&service) {
                    services.push(service);
                }
            };
            match Period::parse(&period) {
                Some(Period::Day) if days.contains(day.weekday()) => {
                    let o = out.entry(order).or_default();
                    add(
                        &mut o.daily_minutes,
                        &mut o.daily_services,
                        i64::from(times),
                    );
                }
                Some(Period::Week) if group == ServiceGroup::PersonalCare.as_str() => {
                    let from = valid_from.get(order.as_str()).copied().unwrap_or(day);
                    let n = weekly_on(
                        u32::try_from(times).unwrap_or(0),
                        u32::try_from(every).unwrap_or(0),
                        days,
                        from,
                        day,
                    );
                    if n > 0 {
                        let o = out.entry(order).or_default();
                        add(&mut o.weekly_minutes, &mut o.weekly_services, i64::from(n));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}
