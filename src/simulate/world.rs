//! The simulated municipality: providers, caseworkers, care workers,
//! clients with decisions and orders shaped like Järfälla's, households,
//! double staffing, absences, door locks and key fobs. Written straight to
//! the database (the set-up is not what is being tested); everything the
//! simulation then does goes through the real paths.

use super::Rng;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use hemtid_core::auth;
use hemtid_core::db::care_order::{self, CareOrderFields, OrderLineFields};
use hemtid_core::db::client::{self, ClientFields};
use hemtid_core::db::decision::{self, DecisionFields};
use hemtid_core::db::municipality::{self, Municipality, MunicipalitySettings};
use hemtid_core::db::provider::{self, ProviderFields};
use hemtid_core::db::user_account::{self, UserFields};
use hemtid_core::db::{
    self, DbConn, StoreError, absence, authority_unit, device, new_id, service, staff_credential,
};
use hemtid_core::domain::{Period, Weekdays};
use hemtid_core::model::{DecisionKind, Regi, Role, UnitKind};
use hemtid_core::seed;
use std::collections::{HashMap, HashSet};

pub use super::population::{ALL_DAYS_MASK, Routine, personnummer};
use super::population::{FAMILY, GIVEN, STREETS, frame_routines, per_service_routines};

/// The password of every simulated care worker.
pub const SIM_PASSWORD: &str = "hemtid-simulering";

/// Clients per care worker (each worker's day is built from theirs).
pub const CLIENTS_PER_WORKER: usize = 5;

#[derive(Debug, Clone)]
pub struct SimClient {
    pub id: String,
    pub provider: usize,
    /// The lock at the client's home (shared by a household).
    pub lock: String,
    /// Registered by this client's care worker.
    pub worker: usize,
    /// A second care worker for the first visit of the day.
    pub partner: Option<usize>,
    pub routines: Vec<Routine>,
    /// In hospital on these simulated days (indexes into the days).
    pub absent_days: Vec<usize>,
    /// `pace` per mille of the planned minutes this client gets.
    pub pace: u32,
}

#[derive(Debug, Clone)]
pub struct SimWorker {
    pub id: String,
    pub username: String,
    pub fob: String,
    /// Registers visits on the phone (NFC) instead of the door locks.
    pub phone: bool,
}

#[derive(Debug, Clone)]
pub struct SimLock {
    pub id: String,
    pub secret: String,
    /// The key it signs its events with (hex), as registration gives it.
    pub hmac_key: String,
}

#[derive(Debug, Clone)]
pub struct World {
    pub municipality: Municipality,
    pub clients: Vec<SimClient>,
    pub workers: Vec<SimWorker>,
    pub locks: Vec<SimLock>,
    /// The days simulated, local.
    pub days: Vec<NaiveDate>,
    pub double_staffed: usize,
    pub households: usize,
    pub absences: usize,
    pub frame_decisions: usize,
}

