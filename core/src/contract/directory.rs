//! The municipality's directory as the API shows it: providers, services,
//! authority units, clients and user accounts (the rows are in
//! `crate::db`; a user's password hash never leaves its row).

use crate::db::authority_unit::{AuthorityUnit, AuthorityUnitFields};
use crate::db::client::{Client, ClientFields};
use crate::db::provider::{Provider, ProviderFields};
use crate::db::service::{Service, ServiceFields};
use crate::db::user_account::{UserAccount, UserFields};
use crate::db::utc;
use chrono::NaiveDateTime;
use serde::Serialize;

/// What every directory entry carries around its fields.
macro_rules! entry {
    ($(#[$meta:meta])* $name:ident as $schema:ident, $fields:ident, $row:ident, $fields_body:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = $schema))]
        pub struct $name {
            pub id: String,
            pub municipality_id: String,
            #[serde(flatten)]
            pub fields: $fields_body,
            #[serde(with = "utc")]
            #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
            pub created_at: NaiveDateTime,
            #[serde(with = "utc")]
            #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
            pub updated_at: NaiveDateTime,
        }

        impl From<&$row> for $name {
            fn from(r: &$row) -> Self {
                $name {
                    id: r.id.to_string(),
                    municipality_id: r.municipality_id.to_string(),
                    fields: $fields_body::from(&r.fields),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                }
            }
        }

        impl From<&$fields> for $fields_body {
            fn from(f: &$fields) -> Self {
                $fields_body::of(f)
            }
        }
    };
}

entry!(
    /// A home-care provider.
    ProviderBody as Provider, ProviderFields, Provider, ProviderFieldsBody
);

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProviderFields))]
pub struct ProviderFieldsBody {
    pub name: String,
    /// Organisationsnummer, `NNNNNN-NNNN`.
    pub org_number: Option<String>,
    /// `municipal` or `private`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::Regi))]
    pub regi: String,
    pub active: bool,
}

impl ProviderFieldsBody {
    fn of(f: &ProviderFields) -> Self {
        ProviderFieldsBody {
            name: f.name.clone(),
            org_number: f.org_number.clone(),
            regi: f.regi.clone(),
            active: f.active,
        }
    }
}

entry!(
    /// A service (insats) in a municipality's catalogue.
    ServiceBody as Service, ServiceFields, Service, ServiceFieldsBody
);

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceFields))]
pub struct ServiceFieldsBody {
    /// As the case system writes it, e.g. `O-Duschhjälp`.
    pub code: String,
    pub name: String,
    /// `S` (service) or `O` (personal care).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::ServiceGroup))]
    pub service_group: String,
    /// Schablontid: minutes per occurrence.
    pub standard_minutes: i32,
    pub active: bool,
    /// A care bundle (omvårdnadspaket): one total for at least three
    /// personal-care services done in the same visit (R19).
    pub care_bundle: bool,
    /// Left out of personalkontinuitet, as alarm visits and meal
    /// deliveries are (Kolada/RKA).
    pub continuity_excluded: bool,
    /// Offered without an individual needs decision (SoL 2025:400): its
    /// performed time is recorded and reported, and stays out of the
    /// variance and the fee report.
    pub without_decision: bool,
    /// Its code in Socialstyrelsen's KSI, as `SNH RB ZZ` (inriktning,
    /// agerande, metod).
    pub ksi_code: Option<String>,
}

impl ServiceFieldsBody {
    fn of(f: &ServiceFields) -> Self {
        ServiceFieldsBody {
            code: f.code.clone(),
            name: f.name.clone(),
            service_group: f.service_group.clone(),
            standard_minutes: f.standard_minutes,
            active: f.active,
            care_bundle: f.care_bundle,
            continuity_excluded: f.continuity_excluded,
            without_decision: f.without_decision,
            ksi_code: f.ksi_code.clone(),
        }
    }
}

entry!(
    /// A unit of caseworkers.
    AuthorityUnitBody as AuthorityUnit, AuthorityUnitFields, AuthorityUnit, AuthorityUnitFieldsBody
);

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AuthorityUnitFields))]
pub struct AuthorityUnitFieldsBody {
    pub name: String,
    /// `elderly` (ÄVO) or `disability` (FFS).
    pub kind: crate::model::UnitKind,
}

impl AuthorityUnitFieldsBody {
    fn of(f: &AuthorityUnitFields) -> Self {
        AuthorityUnitFieldsBody {
            name: f.name.clone(),
            kind: f.kind,
        }
    }
}

entry!(
    /// A client receiving home care.
    ClientBody as Client, ClientFields, Client, ClientFieldsBody
);

/// The fields a create or update sets.
// `Debug` by hand: the personal identity number is personal data.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClientFields))]
pub struct ClientFieldsBody {
    /// Validated and normalised `YYYYMMDD-NNNN` (see [`crate::domain::PersonalNumber`]).
    pub personal_number: String,
    pub given_name: String,
    pub family_name: String,
    pub street_address: String,
    pub postal_code: String,
    pub city: String,
    pub phone: Option<String>,
    /// The responsible caseworker (biståndshandläggare).
    pub caseworker_id: Option<String>,
    /// The client's current provider (utförare).
    pub provider_id: Option<String>,
    /// Shared by clients who live together (sammanboende).
    pub household_id: Option<String>,
}

impl std::fmt::Debug for ClientFieldsBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFields")
            .field("personal_number", &"<redacted>")
            .field("caseworker_id", &self.caseworker_id)
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

impl ClientFieldsBody {
    fn of(f: &ClientFields) -> Self {
        ClientFieldsBody {
            personal_number: f.personal_number.clone(),
            given_name: f.given_name.clone(),
            family_name: f.family_name.clone(),
            street_address: f.street_address.clone(),
            postal_code: f.postal_code.clone(),
            city: f.city.clone(),
            phone: f.phone.clone(),
            caseworker_id: f.caseworker_id.as_deref().map(String::from),
            provider_id: f.provider_id.as_deref().map(String::from),
            household_id: f.household_id.clone(),
        }
    }
}

entry!(
    /// A user account. The password hash is never serialised.
    UserAccountBody as UserAccount, UserFields, UserAccount, UserFieldsBody
);

/// The fields a create or update sets (the password is set separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UserFields))]
pub struct UserFieldsBody {
    /// Sign-in name, lower case.
    pub username: String,
    pub display_name: String,
    /// See [`crate::model::Role`].
    pub role: crate::model::Role,
    pub provider_id: Option<String>,
    pub authority_unit_id: Option<String>,
    pub active: bool,
    /// Who the person is at the municipality's identity provider: the
    /// value of its configured claim (`sub`, HSA-id, employee number,
    /// e-mail). Unset: no sign-in through the provider.
    pub external_id: Option<String>,
}

impl UserFieldsBody {
    fn of(f: &UserFields) -> Self {
        UserFieldsBody {
            username: f.username.clone(),
            display_name: f.display_name.clone(),
            role: f.role,
            provider_id: f.provider_id.as_deref().map(String::from),
            authority_unit_id: f.authority_unit_id.clone(),
            active: f.active,
            external_id: f.external_id.clone(),
        }
    }
}
