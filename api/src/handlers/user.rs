//! User accounts: who signs in, with which role, for which organisation.

use super::crud::{Crud, taken};
use super::reference;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Admin, Json};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::auth;
use hemtid_core::db::user_account::{self, UserAccount, UserFields};
use hemtid_core::db::{DbConn, StoreError, authority_unit, provider, refresh_token};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/users` and `PUT /api/v1/users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    /// 2–64 characters: letters a–z, digits, `.`, `_` or `-` (stored in
    /// lower case).
    #[schema(pattern = "^[A-Za-z0-9._-]{2,64}$")]
    pub username: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub provider_id: Option<Uuid>,
    #[serde(default)]
    pub authority_unit_id: Option<Uuid>,
    #[serde(default = "super::yes")]
    pub active: bool,
    /// Only on create; change it later with `PUT /users/{id}/password`.
    #[serde(default)]
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
    /// Who the person is at the municipality's identity provider: the
    /// value of the claim it is configured to match (`sub`, HSA-id,
    /// employee number, e-mail). Without it she cannot sign in there.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// Body of `PUT /api/v1/users/{id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

fn check_password(v: &mut ValidationErrors, field: &str, password: &str) {
    let n = password.chars().count();
    if n < 10 {
        v.add(field, "too_short", "at least 10 characters");
    } else if n > 256 {
        v.add(field, "too_long", "at most 256 characters");
    }
}

/// The account's fields and, on create, its first password.
pub struct NewUser {
    fields: UserFields,
    password: Option<String>,
}

impl Crud for UserAccount {
    type Body = hemtid_core::contract::UserAccountBody;
    type Input = UserInput;
    type Fields = NewUser;
    const PATH: &'static str = "/users";
    const TAKEN: &'static str = "the username or the external id is taken";

    fn id(&self) -> &str {
        &self.id
    }

    fn body_id(input: &UserInput) -> Option<Uuid> {
        input.id
    }

    fn validate(input: UserInput, v: &mut ValidationErrors, creating: bool) -> NewUser {
        let username = input.username.trim().to_lowercase();
        let ok_chars = username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !(2..=64).contains(&username.len()) || !ok_chars {
            v.add(
                "username",
                "invalid_username",
                "2–64 characters: a–z, 0–9, '.', '_' or '-'",
            );
        }
        let role = input.role;
        if role.needs_provider() && input.provider_id.is_none() {
            v.add(
                "provider_id",
                "required",
                format!("a {role} belongs to a provider"),
            );
        }
        if !role.needs_provider() && input.provider_id.is_some() {
            v.add(
                "provider_id",
                "not_allowed",
                format!("a {role} does not belong to a provider"),
            );
        }
        if role.needs_unit() && input.authority_unit_id.is_none() {
            v.add(
                "authority_unit_id",
                "required",
                format!("a {role} belongs to an authority unit"),
            );
        }
        if !role.may_have_unit() && input.authority_unit_id.is_some() {
            v.add(
                "authority_unit_id",
                "not_allowed",
                format!("a {role} does not belong to an authority unit"),
            );
        }
        match (&input.password, creating) {
            (Some(pw), true) => check_password(v, "password", pw),
            (Some(_), false) => v.add(
                "password",
                "not_allowed",
                "change passwords with PUT /api/v1/users/{id}/password",
            ),
            (None, _) => {}
        }
        let fields = UserFields {
            username,
            display_name: v.text("display_name", &input.display_name, 200),
            role,
            provider_id: input.provider_id.map(|u| u.to_string()).map(Into::into),
            authority_unit_id: input.authority_unit_id.map(|u| u.to_string()),
            active: input.active,
            external_id: v.optional_text("external_id", input.external_id.as_deref(), 256),
        };
        NewUser {
            fields,
            password: input.password,
        }
    }

