//! The API in-process (actix test service) over a real database: SQLite,
//! or PostgreSQL with `HEMTID_TEST_DATABASE_URL`. The clock is fixed at
//! 2026-11-22 12:00 UTC so tests can use fixed dates.

mod admin;
mod approval;
mod care;
mod catalogue;
mod contract;
mod devices;
mod examples;
mod measures;
mod phone;
mod planning;
mod schema_check;
mod sessions;
mod throttle;
mod variance;

use super::*;
use crate::error::ErrorCode;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use hemtid_core::db::testing::TestDb;
use hemtid_core::db::{api_token, municipality, user_account};
use hemtid_core::seed;
use serde_json::{Value, json};

/// The tests' "now".
const NOW: &str = "2026-11-22T12:00:00Z";

pub(super) struct Ctx {
    pub(super) _db: TestDb,
    pub(super) state: web::Data<AppState>,
    pub(super) admin: String,
}

pub(super) async fn setup() -> Ctx {
    let db = TestDb::new();
    let pool = db.pool();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    seed::demo(&mut pool.get().unwrap(), today).unwrap();
    let state = AppState::with_clock(
        pool,
        hemtid_core::auth::TokenKeys::new(&[42u8; 32], 900),
        Clock::Fixed(NOW.parse().unwrap()),
    );
    let mut ctx = Ctx {
        _db: db,
        state,
        admin: String::new(),
    };
    ctx.admin = ctx.login("demo.admin", seed::DEMO_PASSWORD).await;
    ctx
}

/// A response: status, content type and JSON body (Null when empty).
pub(super) struct Resp {
    pub(super) status: StatusCode,
    pub(super) content_type: String,
    pub(super) body: Value,
}

impl Resp {
    /// Asserts a problem+json answer with this code.
    pub(super) fn problem(&self, code: ErrorCode) -> &Self {
        assert_eq!(self.status, code.status(), "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["code"], code.as_str(), "{}", self.body);
        assert_eq!(self.body["status"], code.status().as_u16());
        self
    }

    /// The (field, code) pairs of a validation problem.
    pub(super) fn fields(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap().to_string(),
                            e["code"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn ok(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
}

impl Ctx {
    pub(super) async fn raw(&self, req: TestRequest) -> Resp {
        let app = test::init_service(app(self.state.clone())).await;
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = test::read_body(resp).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Resp {
            status,
            content_type,
            body,
        }
    }

    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = TestRequest::default().method(method).uri(path);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        self.raw(req).await
    }

    pub(super) async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Some(&self.admin), None).await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&self.admin), Some(body))
            .await
    }

    pub(super) async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&self.admin), Some(body))
            .await
    }

    pub(super) async fn login(&self, username: &str, password: &str) -> String {
        self.sign_in(username, password).await.0
    }

    /// Signs in; the access and the refresh token.
    pub(super) async fn sign_in(&self, username: &str, password: &str) -> (String, String) {
        let r = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        let b = r.ok(StatusCode::OK);
        (
            b["access_token"].as_str().unwrap().to_string(),
            b["refresh_token"].as_str().unwrap().to_string(),
        )
    }

    pub(super) async fn find(&self, path: &str, key: &str, value: &str) -> Value {
        let r = self.get(path).await;
        r.ok(StatusCode::OK)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i[key] == value)
            .cloned()
            .unwrap_or_else(|| panic!("no {key}={value} in {path}"))
    }
}
