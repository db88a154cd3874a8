//! Authority units (ÄVO, FFS).

use super::crud::{Crud, taken};
use crate::error::ApiError;
use hemtid_core::db::authority_unit::{self, AuthorityUnit, AuthorityUnitFields};
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::model::UnitKind;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/authority-units` and `PUT …/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `elderly` (ÄVO) or `disability` (FFS).
    pub kind: UnitKind,
}

impl Crud for AuthorityUnit {
    type Body = hemtid_core::contract::AuthorityUnitBody;
    type Input = UnitInput;
    type Fields = AuthorityUnitFields;
    const PATH: &'static str = "/authority-units";
    const TAKEN: &'static str = "a unit with this name exists in the municipality";

    fn id(&self) -> &str {
        &self.id
    }

    fn body_id(input: &UnitInput) -> Option<Uuid> {
        input.id
    }

    fn validate(
        input: UnitInput,
        v: &mut ValidationErrors,
        _creating: bool,
    ) -> AuthorityUnitFields {
        AuthorityUnitFields {
            name: v.text("name", &input.name, 200),
            kind: input.kind,
        }
    }

    fn list(c: &mut DbConn, m: &str) -> Result<Vec<AuthorityUnit>, StoreError> {
        authority_unit::list(c, m)
    }

    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<AuthorityUnit, StoreError> {
        authority_unit::get(c, m, id)
    }

    fn create(
        c: &mut DbConn,
        m: &str,
        id: &str,
        f: &AuthorityUnitFields,
    ) -> Result<AuthorityUnit, ApiError> {
        authority_unit::create(c, m, id, f).map_err(taken::<AuthorityUnit>)
    }

    fn update(
        c: &mut DbConn,
        m: &str,
        id: &str,
        f: &AuthorityUnitFields,
    ) -> Result<AuthorityUnit, ApiError> {
        authority_unit::update(c, m, id, f).map_err(taken::<AuthorityUnit>)
    }
}
