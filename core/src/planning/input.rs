//! A planned visit as the planning system sends it, before it is checked.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// Plans in one batch at most.
pub const MAX_PLANS: usize = 20_000;
/// How far back and ahead a plan may lie.
pub const PAST_DAYS: i64 = 62;
pub const FUTURE_DAYS: i64 = 400;

/// One planned visit, as the planning system has it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlannedVisitInput))]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The planning system's own id of the visit: sent again, the plan
    /// replaces its earlier version.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub planner_ref: String,
    pub client_id: Uuid,
    /// The window the visit should start in; its local day is the plan's.
    pub earliest_start: DateTime<Utc>,
    pub latest_start: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub expected_minutes: i32,
    /// Service codes of the municipality's catalogue.
    #[serde(default)]
    pub services: Vec<String>,
    /// The care workers planned (the provider's staff), if known.
    #[serde(default)]
    pub staff: Vec<Uuid>,
    #[serde(default)]
    pub double_staffing: bool,
    /// Medication, insulin, a CPAP mask: late sooner.
    #[serde(default)]
    pub time_critical: bool,
    /// The plan's own tolerance in minutes after its latest start.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 720))]
    pub tolerance_minutes: Option<i32>,
}