    /// The provider and unit must exist in the caller's municipality.
    fn check(
        c: &mut DbConn,
        m: &str,
        u: &NewUser,
        mut v: ValidationErrors,
    ) -> Result<(), ApiError> {
        if let Some(p) = &u.fields.provider_id {
            reference(&mut v, "provider_id", provider::get(c, m, p))?;
        }
        if let Some(unit) = &u.fields.authority_unit_id {
            reference(&mut v, "authority_unit_id", authority_unit::get(c, m, unit))?;
        }
        Ok(v.into_result(())?)
    }

    fn list(c: &mut DbConn, m: &str) -> Result<Vec<UserAccount>, StoreError> {
        user_account::list(c, m)
    }

    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<UserAccount, StoreError> {
        user_account::get(c, m, id)
    }

    fn create(c: &mut DbConn, m: &str, id: &str, u: &NewUser) -> Result<UserAccount, ApiError> {
        let hash = u
            .password
            .as_deref()
            .map(auth::hash_password)
            .transpose()
            .map_err(ApiError::internal)?;
        user_account::create(c, m, id, &u.fields, hash.as_deref()).map_err(taken::<UserAccount>)
    }

    fn update(c: &mut DbConn, m: &str, id: &str, u: &NewUser) -> Result<UserAccount, ApiError> {
        let updated = user_account::update(c, m, id, &u.fields).map_err(taken::<UserAccount>)?;
        if !updated.fields.active {
            // A disabled account's sign-ins end now, not when they expire.
            refresh_token::revoke_user(c, id, hemtid_core::db::now())?;
            crate::sessions::forget();
        }
        Ok(updated)
    }
}

/// Body of `PUT /api/v1/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPasswordInput {
    pub current_password: String,
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

/// `PUT /api/v1/me/password`: any signed-in user changes her own password
/// with the current one. Her other sign-ins end; this one goes on.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "auth",
    security(("bearer" = [])),
    request_body = OwnPasswordInput,
    responses(
        (status = 204, description = "Changed."),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn change_own_password(
    state: web::Data<AppState>,
    p: crate::extract::Principal,
    Json(input): Json<OwnPasswordInput>,
) -> Result<HttpResponse, ApiError> {
    // The sign-in this request came with stays; an integration token has
    // none, and no password.
    let Some(sid) = p.sid.clone() else {
        return Err(ApiError::with_detail(
            crate::error::ErrorCode::Forbidden,
            "an integration token has no password",
        ));
    };
    let mut v = ValidationErrors::new();
    check_password(&mut v, "new_password", &input.new_password);
    v.into_result(())?;
    state
        .db(move |c| {
            let user = user_account::get(c, &p.municipality_id, &p.subject)?;
            if !auth::verify_password(&input.current_password, user.password_hash.as_deref()) {
                let mut v = ValidationErrors::new();
                v.add(
                    "current_password",
                    "wrong_password",
                    "the current password is not right",
                );
                return Err(v.into());
            }
            let hash = auth::hash_password(&input.new_password).map_err(ApiError::internal)?;
            user_account::set_password_hash(c, &p.municipality_id, &user.id, &hash)?;
            refresh_token::revoke_user_except(c, &user.id, &sid, hemtid_core::db::now())?;
            Ok(())
        })
        .await?;
    crate::sessions::forget();
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/users/{id}/password`: a new password; every sign-in of the
/// account ends.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/password",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user.")),
    request_body = PasswordInput,
    responses(
        (status = 204, description = "Changed."),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn set_password(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    Json(input): Json<PasswordInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    check_password(&mut v, "password", &input.password);
    v.into_result(())?;
    let id = id.to_string();
    state
        .db(move |c| {
            let hash = auth::hash_password(&input.password).map_err(ApiError::internal)?;
            user_account::set_password_hash(c, &p.municipality_id, &id, &hash)?;
            // A new password ends every sign-in of the account.
            refresh_token::revoke_user(c, &id, hemtid_core::db::now())?;
            Ok(())
        })
        .await?;
    crate::sessions::forget();
    Ok(HttpResponse::NoContent().finish())
}
