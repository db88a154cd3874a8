//! The authority's side as the API shows it: decisions, orders and the
//! care plan's versions, follow-ups and contact persons (the rows are in
//! `crate::db::decision`, `crate::db::care_order` and
//! `crate::db::care_plan`).

use crate::db::care_order::{CareOrder, CareOrderFields};
use crate::db::care_plan::{
    ContactPerson, IndividualFollowUp, PlanContent, PlanFollowUp, PlanVersion,
};
use crate::db::decision::{Decision, DecisionFields};
use crate::db::utc;
use crate::model::{DecisionKind, Participation, PlanState, Review};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

// A decision as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Decision))]
/// A decision granting home care under SoL 4 kap. 1 §.
pub struct DecisionBody {
    pub id: String,
    #[serde(flatten)]
    pub fields: DecisionFieldsBody,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
}

// A decision's fields as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DecisionFields))]
/// The fields a create or update sets.
pub struct DecisionFieldsBody {
    pub client_id: String,
    /// `frame` (rambeslut) or `per_service` (insatsbeslut).
    pub kind: DecisionKind,
    pub legal_basis: String,
    pub decided_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive.
    pub valid_to: Option<NaiveDate>,
    pub purpose: String,
    pub goals: String,
    pub caseworker_id: Option<String>,
}

impl From<&Decision> for DecisionBody {
    fn from(d: &Decision) -> Self {
        let f: &DecisionFields = &d.fields;
        DecisionBody {
            id: d.id.clone(),
            fields: DecisionFieldsBody {
                client_id: f.client_id.to_string(),
                kind: f.kind,
                legal_basis: f.legal_basis.clone(),
                decided_on: f.decided_on,
                valid_from: f.valid_from,
                valid_to: f.valid_to,
                purpose: f.purpose.clone(),
                goals: f.goals.clone(),
                caseworker_id: f.caseworker_id.as_deref().map(String::from),
            },
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CareOrder))]
/// An order from the authority to a provider.
pub struct CareOrderBody {
    pub id: String,
    #[serde(flatten)]
    pub fields: CareOrderFieldsBody,
    /// The order this one renewed (R17).
    pub previous_order_id: Option<String>,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
}

// An order's fields as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CareOrderFields))]
/// The fields a create or update sets.
pub struct CareOrderFieldsBody {
    pub decision_id: String,
    pub client_id: String,
    pub provider_id: String,
    /// Beställningsdatum.
    pub ordered_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive.
    pub valid_to: Option<NaiveDate>,
    /// Visits per day the order asks for (R8).
    pub daily_visits: Option<i32>,
    /// Minutes per month with a second staff member (R20).
    pub double_staffing_minutes: i32,
    /// "Beställd kvantitet" in minutes per month, when stated.
    pub monthly_total_minutes: Option<i32>,
    pub free_text: String,
}

impl From<&CareOrder> for CareOrderBody {
    fn from(o: &CareOrder) -> Self {
        let f: &CareOrderFields = &o.fields;
        CareOrderBody {
            id: o.id.clone(),
            fields: CareOrderFieldsBody {
                decision_id: f.decision_id.clone(),
                client_id: f.client_id.to_string(),
                provider_id: f.provider_id.to_string(),
                ordered_on: f.ordered_on,
                valid_from: f.valid_from,
                valid_to: f.valid_to,
                daily_visits: f.daily_visits,
                double_staffing_minutes: f.double_staffing_minutes,
                monthly_total_minutes: f.monthly_total_minutes,
                free_text: f.free_text.clone(),
            },
            previous_order_id: o.previous_order_id.clone(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

// A version of the care plan as the API shows it; its content is the
// document the provider wrote (stored as that document's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanVersion))]
/// One version of a client's plan.
pub struct PlanVersionBody {
    pub id: String,
    pub client_id: String,
    pub provider_id: String,
    pub version: i32,
    /// `draft`, `in_revision`, `approved` or `superseded`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: PlanState,
    pub content: PlanContent,
    /// `took_part` or `declined` (a deviation, not a blocker).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub participation: Participation,
    /// How the client took part, or why they declined.
    pub participation_note: String,
    pub created_by: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
    pub approved_by: Option<String>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub approved_at: Option<NaiveDateTime>,
    /// The caseworker's check against the order: `unchecked`, `checked`
    /// or `remarks` (sent back to the provider).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub review: Review,
    pub reviewed_by: Option<String>,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: String,
}

impl From<&PlanVersion> for PlanVersionBody {
    fn from(v: &PlanVersion) -> Self {
        PlanVersionBody {
            id: v.id.clone(),
            client_id: v.client_id.to_string(),
            provider_id: v.provider_id.to_string(),
            version: v.version,
            state: v.state,
            content: v.content(),
            participation: v.participation,
            participation_note: v.participation_note.clone(),
            created_by: v.created_by.clone(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            approved_by: v.approved_by.clone(),
            approved_at: v.approved_at,
            review: v.review,
            reviewed_by: v.reviewed_by.clone(),
            reviewed_at: v.reviewed_at,
            review_note: v.review_note.clone(),
        }
    }
}

// A follow-up of the plan as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanFollowUp))]
/// A follow-up of the plan (R11) that did not change it.
pub struct PlanFollowUpBody {
    pub id: String,
    pub client_id: String,
    pub provider_id: String,
    pub followed_up_on: NaiveDate,
    pub note: String,
    pub by_user_id: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: NaiveDateTime,
}

impl From<&PlanFollowUp> for PlanFollowUpBody {
    fn from(f: &PlanFollowUp) -> Self {
        PlanFollowUpBody {
            id: f.id.clone(),
            client_id: f.client_id.to_string(),
            provider_id: f.provider_id.to_string(),
            followed_up_on: f.followed_up_on,
            note: f.note.clone(),
            by_user_id: f.by_user_id.to_string(),
            recorded_at: f.recorded_at,
        }
    }
}

// The caseworker's individual follow-up as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IndividualFollowUp))]
/// The caseworker's individual follow-up (R12) and the next watch date.
pub struct IndividualFollowUpBody {
    pub id: String,
    pub client_id: String,
    pub done_on: NaiveDate,
    /// The next watch date.
    pub next_due: NaiveDate,
    pub note: String,
    pub by_user_id: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: NaiveDateTime,
}

impl From<&IndividualFollowUp> for IndividualFollowUpBody {
    fn from(f: &IndividualFollowUp) -> Self {
        IndividualFollowUpBody {
            id: f.id.clone(),
            client_id: f.client_id.to_string(),
            done_on: f.done_on,
            next_due: f.next_due,
            note: f.note.clone(),
            by_user_id: f.by_user_id.to_string(),
            recorded_at: f.recorded_at,
        }
    }
}

// A contact person as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContactPerson))]
/// The client's contact person and deputy at a provider (R13).
pub struct ContactPersonBody {
    pub client_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub deputy_user_id: Option<String>,
    pub named_by: String,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub named_at: NaiveDateTime,
}

impl From<&ContactPerson> for ContactPersonBody {
    fn from(p: &ContactPerson) -> Self {
        ContactPersonBody {
            client_id: p.client_id.to_string(),
            provider_id: p.provider_id.to_string(),
            user_id: p.user_id.to_string(),
            deputy_user_id: p.deputy_user_id.as_deref().map(String::from),
            named_by: p.named_by.clone(),
            named_at: p.named_at,
        }
    }
}
