//! The four handlers that providers, units, services, users and clients
//! share: list, get, create and update (PUT of the whole resource), scoped
//! to the caller's municipality. Writes are for the admin role; reads too,
//! unless a resource opens them to other roles within their reach.

use super::{check_body_id, created, id_or_new, list as items};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Admin, Json, Principal};
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// A resource managed by the integration API.
pub trait Crud: Send + Sized + 'static {
    /// What an answer shows of it (`hemtid_core::contract`): the row
    /// itself is never serialised.
    type Body: Serialize + for<'a> From<&'a Self>;
    /// The request body of create and update.
    type Input: DeserializeOwned + Send + 'static;
    /// What validation produces and storage writes.
    type Fields: Send + 'static;
    /// The collection's path under `/api/v1`, e.g. `/providers`.
    const PATH: &'static str;
    /// The 409 detail when a unique rule is broken (names the rule, never a value).
    const TAKEN: &'static str;

    fn id(&self) -> &str;
    fn body_id(input: &Self::Input) -> Option<Uuid>;
    /// Field checks that need no database.
    fn validate(input: Self::Input, v: &mut ValidationErrors, creating: bool) -> Self::Fields;
    /// Reference checks; consumes the errors gathered so far.
    fn check(
        _c: &mut DbConn,
        _m: &str,
        _f: &Self::Fields,
        v: ValidationErrors,
    ) -> Result<(), ApiError> {
        Ok(v.into_result(())?)
    }
    fn list(c: &mut DbConn, m: &str) -> Result<Vec<Self>, StoreError>;
    fn get(c: &mut DbConn, m: &str, id: &str) -> Result<Self, StoreError>;
    fn create(c: &mut DbConn, m: &str, id: &str, f: &Self::Fields) -> Result<Self, ApiError>;
    fn update(c: &mut DbConn, m: &str, id: &str, f: &Self::Fields) -> Result<Self, ApiError>;

    /// `GET PATH`: admins see the municipality's.
    fn read_list(c: &mut DbConn, p: &Principal, _today: NaiveDate) -> Result<Vec<Self>, ApiError> {
        p.require(&[Role::Admin])?;
        Ok(Self::list(c, &p.municipality_id)?)
    }

    /// `GET PATH/{id}`: admins see the municipality's.
    fn read_one(
        c: &mut DbConn,
        p: &Principal,
        id: &str,
        _today: NaiveDate,
    ) -> Result<Self, ApiError> {
        p.require(&[Role::Admin])?;
        Ok(Self::get(c, &p.municipality_id, id)?)
    }
}

/// Today in Stockholm by the app's clock (fixed in tests).
pub(crate) fn today(state: &AppState) -> NaiveDate {
    hemtid_core::domain::local_date(state.clock.now(), hemtid_core::domain::STOCKHOLM)
}

/// Registers `PATH` (GET, POST) and `PATH/{id}` (GET, PUT).
pub fn routes<R: Crud>(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::res(R::PATH)
            .route(web::get().to(list::<R>))
            .route(web::post().to(create::<R>)),
    )
    .service(
        super::res(&format!("{}/{{id}}", R::PATH))
            .route(web::get().to(get::<R>))
            .route(web::put().to(update::<R>)),
    );
}

/// Maps a unique-constraint conflict to 409 with `R::TAKEN`.
pub fn taken<R: Crud>(e: StoreError) -> ApiError {
    super::conflict_detail(e, R::TAKEN)
}

async fn list<R: Crud>(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    let today = today(&state);
    let all = state.db(move |c| R::read_list(c, &p, today)).await?;
    Ok(items(all.iter().map(R::Body::from).collect::<Vec<_>>()))
}

async fn get<R: Crud>(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let today = today(&state);
    let item = state.db(move |c| R::read_one(c, &p, &id, today)).await?;
    Ok(HttpResponse::Ok().json(R::Body::from(&item)))
}

async fn create<R: Crud>(
    state: web::Data<AppState>,
    Admin(p): Admin,
    Json(input): Json<R::Input>,
) -> Result<HttpResponse, ApiError> {
    let id = id_or_new(R::body_id(&input));
    let mut v = ValidationErrors::new();
    let fields = R::validate(input, &mut v, true);
    let item = state
        .db(move |c| {
            R::check(c, &p.municipality_id, &fields, v)?;
            R::create(c, &p.municipality_id, &id, &fields)
        })
        .await?;
    Ok(created(
        format!("/api/v1{}/{}", R::PATH, item.id()),
        &R::Body::from(&item),
    ))
}

async fn update<R: Crud>(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    Json(input): Json<R::Input>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    check_body_id(&mut v, R::body_id(&input), &id);
    let fields = R::validate(input, &mut v, false);
    let id = id.to_string();
    let item = state
        .db(move |c| {
            R::check(c, &p.municipality_id, &fields, v)?;
            R::update(c, &p.municipality_id, &id, &fields)
        })
        .await?;
    Ok(HttpResponse::Ok().json(R::Body::from(&item)))
}
