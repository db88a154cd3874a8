//! Response shapes that differ from the stored rows.

use hemtid_core::db::care_order::{LineWithService, OrderWithLines};
use hemtid_core::db::municipality::Municipality;
use hemtid_core::domain::duration::format_time_of_day;
use hemtid_core::domain::{MonthConvention, MonthlyOrderedTime, Period, Weekdays, format_hm};
use hemtid_core::model::AmountUnit;
use serde::Serialize;
use utoipa::ToSchema;

/// A municipality with its settings in the same shape the PUT takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MunicipalityView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub tolerance_basis_points: i32,
    pub frame_window_start: String,
    pub frame_window_end: String,
    pub care_plan_deadline_days: i32,
    pub plan_follow_up_months: i32,
    pub individual_follow_up_months: i32,
    pub contact_person_days: i32,
    pub review_from_day: i32,
    #[schema(value_type = MonthConvention)]
    pub month_convention: String,
    pub max_visit_minutes: i32,
    pub care_plan_escalation_days: i32,
    pub plan_list_day: i32,
    pub continuity_week: Option<i32>,
    pub access_log_retention_years: i32,
    pub client_retention_years: i32,
    pub keep_research_sample: bool,
    pub visit_tolerance_minutes: i32,
    pub time_critical_tolerance_minutes: i32,
    pub visit_escalation_minutes: i32,
    pub plans_from_orders: bool,
    pub order_visit_windows: String,
}

impl From<Municipality> for MunicipalityView {
    fn from(m: Municipality) -> Self {
        let s = m.settings;
        MunicipalityView {
            id: m.id.to_string(),
            code: m.code,
            name: m.name,
            time_zone: s.time_zone,
            tolerance_basis_points: s.tolerance_basis_points,
            frame_window_start: format_time_of_day(s.frame_window_start_minute),
            frame_window_end: format_time_of_day(s.frame_window_end_minute),
            care_plan_deadline_days: s.care_plan_deadline_days,
            plan_follow_up_months: s.plan_follow_up_months,
            individual_follow_up_months: s.individual_follow_up_months,
            contact_person_days: s.contact_person_days,
            review_from_day: s.review_from_day,
            month_convention: s.month_convention,
            max_visit_minutes: s.max_visit_minutes,
            care_plan_escalation_days: s.care_plan_escalation_days,
            plan_list_day: s.plan_list_day,
            continuity_week: s.continuity_week,
            access_log_retention_years: s.access_log_retention_years,
            client_retention_years: s.client_retention_years,
            keep_research_sample: s.keep_research_sample,
            visit_tolerance_minutes: s.visit_tolerance_minutes,
            time_critical_tolerance_minutes: s.time_critical_tolerance_minutes,
            visit_escalation_minutes: s.visit_escalation_minutes,
            plans_from_orders: s.plans_from_orders,
            order_visit_windows: s.order_visit_windows.clone(),
        }
    }
}

/// An order line as the API shows it: the amount as entered and weekday names.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub id: String,
    pub position: i32,
    pub service_id: String,
    pub service_code: String,
    pub service_name: String,
    /// As entered: "0.2" with unit `hours`, "12" with unit `minutes`.
    pub amount: String,
    #[schema(value_type = AmountUnit)]
    pub unit: String,
    pub minutes_per_occurrence: i32,
    pub times: i32,
    #[schema(value_type = Period)]
    pub per: String,
    pub every: i32,
    /// `mon` … `sun`.
    pub weekdays: Vec<&'static str>,
    pub note: String,
    /// A care bundle's contents: the codes of the personal-care services
    /// it covers (R19); empty for other services.
    pub contents: Vec<String>,
}

impl From<LineWithService> for LineView {
    fn from(l: LineWithService) -> Self {
        let f = l.line.fields;
        let amount = if f.amount_unit == "hours" {
            decimal(i64::from(f.minutes_per_occurrence), 60)
        } else {
            f.minutes_per_occurrence.to_string()
        };
        LineView {
            id: l.line.id,
            position: l.line.position,
            service_id: f.service_id.to_string(),
            service_code: l.service_code,
            service_name: l.service_name,
            amount,
            unit: f.amount_unit,
            minutes_per_occurrence: f.minutes_per_occurrence,
            times: f.times,
            per: f.period,
            every: f.every,
            weekdays: Weekdays::from_bits(f.weekdays)
                .map(Weekdays::names)
                .unwrap_or_default(),
            note: f.note,
            contents: l.contents,
        }
    }
}

/// `num/den` as a decimal; exact when it terminates, else six places.
fn decimal(num: i64, den: i64) -> String {
    let mut out = (num / den).to_string();
    let mut rem = num % den;
    if rem != 0 {
        out.push('.');
        for _ in 0..6 {
            rem *= 10;
            out.push(char::from(b'0' + u8::try_from(rem / den).unwrap_or(0)));
            rem %= den;
            if rem == 0 {
                break;
            }
        }
    }
    out
}

/// An order with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: hemtid_core::contract::CareOrderBody,
    /// "51:36" when the order states a monthly total (R18).
    pub monthly_total: Option<String>,
    pub lines: Vec<LineView>,
}

impl From<OrderWithLines> for OrderView {
    fn from(o: OrderWithLines) -> Self {
        OrderView {
            monthly_total: o
                .order
                .fields
                .monthly_total_minutes
                .map(|m| format_hm(m.into())),
            order: (&o.order).into(),
            lines: o.lines.into_iter().map(LineView::from).collect(),
        }
    }
}

/// Ordered time of one order in one month, per line and in total.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderedTimeView {
    pub order_id: String,
    #[schema(value_type = MonthConvention)]
    pub convention: &'static str,
    #[serde(flatten)]
    pub time: MonthlyOrderedTime,
    /// The binding total as hours:minutes.
    pub total: String,
    pub lines: Vec<OrderedLineView>,
}

/// One line's share of the month.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderedLineView {
    pub service_code: String,
    pub minutes: i64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_exact_when_they_terminate() {
        assert_eq!(super::decimal(12, 60), "0.2");
        assert_eq!(super::decimal(9, 60), "0.15");
        assert_eq!(super::decimal(90, 60), "1.5");
        assert_eq!(super::decimal(60, 60), "1");
        assert_eq!(super::decimal(10, 60), "0.166666");
    }
}
