//! What hemtid's contracts carry (the API's JSON, the Server-Sent Events,
//! the MQTT payloads), apart from the rows it is read from: a column can
//! change without changing a contract, and the contract tests
//! (`openapi.json`, `asyncapi.yaml`) notice when a contract changes.

use crate::db::alert::{Alert as AlertRow, AlertChange};
use crate::db::utc;
use crate::model::{AlertAction, AlertKind, AlertState, Audience};
use chrono::NaiveDateTime;
use serde::Serialize;

/// An alert as the API, the alert stream and MQTT show it (no names:
/// the API adds the client's name, MQTT never carries one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Alert))]
pub struct AlertBody {
    pub id: String,
    pub client_id: String,
    /// `YYYY-MM`, local.
    pub month: String,
    /// `outside_band`, `follow_up_recommended`, `exceeds_granted`,
    /// `pace_warning`, `missing_visits` or `visit_open_too_long`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: AlertKind,
    /// The rule ids applied, e.g. `R1,R2` (see the glossary).
    pub rules: String,
    /// Who is told: `caseworker`, `provider` or `fee_admin`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub audience: Audience,
    pub caseworker_id: Option<String>,
    pub provider_id: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: AlertState,
    /// In Swedish, for the caseworker or provider.
    pub message: String,
    /// The figures behind the alert (minutes, percentages, days).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: serde_json::Value,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub raised_at: NaiveDateTime,
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: NaiveDateTime,
    #[serde(with = "utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<NaiveDateTime>,
}

impl From<&AlertRow> for AlertBody {
    fn from(a: &AlertRow) -> Self {
        AlertBody {
            id: a.id.clone(),
            client_id: a.client_id.clone(),
            month: a.month.clone(),
            kind: a.kind,
            rules: a.rules.clone(),
            audience: a.audience,
            caseworker_id: a.caseworker_id.clone(),
            provider_id: a.provider_id.clone(),
            state: a.state,
            message: a.message.clone(),
            figures: json(&a.figures),
            raised_at: a.raised_at,
            updated_at: a.updated_at,
            resolved_at: a.resolved_at,
        }
    }
}

/// An alert's change on MQTT: the alert and its place in the outbox
/// (`seq`, which a consumer keys on with `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    #[serde(flatten)]
    pub alert: AlertBody,
    pub seq: i64,
}

/// Figures are written by hemtid as JSON; unreadable text shows as null.
fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// One change of an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AlertChange))]
pub struct AlertChangeBody {
    #[serde(with = "utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    /// `raised`, `updated`, `acknowledged`, `resolved` or `reopened`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub action: AlertAction,
    /// The state after the change.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: AlertState,
    /// Who did it; unset when the rules did.
    pub by_user_id: Option<String>,
    pub note: String,
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: serde_json::Value,
}

impl From<&AlertChange> for AlertChangeBody {
    fn from(h: &AlertChange) -> Self {
        AlertChangeBody {
            at: h.at,
            action: h.action,
            state: h.state,
            by_user_id: h.by_user_id.clone(),
            note: h.note.clone(),
            message: h.message.clone(),
            figures: json(&h.figures),
        }
    }
}
