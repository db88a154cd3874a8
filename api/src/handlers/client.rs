//! Clients. The personal identity number travels in bodies only: a lookup
//! by number is a POST, never a URL, and it is never logged.

use super::crud::{Crud, taken};
use super::{reference, today};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Admin, Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::client::{self, Client, ClientFields};
use hemtid_core::db::{DbConn, StoreError, access, provider, user_account};
use hemtid_core::domain::PersonalNumber;
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/clients` and `PUT /api/v1/clients/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Personnummer or samordningsnummer, e.g. `19121212-1212`.
    #[schema(pattern = "^([0-9]{8}-?[0-9]{4}|[0-9]{6}[-+]?[0-9]{4})$")]
    pub personal_number: String,
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub street_address: String,
    /// Five digits, `NNN NN`.
    #[schema(pattern = "^[0-9]{3} ?[0-9]{2}$")]
    pub postal_code: String,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    #[serde(default)]
    #[schema(pattern = "^[0-9 +()-]{1,40}$")]
    pub phone: Option<String>,
    #[serde(default)]
    pub caseworker_id: Option<Uuid>,
    #[serde(default)]
    pub provider_id: Option<Uuid>,
    /// The same id for clients who live together (sammanboende).
    #[serde(default)]
    pub household_id: Option<Uuid>,
}

/// Body of `POST /api/v1/clients/lookup`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    #[schema(pattern = "^([0-9]{8}-?[0-9]{4}|[0-9]{6}[-+]?[0-9]{4})$")]
    pub personal_number: String,
}

/// The normalised number, or a field error that does not echo the input.
fn personal_number(v: &mut ValidationErrors, text: &str) -> String {
    match PersonalNumber::parse(text, today()) {
        Ok(p) => p.as_str().to_string(),
        Err(e) => {
            v.add("personal_number", e.code(), e.to_string());
            String::new()
        }
    }
}

impl Crud for Client {
    type Body = hemtid_core::contract::ClientBody;
    type Input = ClientInput;
    type Fields = ClientFields;
    const PATH: &'static str = "/clients";
    const TAKEN: &'static str = "a client with this personal identity number exists";

    fn id(&self) -> &str {
        &self.id
    }

    fn body_id(input: &ClientInput) -> Option<Uuid> {
        input.id
    }

    fn validate(input: ClientInput, v: &mut ValidationErrors, _creating: bool) -> ClientFields {
        let digits: String = input
            .postal_code
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let postal_code = if digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()) {
            format!("{} {}", &digits[..3], &digits[3..])
        } else {
            v.add(
                "postal_code",
                "invalid_postal_code",
                "expected five digits, e.g. 175 61",
            );
            String::new()
        };
        let phone = v.optional_text("phone", input.phone.as_deref(), 40);
        if phone
            .as_deref()
            .is_some_and(|p| !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
        {
            v.add(
                "phone",
                "invalid_phone",
                "digits, spaces, +, - and parentheses only",
            );
        }
        ClientFields {
            personal_number: personal_number(v, &input.personal_number),
            given_name: v.text("given_name", &input.given_name, 100),
            family_name: v.text("family_name", &input.family_name, 100),
            street_address: v.text("street_address", &input.street_address, 200),
            postal_code,
            city: v.text("city", &input.city, 100),
            phone,
            caseworker_id: input.caseworker_id.map(|u| u.to_string()).map(Into::into),
            provider_id: input.provider_id.map(|u| u.to_string()).map(Into::into),
            household_id: input.household_id.map(|u| u.to_string()),
        }
    }

    /// The caseworker must be a caseworker, the provider a provider, both in
    /// the caller's municipality.
    fn check(
        c: &mut DbConn,
        m: &str,
        f: &ClientFields,
        mut v: ValidationErrors,
    ) -> Result<(), ApiError> {
        if let Some(id) = &f.caseworker_id {
            let found = reference(&mut v, "caseworker_id", user_account::get(c, m, id))?;
            if found.is_some_and(|u| u.fields.role != Role::Caseworker) {
                v.add(
                    "caseworker_id",
                    "not_a_caseworker",
                    "the user is not a caseworker",
                );
            }
        }
        if let Some(id) = &f.provider_id {
            reference(&mut v, "provider_id", provider::get(c, m, id))?;
        }
        Ok(v.into_result(())?)
    }

    fn list(c: &mut DbConn, m: &str) -> Result<Vec<Client>, StoreError> {
        client::list(c, m)
    }

    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<Client, StoreError> {
        client::get(c, m, id)
    }

    fn create(c: &mut DbConn, m: &str, id: &str, f: &ClientFields) -> Result<Client, ApiError> {
        let created = client::create(c, m, id, f).map_err(taken::<Client>)?;
        tracing::info!(client_id = %created.id, "client created");
        Ok(created)
    }

    /// Every role reads the clients within its reach: admins and fee
    /// administrators the municipality's, caseworkers their unit's,
    /// provider admins their provider's, care workers today's.
    /// Each client listed is a read of a personal identity number (R14).
    fn read_list(c: &mut DbConn, p: &Principal, today: NaiveDate) -> Result<Vec<Client>, ApiError> {
        let all = access::visible_clients(c, &p.scope(), today)?;
        hemtid_core::db::transaction(c, |c| {
            for cl in &all {
                super::log_read(c, p, &cl.id, "client", Vec::new())?;
            }
            Ok(())
        })?;
        Ok(all)
    }

    /// Someone else's client is not found.
    fn read_one(
        c: &mut DbConn,
        p: &Principal,
        id: &str,
        today: NaiveDate,
    ) -> Result<Client, ApiError> {
        // Every role but the auditor, who reads the access log only.
        p.require(&[
            Role::Staff,
            Role::ProviderAdmin,
            Role::Caseworker,
            Role::FeeAdmin,
            Role::Admin,
        ])?;
        let cl = access::visible_client(c, &p.scope(), id, today)?;
        super::log_read(c, p, &cl.id, "client", Vec::new())?;
        Ok(cl)
    }

    fn update(c: &mut DbConn, m: &str, id: &str, f: &ClientFields) -> Result<Client, ApiError> {
        client::update(c, m, id, f).map_err(taken::<Client>)
    }
}

/// `POST /api/v1/clients/lookup`: the client with a personal identity
/// number, which travels in the body and never in a URL.
#[utoipa::path(
    post,
    path = "/api/v1/clients/lookup",
    tag = "integration",
    security(("bearer" = [])),
    request_body = LookupInput,
    responses(
        (status = 200, description = "The client.", body = hemtid_core::contract::ClientBody),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn lookup_client(
    state: web::Data<AppState>,
    Admin(p): Admin,
    Json(input): Json<LookupInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    let number = personal_number(&mut v, &input.personal_number);
    v.into_result(())?;
    let p2 = p.clone();
    let found = state
        .db(move |c| {
            Ok(client::find_by_personal_number(
                c,
                &p.municipality_id,
                &number,
            )?)
        })
        .await?;
    let found = match found {
        Some(cl) => {
            let id = cl.id.clone();
            state
                .db(move |c| Ok(super::log_read(c, &p2, &id, "client", Vec::new())?))
                .await?;
            Some(cl)
        }
        None => None,
    };
    found.map_or_else(
        || Err(ApiError::not_found()),
        |c| Ok(HttpResponse::Ok().json(hemtid_core::contract::ClientBody::from(&c))),
    )
}
