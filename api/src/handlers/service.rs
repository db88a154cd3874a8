//! The service catalogue (insatser with standard minutes).

use super::crud::{Crud, taken};
use crate::error::ApiError;
use hemtid_core::db::service::{self, Service, ServiceFields};
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::model::ServiceGroup;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/services` and `PUT …/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    /// As the case system prints it, e.g. `O-Duschhjälp`.
    #[schema(min_length = 1, max_length = 100)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `S` (service) or `O` (personal care).
    pub group: ServiceGroup,
    /// Schablontid, minutes per occurrence.
    #[schema(minimum = 0, maximum = 1440)]
    pub standard_minutes: i32,
    #[serde(default = "super::yes")]
    pub active: bool,
    /// A care bundle (omvårdnadspaket): registered only with at least
    /// three personal-care services of the same visit, which then share
    /// its time (R19). Only personal-care services can be one.
    #[serde(default)]
    pub care_bundle: bool,
    /// Left out of personalkontinuitet (alarm visits, meal deliveries).
    #[serde(default)]
    pub continuity_excluded: bool,
    /// Offered without an individual needs decision (SoL 2025:400): its
    /// performed time is recorded and reported, outside the variance and
    /// the fee report.
    #[serde(default)]
    pub without_decision: bool,
    /// Its code in Socialstyrelsen's KSI: three letters of inriktning, two
    /// of agerande and two of metod, e.g. `SNH RB ZZ` (also written
    /// without spaces or with dots; stored as `SNH RB ZZ`).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{3}([ .-]+[A-Za-z]{2}[ .-]+[A-Za-z]{2}|[A-Za-z]{4})$")]
    pub ksi_code: Option<String>,
}

impl Crud for Service {
    type Body = hemtid_core::contract::ServiceBody;
    type Input = ServiceInput;
    type Fields = ServiceFields;
    const PATH: &'static str = "/services";
    const TAKEN: &'static str = "a service with this code exists in the catalogue";

    fn id(&self) -> &str {
        &self.id
    }

    fn body_id(input: &ServiceInput) -> Option<Uuid> {
        input.id
    }

    fn validate(input: ServiceInput, v: &mut ValidationErrors, _creating: bool) -> ServiceFields {
        if input.care_bundle && input.group != ServiceGroup::PersonalCare {
            v.add(
                "care_bundle",
                "not_personal_care",
                "only a personal-care service (group O) can be a care bundle (R19)",
            );
        }
        v.range(
            "standard_minutes",
            input.standard_minutes.into(),
            0,
            24 * 60,
        );
        ServiceFields {
            code: v.text("code", &input.code, 100),
            name: v.text("name", &input.name, 200),
            service_group: input.group.as_str().to_string(),
            standard_minutes: input.standard_minutes,
            active: input.active,
            care_bundle: input.care_bundle,
            continuity_excluded: input.continuity_excluded,
            without_decision: input.without_decision,
            ksi_code: input.ksi_code.as_deref().and_then(|k| {
                let code = hemtid_core::domain::ksi::normalise(k);
                if code.is_none() {
                    v.add(
                        "ksi_code",
                        "invalid_ksi_code",
                        "a KSI code is three letters, two and two, e.g. SNH RB ZZ",
                    );
                }
                code
            }),
        }
    }

    fn list(c: &mut DbConn, m: &str) -> Result<Vec<Service>, StoreError> {
        service::list(c, m)
    }

    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<Service, StoreError> {
        service::get(c, m, id)
    }

    fn create(c: &mut DbConn, m: &str, id: &str, f: &ServiceFields) -> Result<Service, ApiError> {
        service::create(c, m, id, f).map_err(taken::<Service>)
    }

    fn update(c: &mut DbConn, m: &str, id: &str, f: &ServiceFields) -> Result<Service, ApiError> {
        service::update(c, m, id, f).map_err(taken::<Service>)
    }
}
