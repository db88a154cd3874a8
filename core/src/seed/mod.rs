//! The Järfälla service catalogue and the demo municipality.
//!
//! `catalogue` holds the service catalogue; `clients` the demo's clients,
//! orders and plans; `visits` its visits, recorded through the engine.

mod catalogue;
mod clients;
mod error;
mod visits;

pub use catalogue::{BUNDLE_CONTENTS, JARFALLA_SERVICES, ensure_catalogue, service_code};
pub use error::SeedError;
pub use visits::{DemoVisits, demo_visits};

use crate::auth;
use crate::db::municipality::{self, Municipality, MunicipalitySettings};
use crate::db::provider::{self, ProviderFields};
use crate::db::user_account::{self, UserFields};
use crate::db::{DbConn, authority_unit, new_id};
use crate::model::{Regi, Role, UnitKind};
use chrono::NaiveDate;
use clients::{Ids, demo_clients};

/// Kommunkod of the demo municipality.
pub const DEMO_MUNICIPALITY_CODE: &str = "9999";
/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "hemtid-demo";

/// A demo account to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub organisation: String,
}

/// What [`demo`] did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub municipality: Municipality,
    /// False when the demo was already there (seeding is idempotent).
    pub created: bool,
    pub logins: Vec<DemoLogin>,
}

/// Loads the demo municipality unless it exists: two providers, two
/// authority units, staff, caseworkers and five clients with decisions and
/// orders, one of them Järfälla's Bilaga 4 example. Dates are relative to
/// `today` so the demo always has recent months.
pub fn demo(conn: &mut DbConn, today: NaiveDate) -> Result<DemoSummary, SeedError> {
    let logins = demo_logins();
    if let Some(m) = municipality::find_by_code(conn, DEMO_MUNICIPALITY_CODE)? {
        return Ok(DemoSummary {
            municipality: m,
            created: false,
            logins,
        });
    }
    // One hash for all demo accounts: they share a published password.
    let hash = auth::hash_password(DEMO_PASSWORD)?;
    let municipality = crate::db::transaction_with(conn, |conn| build_demo(conn, today, &hash))?;
    Ok(DemoSummary {
        municipality,
        created: true,
        logins,
    })
}

const JAKOBSBERG: &str = "Hemtjänsten Jakobsberg";
const OMSORGSHUSET: &str = "Omsorgshuset Hemtjänst AB";
const AVO: &str = "Biståndsenheten äldre (ÄVO)";
const FFS: &str = "Funktionsstöd (FFS)";

const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    ("demo.admin", "Ada Admin", Role::Admin, ""),
    (
        "demo.handlaggare",
        "Hanna Handläggare",
        Role::Caseworker,
        AVO,
    ),
    (
        "demo.handlaggare.ffs",
        "Fredrik Funktionsstöd",
        Role::Caseworker,
        FFS,
    ),
    ("demo.avgift", "Agnes Avgift", Role::FeeAdmin, ""),
    (
        "demo.chef.jakobsberg",
        "Jonas Chef",
        Role::ProviderAdmin,
        JAKOBSBERG,
    ),
    (
        "demo.chef.omsorgshuset",
        "Olga Chef",
        Role::ProviderAdmin,
        OMSORGSHUSET,
    ),
    ("demo.anna", "Anna Andersson", Role::Staff, JAKOBSBERG),
    ("demo.bertil", "Bertil Berg", Role::Staff, JAKOBSBERG),
    (
        "demo.cecilia",
        "Cecilia Carlsson",
        Role::Staff,
        OMSORGSHUSET,
    ),
];

fn demo_logins() -> Vec<DemoLogin> {
    DEMO_USERS
        .iter()
        .map(|(username, _, role, org)| DemoLogin {
            username: (*username).to_string(),
            role: *role,
            organisation: if org.is_empty() {
                "Demokommun".into()
            } else {
                (*org).into()
            },
        })
        .collect()
}

fn build_demo(conn: &mut DbConn, today: NaiveDate, hash: &str) -> Result<Municipality, SeedError> {
    let m = municipality::create(
        conn,
        DEMO_MUNICIPALITY_CODE,
        "Demokommun",
        &MunicipalitySettings::default(),
    )?;
    ensure_catalogue(conn, &m.id)?;
    let mk_provider = |conn: &mut DbConn, name: &str, regi: Regi| {
        provider::create(
            conn,
            &m.id,
            &new_id(),
            &ProviderFields {
                name: name.into(),
                org_number: None,
                regi: regi.as_str().into(),
                active: true,
            },
        )
    };
    let jakobsberg = mk_provider(conn, JAKOBSBERG, Regi::Municipal)?.id;
    let omsorgshuset = mk_provider(conn, OMSORGSHUSET, Regi::Private)?.id;
    let mk_unit = |conn: &mut DbConn, name: &str, kind: UnitKind| {
        authority_unit::create(
            conn,
            &m.id,
            &new_id(),
            &authority_unit::AuthorityUnitFields {
                name: name.into(),
                kind,
            },
        )
    };
    let avo = mk_unit(conn, AVO, UnitKind::Elderly)?.id;
    let ffs = mk_unit(conn, FFS, UnitKind::Disability)?.id;
    let org_id = |org: &str| match org {
        JAKOBSBERG => (Some(jakobsberg.clone()), None),
        OMSORGSHUSET => (Some(omsorgshuset.clone()), None),
        AVO => (None, Some(avo.clone())),
        FFS => (None, Some(ffs.clone())),
        _ => (None, None),
    };
    let mut caseworkers = Vec::new();
    let mut admins: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut staff: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (username, name, role, org) in DEMO_USERS {
        let (provider_id, authority_unit_id) = org_id(org);
        let user = user_account::create(
            conn,
            &m.id,
            &new_id(),
            &UserFields {
                username: (*username).into(),
                display_name: (*name).into(),
                role: *role,
                provider_id: provider_id.clone(),
                authority_unit_id,
                active: true,
                external_id: None,
            },
            Some(hash),
        )?;
        match (role, provider_id) {
            (Role::Caseworker, _) => caseworkers.push(user.id),
            (Role::ProviderAdmin, Some(p)) => {
                admins.insert(p.to_string(), user.id.to_string());
            }
            (Role::Staff, Some(p)) => {
                staff.entry(p.to_string()).or_insert(user.id.to_string());
            }
            _ => {}
        }
    }
    let ids = Ids {
        municipality: m.id.to_string(),
        jakobsberg: jakobsberg.to_string(),
        omsorgshuset: omsorgshuset.to_string(),
        caseworker_avo: caseworkers.first().cloned().unwrap_or_default().to_string(),
        caseworker_ffs: caseworkers.get(1).cloned().unwrap_or_default().to_string(),
        people: admins
            .into_iter()
            .filter_map(|(p, admin)| {
                let first = staff.get(&p)?.clone();
                Some((p, (admin, first)))
            })
            .collect(),
    };
    demo_clients(conn, today, &ids)?;
    Ok(m)
}
