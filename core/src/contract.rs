//! What hemtid's contracts carry (the API's JSON, the Server-Sent Events,
//! the MQTT payloads), apart from the rows it is read from: a column can
//! change without changing a contract, and the contract tests
//! (`openapi.json`, `asyncapi.yaml`) notice when a contract changes.

use crate::db::alert::Alert as AlertRow;
use crate::db::utc;
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
    pub kind: String,
    /// The rule ids applied, e.g. `R1,R2` (see the glossary).
    pub rules: String,
    /// Who is told: `caseworker`, `provider` or `fee_admin`.
    pub audience: String,
    pub caseworker_id: Option<String>,
    pub provider_id: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
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
            kind: a.kind.clone(),
            rules: a.rules.clone(),
            audience: a.audience.clone(),
            caseworker_id: a.caseworker_id.clone(),
            provider_id: a.provider_id.clone(),
            state: a.state.clone(),
            message: a.message.clone(),
            // Written by hemtid as JSON; unreadable text shows as null.
            figures: serde_json::from_str(&a.figures).unwrap_or(serde_json::Value::Null),
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
