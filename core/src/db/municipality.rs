//! Municipalities and their settings (defaults from DOMAIN.md).

use super::schema::municipality;
use super::{DbConn, StoreError, new_id, now, one_row};
use crate::model::MunicipalityId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// A municipality (kommun) and its rule settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = municipality)]
pub struct Municipality {
    pub id: MunicipalityId,
    /// Kommunkod, four digits (e.g. "0123" for Järfälla).
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    #[diesel(embed)]
    pub settings: MunicipalitySettings,
    #[serde(with = "super::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "super::utc")]
    pub updated_at: NaiveDateTime,
}

/// Rule settings a municipality may change.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = municipality)]
pub struct MunicipalitySettings {
    /// IANA time zone that days, months and the frame window are local to.
    pub time_zone: String,
    /// R1: the tolerance band in basis points (500 = ±5 %).
    pub tolerance_basis_points: i32,
    /// R9: start of the frame window, minutes after local midnight (07:00).
    pub frame_window_start_minute: i32,
    /// R9: end of the frame window (22:00).
    pub frame_window_end_minute: i32,
    /// R10: days after the start of the service by which a care plan is due.
    pub care_plan_deadline_days: i32,
    /// R11: months between care-plan follow-ups.
    pub plan_follow_up_months: i32,
    /// R12: months between individual follow-ups.
    pub individual_follow_up_months: i32,
    /// R13: days after the start by which a contact person is named.
    pub contact_person_days: i32,
    /// R3: first day of the month the monthly review may start.
    pub review_from_day: i32,
    /// How monthly ordered time counts a month: `average` or `calendar`.
    pub month_convention: String,
    /// A paired visit longer than this is an exception (default 12 h).
    pub max_visit_minutes: i32,
    /// R10: days after the plan deadline before the caseworker is told too.
    pub care_plan_escalation_days: i32,
    /// R10: the day of each month the list of clients without a plan is sent.
    pub plan_list_day: i32,
    /// The ISO week personalkontinuitet's two national measurement weeks
    /// start with (set yearly by the national instructions); unset, the
    /// measures default to the two whole weeks before the current one.
    pub continuity_week: Option<i32>,
    /// Years the access log is kept (at least five, HSLF-FS 2016:40).
    pub access_log_retention_years: i32,
    /// Years a client's records are kept after the last order ended.
    pub client_retention_years: i32,
    /// Keep clients born on the 5th, 15th or 25th (the research sample of
    /// socialtjänstförordningen) instead of deleting their records.
    pub keep_research_sample: bool,
    /// Planned visits: minutes after the latest start before a visit
    /// without a check-in is late (`visit_late`).
    pub visit_tolerance_minutes: i32,
    /// The same for time-critical visits (medication, insulin, a CPAP
    /// mask); a plan's own tolerance wins over both.
    pub time_critical_tolerance_minutes: i32,
    /// Minutes a late or missed visit's alert may stay unacknowledged by
    /// the provider before the client's caseworker is told.
    pub visit_escalation_minutes: i32,
    /// Derive planned visits from the orders for clients whose provider
    /// sends no plans of its own for the day.
    pub plans_from_orders: bool,
    /// The windows an order's daily visits are spread over, local
    /// `HH:MM-HH:MM`, separated by spaces, in the day's order.
    pub order_visit_windows: String,
}

impl Default for MunicipalitySettings {
    fn default() -> Self {
        MunicipalitySettings {
            time_zone: "Europe/Stockholm".into(),
            tolerance_basis_points: 500,
            frame_window_start_minute: 7 * 60,
            frame_window_end_minute: 22 * 60,
            care_plan_deadline_days: 14,
            plan_follow_up_months: 6,
            individual_follow_up_months: 12,
            contact_person_days: 5,
            review_from_day: 5,
            month_convention: crate::domain::MonthConvention::default().as_str().into(),
            max_visit_minutes: 12 * 60,
            care_plan_escalation_days: 7,
            plan_list_day: 16,
            continuity_week: None,
            access_log_retention_years: 10,
            client_retention_years: 5,
            keep_research_sample: true,
            visit_tolerance_minutes: 15,
            time_critical_tolerance_minutes: 5,
            visit_escalation_minutes: 30,
            plans_from_orders: false,
            order_visit_windows: "07:00-09:00 11:00-13:00 16:00-18:00 19:30-21:30".into(),
        }
    }
}

impl Municipality {
    /// The municipality's time zone; `None` only if the stored name was
    /// tampered with (the API validates it).
    pub fn tz(&self) -> Option<chrono_tz::Tz> {
        self.settings.time_zone.parse().ok()
    }

    /// The rules events are recorded and counted by; `None` if the stored
    /// time zone is invalid.
    pub fn rules(&self) -> Option<crate::domain::Rules> {
        Some(crate::domain::Rules {
            tz: self.tz()?,
            max_seconds: i64::from(self.settings.max_visit_minutes) * 60,
            window: self.frame_window(),
        })
    }

    /// The frame window (R9).
    pub fn frame_window(&self) -> crate::domain::figures::FrameWindow {
        let minute = |m: i32| u32::try_from(m.clamp(0, 1440)).unwrap_or(0);
        crate::domain::figures::FrameWindow {
            start_minute: minute(self.settings.frame_window_start_minute),
            end_minute: minute(self.settings.frame_window_end_minute),
        }
    }

    /// The month convention; `None` only if the stored text was tampered with.
    pub fn month_convention(&self) -> Option<crate::domain::MonthConvention> {
        crate::domain::MonthConvention::parse(&self.settings.month_convention)
    }
}

pub fn create(
    conn: &mut DbConn,
    code: &str,
    name: &str,
    settings: &MunicipalitySettings,
) -> Result<Municipality, StoreError> {
    let id = new_id();
    let t = now();
    diesel::insert_into(municipality::table)
        .values((
            municipality::id.eq(&id),
            municipality::code.eq(code),
            municipality::name.eq(name),
            settings,
            municipality::created_at.eq(t),
            municipality::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, &id)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Municipality, StoreError> {
    Ok(municipality::table
        .find(id)
        .select(Municipality::as_select())
        .first(conn)?)
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> Result<Option<Municipality>, StoreError> {
    Ok(municipality::table
        .filter(municipality::code.eq(code))
        .select(Municipality::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn) -> Result<Vec<Municipality>, StoreError> {
    Ok(municipality::table
        .order(municipality::name)
        .select(Municipality::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    settings: &MunicipalitySettings,
) -> Result<Municipality, StoreError> {
    let n = diesel::update(municipality::table.find(id))
        .set((
            municipality::name.eq(name),
            settings,
            municipality::updated_at.eq(now()),
        ))
        .execute(conn)?;
    one_row(n)?;
    // The plans' thresholds may have moved.
    super::planned_visit::mark_municipality_due(conn, id)?;
    get(conn, id)
}