/// Builds the municipality `code` with `n` clients. The simulated days
/// are the `days` local days ending yesterday.
pub fn build(
    conn: &mut DbConn,
    code: &str,
    n: usize,
    days: &[NaiveDate],
    phone_percent: u64,
    rng: &mut Rng,
) -> Result<World> {
    if municipality::find_by_code(conn, code)?.is_some() {
        bail!(
            "municipality {code} exists already: simulate into a fresh database or pick another --seed"
        );
    }
    let first_day = *days.first().context("no days to simulate")?;
    let order_start = first_day
        .checked_sub_months(chrono::Months::new(1))
        .context("date out of range")?;
    let hash = auth::hash_password(SIM_PASSWORD)?;
    let m = municipality::create(
        conn,
        code,
        &format!("Simulerad kommun {code}"),
        &MunicipalitySettings::default(),
    )?;
    seed::ensure_catalogue(conn, &m.id)?;
    // The catalogue once: name → code for the routines, code → id for the
    // order lines (not a lookup per line of every client).
    let catalogue = service::list(conn, &m.id)?;
    let codes: HashMap<String, String> = catalogue
        .iter()
        .map(|s| (s.fields.name.clone(), s.fields.code.clone()))
        .collect();
    let service_ids: HashMap<String, String> = catalogue
        .into_iter()
        .map(|s| (s.fields.code, s.id.into_string()))
        .collect();
    let code_of = |name: &str| codes.get(name).cloned().unwrap_or_else(|| name.to_string());
    let providers_n = n.div_ceil(500).max(1);
    let block = n.div_ceil(providers_n);
    let t = db::now();
    let mut providers = Vec::new();
    for p in 0..providers_n {
        let regi = if p % 3 == 2 {
            Regi::Private
        } else {
            Regi::Municipal
        };
        providers.push(
            provider::create(
                conn,
                &m.id,
                &new_id(),
                &ProviderFields {
                    name: format!("Hemtjänsten område {}", p + 1),
                    org_number: None,
                    regi: regi.as_str().into(),
                    active: true,
                },
            )?
            .id,
        );
    }
    let mut unit = |name: &str, kind: UnitKind| -> Result<String, StoreError> {
        Ok(authority_unit::create(
            conn,
            &m.id,
            &new_id(),
            &authority_unit::AuthorityUnitFields {
                name: name.into(),
                kind,
            },
        )?
        .id)
    };
    let elderly = unit("Biståndsenheten äldre", UnitKind::Elderly)?;
    let disability = unit("Funktionsstöd", UnitKind::Disability)?;
    let prefix = code.to_lowercase();
    let user = |conn: &mut DbConn,
                username: String,
                name: String,
                role: Role,
                provider_id: Option<String>,
                unit_id: Option<String>|
     -> Result<String, StoreError> {
        Ok(user_account::create(
            conn,
            &m.id,
            &new_id(),
            &UserFields {
                username,
                display_name: name,
                role,
                provider_id: provider_id.map(Into::into),
                authority_unit_id: unit_id,
                active: true,
                external_id: None,
            },
            Some(&hash),
        )?
        .id
        .into_string())
    };
    let caseworkers_n = (n / 200).max(2);
    let mut caseworkers = Vec::new();
    for i in 0..caseworkers_n {
        let unit_id = if i % 5 == 4 { &disability } else { &elderly };
        caseworkers.push(user(
            conn,
            format!("{prefix}.hl{i}"),
            format!("Handläggare {}", i + 1),
            Role::Caseworker,
            None,
            Some(unit_id.clone()),
        )?);
    }
    let mut workers: Vec<SimWorker> = Vec::new();
    let mut new_worker =
        |conn: &mut DbConn, rng: &mut Rng, p: usize, label: String| -> Result<usize, StoreError> {
            let username = format!("{prefix}.{label}");
            let id = user(
                conn,
                username.clone(),
                format!(
                    "{} {}",
                    GIVEN[rng.below(GIVEN.len() as u64) as usize],
                    FAMILY[rng.below(FAMILY.len() as u64) as usize]
                ),
                Role::Staff,
                Some(providers[p].to_string()),
                None,
            )?;
            let fob = format!("fob-{username}");
            staff_credential::create(
                conn,
                &staff_credential::StaffCredential {
                    municipality_id: m.id.clone(),
                    credential: fob.clone(),
                    staff_id: id.clone().into(),
                    kind: hemtid_core::model::CredentialKind::KeyFob,
                    active: true,
                    created_at: t,
                    revoked_at: None,
                },
            )?;
            workers.push(SimWorker {
                id,
                username,
                fob,
                phone: rng.chance(phone_percent),
            });
            Ok(workers.len() - 1)
        };
    let mut clients: Vec<SimClient> = Vec::new();
    let mut locks: Vec<SimLock> = Vec::new();
    let mut seen_numbers = HashSet::new();
    let (mut double_staffed, mut households, mut absences, mut frames) = (0, 0, 0, 0);
    let mut household: Option<(String, usize, String)> = None; // (household id, lock index, street)
    let mut worker_of_block: Option<(usize, usize)> = None; // (provider, worker) being filled
    let mut filled = 0;
    for i in 0..n {
        let p = (i / block).min(providers_n - 1);
        // A new care worker every CLIENTS_PER_WORKER clients of a provider.
        let worker = match worker_of_block {
            Some((wp, w)) if wp == p && filled < CLIENTS_PER_WORKER => w,
            _ => {
                filled = 0;
                let w = new_worker(conn, rng, p, format!("p{p}.w{i}"))?;
                worker_of_block = Some((p, w));
                w
            }
        };
        filled += 1;
        let mut number = personnummer(rng);
        while !seen_numbers.insert(number.clone()) {
            number = personnummer(rng);
        }
        // Every twelfth client lives with the next one (sammanboende).
        let joins = household
            .take()
            .filter(|_| i % 12 == 1 && (i - 1) / block == i / block);
        let starts_household = i % 12 == 0 && i + 1 < n && i / block == (i + 1) / block;
        let street = match &joins {
            Some((_, _, s)) => s.clone(),
            None => format!(
                "{} {}",
                STREETS[rng.below(STREETS.len() as u64) as usize],
                1 + rng.below(120)
            ),
        };
        let household_id = match (&joins, starts_household) {
            (Some((h, _, _)), _) => Some(h.clone()),
            (None, true) => Some(new_id()),
            (None, false) => None,
        };
        let elderly_client = i % 10 != 9;
        let caseworker = caseworkers[if elderly_client {
            (i / 10) % caseworkers_n
        } else {
            (i / 10 * 5 + 4) % caseworkers_n
        }]
        .clone();
        let c = client::create(
            conn,
            &m.id,
            &new_id(),
            &ClientFields {
                personal_number: number,
                given_name: GIVEN[rng.below(GIVEN.len() as u64) as usize].into(),
                family_name: FAMILY[rng.below(FAMILY.len() as u64) as usize].into(),
                street_address: street.clone(),
                postal_code: "175 61".into(),
                city: "Järfälla".into(),
                phone: None,
                caseworker_id: Some(caseworker.clone().into()),
                provider_id: Some(providers[p].clone()),
                household_id: household_id.clone(),
            },
        )?;
        let lock = match &joins {
            Some((_, l, _)) => {
                households += 1;
                *l
            }
            None => {
                let id = format!("lock-{prefix}-{i}");
                let secret = format!("{:016x}{:016x}", rng.next(), rng.next());
                let hmac_key = format!(
                    "{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                );
                device::create(
                    conn,
                    &device::NewDevice {
                        id: id.clone(),
                        municipality_id: m.id.clone(),
                        provider_id: providers[p].clone(),
                        kind: hemtid_core::model::DeviceKind::DoorLock,
                        client_id: Some(c.id.clone()),
                        secret_hash: auth::hash_token(&secret),
                        hmac_key: Some(hmac_key.clone()),
                        status: hemtid_core::model::DeviceStatus::Active,
                        created_at: t,
                        updated_at: t,
                    },
                )?;
                // What an external broker's password file gets (hemtid
                // mqtt-acl), as registration makes it.
                device::set_broker_hash(conn, &id, &auth::broker_password_hash(&secret)?)?;
                locks.push(SimLock {
                    id,
                    secret,
                    hmac_key,
                });
                locks.len() - 1
            }
        };
        if starts_household && let Some(h) = household_id {
            household = Some((h, lock, street));
        }
        let frame = rng.chance(40);
        let routines = if frame {
            frames += 1;
            frame_routines(rng, &code_of)
        } else {
            per_service_routines(rng, &code_of)
        };
        let partner = if frame && rng.chance(12) {
            double_staffed += 1;
            Some(new_worker(conn, rng, p, format!("p{p}.d{i}"))?)
        } else {
            None
        };
        let decision = decision::create(
            conn,
            &new_id(),
            &DecisionFields {
                client_id: c.id.clone(),
                kind: if frame {
                    DecisionKind::Frame
                } else {
                    DecisionKind::PerService
                },
                legal_basis: "SoL 4 kap. 1 §".into(),
                decided_on: order_start,
                valid_from: order_start,
                valid_to: None,
                purpose: "Att kunna bo kvar hemma under trygga förhållanden.".into(),
                goals: "Leva ett värdigt liv och känna välbefinnande.".into(),
                caseworker_id: Some(caseworker.into()),
            },
        )?;
        let mut lines = Vec::new();
        for r in &routines {
            let Some(code) = r.services.first() else {
                continue;
            };
            let Some(service_id) = service_ids.get(code) else {
                continue;
            };
            let per_week = r.weekdays.count_ones() as i32;
            let (times, period) = if r.weekdays == ALL_DAYS_MASK {
                (1, Period::Day)
            } else {
                (per_week, Period::Week)
            };
            lines.push(OrderLineFields {
                service_id: service_id.clone().into(),
                minutes_per_occurrence: r.minutes as i32,
                amount_unit: "minutes".into(),
                times,
                period: period.as_str().into(),
                every: r.every_weeks as i32,
                weekdays: Weekdays::ALL.bits(),
                note: String::new(),
                // A bundle's line names what it covers (R19): the rest of
                // the routine's services.
                bundle_contents: if r.services.len() > 1 {
                    r.services[1..]
                        .iter()
                        .filter_map(|c| service_ids.get(c).cloned())
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    String::new()
                },
            });
        }
        let daily_visits = frame.then(|| {
            routines
                .iter()
                .filter(|r| r.weekdays == ALL_DAYS_MASK)
                .count() as i32
        });
        care_order::create(
            conn,
            &new_id(),
            &CareOrderFields {
                decision_id: decision.id,
                client_id: c.id.clone(),
                provider_id: providers[p].clone(),
                ordered_on: order_start,
                valid_from: order_start,
                valid_to: None,
                daily_visits,
                // R20: double staffing is ordered explicitly, in person-minutes.
                double_staffing_minutes: if partner.is_some() { 900 } else { 0 },
                monthly_total_minutes: None,
                free_text: String::new(),
            },
            None,
            &lines,
        )?;
        // A few clients spend two of the simulated days in hospital.
        let mut absent_days = Vec::new();
        if days.len() >= 3 && rng.chance(3) {
            let d0 = rng.below(days.len() as u64 - 1) as usize;
            absent_days = vec![d0, d0 + 1];
            absence::create(
                conn,
                &absence::NewAbsence {
                    client_id: &c.id,
                    starts_on: days[d0],
                    ends_on: Some(days[d0 + 1]),
                    cause: "hospital",
                    note: "Inlagd på sjukhus (simulering).",
                    registered_by: &caseworkers[0],
                },
                None,
                t,
            )?;
            absences += 1;
        }
        let pace = 880 + rng.below(260) as u32; // 88 % .. 114 % of the plan
        clients.push(SimClient {
            id: c.id.to_string(),
            provider: p,
            lock: locks[lock].id.clone(),
            worker,
            partner,
            routines,
            absent_days,
            pace,
        });
    }
    Ok(World {
        municipality: m,
        clients,
        workers,
        locks,
        days: days.to_vec(),
        double_staffed,
        households,
        absences,
        frame_decisions: frames,
    })
}
