//! Providers (utförare), managed by the municipality admin or integration.

use super::crud::{Crud, taken};
use crate::error::ApiError;
use hemtid_core::db::provider::{self, Provider, ProviderFields};
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::domain::personnummer::parse_org_number;
use hemtid_core::model::Regi;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/providers` and `PUT /api/v1/providers/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Organisationsnummer, `NNNNNN-NNNN`.
    #[serde(default)]
    pub org_number: Option<String>,
    pub regi: Regi,
    #[serde(default = "super::yes")]
    pub active: bool,
}

impl Crud for Provider {
    type Body = hemtid_core::contract::ProviderBody;
    type Input = ProviderInput;
    type Fields = ProviderFields;
    const PATH: &'static str = "/providers";
    const TAKEN: &'static str = "a provider with this name exists in the municipality";

    fn id(&self) -> &str {
        &self.id
    }

    fn body_id(input: &ProviderInput) -> Option<Uuid> {
        input.id
    }

    fn validate(input: ProviderInput, v: &mut ValidationErrors, _creating: bool) -> ProviderFields {
        let org = input
            .org_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let org_number = org.and_then(|s| {
            let parsed = parse_org_number(s);
            if parsed.is_none() {
                v.add(
                    "org_number",
                    "invalid_org_number",
                    "expected NNNNNN-NNNN with a valid check digit",
                );
            }
            parsed
        });
        ProviderFields {
            name: v.text("name", &input.name, 200),
            org_number,
            regi: input.regi.as_str().to_string(),
            active: input.active,
        }
    }

    fn list(c: &mut DbConn, m: &str) -> Result<Vec<Provider>, StoreError> {
        provider::list(c, m)
    }

    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<Provider, StoreError> {
        provider::get(c, m, id)
    }

    fn create(c: &mut DbConn, m: &str, id: &str, f: &ProviderFields) -> Result<Provider, ApiError> {
        provider::create(c, m, id, f).map_err(taken::<Provider>)
    }

    fn update(c: &mut DbConn, m: &str, id: &str, f: &ProviderFields) -> Result<Provider, ApiError> {
        provider::update(c, m, id, f).map_err(taken::<Provider>)
    }
}
