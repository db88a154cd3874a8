//! The Järfälla service catalogue and the demo municipality.

use crate::auth;
use crate::db::care_order::{self, CareOrderFields, OrderLineFields};
use crate::db::care_plan;
use crate::db::client::{self, ClientFields};
use crate::db::decision::{self, DecisionFields};
use crate::db::municipality::{self, Municipality, MunicipalitySettings};
use crate::db::provider::{self, ProviderFields};
use crate::db::service::{self, ServiceFields};
use crate::db::user_account::{self, UserFields};
use crate::db::{DbConn, StoreError, authority_unit, new_id};
use crate::domain::{Period, Weekdays};
use crate::model::{DecisionKind, Regi, Role, ServiceGroup, UnitKind};
use chrono::{Datelike, Months, NaiveDate};

/// Errors while seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> SeedError {
        SeedError::Store(e.into())
    }
}

/// The services of Järfälla's "Anvisningar … ramtid hemtjänst", section 2.3,
/// as `(group, name, standard minutes)`. The document lists the services but
/// not their standard times (those live in the municipality's separate
/// "insatskatalog"): the minutes here are hemtid's own placeholders, to be
/// replaced by each municipality's catalogue through the API.
pub const JARFALLA_SERVICES: &[(ServiceGroup, &str, i32)] = &[
    (ServiceGroup::Service, "Matdistribution", 5),
    (ServiceGroup::Service, "Städning 1 r o k", 90),
    (ServiceGroup::Service, "Städning 2 r o k", 120),
    (ServiceGroup::Service, "Städning 3 r o k", 150),
    (ServiceGroup::Service, "Tillsynsstädning", 30),
    (ServiceGroup::Service, "Uppsnyggning", 15),
    (ServiceGroup::Service, "Fönsterputs", 60),
    (ServiceGroup::Service, "Tvätt i bostad", 30),
    (ServiceGroup::Service, "Tvätt i tvättstuga", 60),
    (ServiceGroup::Service, "Hängning av tvätt", 15),
    (ServiceGroup::Service, "Renbäddning", 15),
    (ServiceGroup::Service, "Källsortering", 10),
    (ServiceGroup::Service, "Inköp utan kund", 45),
    (ServiceGroup::Service, "Enklare matlagning", 20),
    (ServiceGroup::Service, "Frukost/mellanmål/kvällsmål", 15),
    (ServiceGroup::Service, "Ärenden", 30),
    (ServiceGroup::Service, "Disk", 15),
    (ServiceGroup::PersonalCare, "Duschhjälp", 30),
    (ServiceGroup::PersonalCare, "Duschtillsyn", 20),
    (ServiceGroup::PersonalCare, "Personlig hygien", 15),
    (ServiceGroup::PersonalCare, "Hårvård", 15),
    (ServiceGroup::PersonalCare, "På- och avklädning", 10),
    (ServiceGroup::PersonalCare, "Toalettbesök", 10),
    (ServiceGroup::PersonalCare, "Egenvård", 10),
    (ServiceGroup::PersonalCare, "Tillsyn", 10),
    (
        ServiceGroup::PersonalCare,
        "Hjälp till och från turbunden resa",
        20,
    ),
    (ServiceGroup::PersonalCare, "Trygghetsringning", 5),
    (ServiceGroup::PersonalCare, "Promenad", 30),
    (ServiceGroup::PersonalCare, "Social samvaro", 30),
    (ServiceGroup::PersonalCare, "Sällskap vid måltider", 20),
    (ServiceGroup::PersonalCare, "Matning", 20),
    (ServiceGroup::PersonalCare, "Omvårdnadspaket morgon", 30),
    (ServiceGroup::PersonalCare, "Omvårdnadspaket lunch", 20),
    (ServiceGroup::PersonalCare, "Omvårdnadspaket kväll", 20),
];

/// What the demo's and the simulator's care bundles hold (R19).
pub const BUNDLE_CONTENTS: [&str; 3] = ["Personlig hygien", "På- och avklädning", "Toalettbesök"];

/// The code the case system prints, e.g. `O-Duschhjälp` (R18).
pub fn service_code(group: ServiceGroup, name: &str) -> String {
    format!("{}-{name}", group.as_str())
}

/// Adds the catalogue's services the municipality lacks; returns how many.
pub fn ensure_catalogue(conn: &mut DbConn, municipality_id: &str) -> Result<usize, StoreError> {
    let mut added = 0;
    for (group, name, minutes) in JARFALLA_SERVICES {
        let code = service_code(*group, name);
        if service::find_by_code(conn, municipality_id, &code)?.is_none() {
            let fields = ServiceFields {
                code,
                name: (*name).to_string(),
                service_group: group.as_str().to_string(),
                standard_minutes: *minutes,
                active: true,
                care_bundle: name.starts_with("Omvårdnadspaket"),
                continuity_excluded: matches!(*name, "Matdistribution" | "Trygghetsringning"),
                // Järfälla's catalogue grants every service by decision;
                // KSI codes are the municipality's to set.
                without_decision: false,
                ksi_code: None,
            };
            service::create(conn, municipality_id, &new_id(), &fields)?;
            added += 1;
        }
    }
    Ok(added)
}

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

struct Ids {
    municipality: String,
    jakobsberg: String,
    omsorgshuset: String,
    caseworker_avo: String,
    caseworker_ffs: String,
    /// Per provider: its admin and its first care worker.
    people: std::collections::HashMap<String, (String, String)>,
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
                kind: kind.as_str().into(),
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
                role: role.as_str().into(),
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
                admins.insert(p, user.id);
            }
            (Role::Staff, Some(p)) => {
                staff.entry(p).or_insert(user.id);
            }
            _ => {}
        }
    }
    let ids = Ids {
        municipality: m.id.clone(),
        jakobsberg,
        omsorgshuset,
        caseworker_avo: caseworkers.first().cloned().unwrap_or_default(),
        caseworker_ffs: caseworkers.get(1).cloned().unwrap_or_default(),
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

/// A demo order line: (service name, minutes, times, period, every, weekdays).
type Line = (&'static str, i32, i32, Period, i32, Weekdays);

struct DemoClient {
    personal_number: &'static str,
    given_name: &'static str,
    family_name: &'static str,
    street: &'static str,
    kind: DecisionKind,
    elderly: bool,
    private_provider: bool,
    /// Lines written in decimal hours, as Järfälla's example order is.
    in_hours: bool,
    daily_visits: Option<i32>,
    double_staffing: i32,
    monthly_total: Option<i32>,
    free_text: &'static str,
    lines: &'static [Line],
}

const ALL: Weekdays = Weekdays::ALL;

/// Test personal identity numbers (valid check digits, fictitious people).
const DEMO_CLIENTS: &[DemoClient] = &[
    DemoClient {
        // Järfälla Bilaga 4: frame decision, 6 visits a day, 51:36 h/month.
        personal_number: "19340512-2387",
        given_name: "Lisa",
        family_name: "Lindqvist",
        street: "Testgatan 11",
        kind: DecisionKind::Frame,
        elderly: true,
        private_provider: false,
        in_hours: true,
        daily_visits: Some(6),
        double_staffing: 0,
        monthly_total: Some(3096),
        free_text: "Omprövning - oförändrade insatser. Kontaktperson för planering är dottern Linnéa. Viktigt: Lisa har katt i hemmet och är storrökare.",
        lines: &[
            ("Promenad", 60, 1, Period::Week, 1, ALL),
            ("Duschhjälp", 60, 1, Period::Week, 1, ALL),
            ("Omvårdnadspaket morgon", 12, 1, Period::Day, 1, ALL),
            ("Omvårdnadspaket kväll", 9, 1, Period::Day, 1, ALL),
            ("Toalettbesök", 18, 1, Period::Day, 1, ALL),
            ("Tillsyn", 12, 1, Period::Day, 1, ALL),
        ],
    },
    DemoClient {
        personal_number: "19410318-2624",
        given_name: "Maj",
        family_name: "Månsson",
        street: "Vibblabyvägen 4",
        kind: DecisionKind::PerService,
        elderly: true,
        private_provider: false,
        in_hours: false,
        daily_visits: None,
        double_staffing: 0,
        monthly_total: None,
        free_text: "Maj vill helst ha besök på förmiddagen.",
        lines: &[
            ("Inköp utan kund", 45, 1, Period::Week, 1, ALL),
            ("Städning 2 r o k", 120, 1, Period::Week, 3, ALL),
            ("Duschhjälp", 30, 2, Period::Week, 1, ALL),
        ],
    },
    DemoClient {
        // Lives with Maj: visits to their home can be shared.
        personal_number: "19360814-2372",
        given_name: "Nils",
        family_name: "Månsson",
        street: "Vibblabyvägen 4",
        kind: DecisionKind::PerService,
        elderly: true,
        private_provider: false,
        in_hours: false,
        daily_visits: None,
        double_staffing: 0,
        monthly_total: None,
        free_text: "Sammanboende med Maj Månsson.",
        lines: &[
            ("Städning 2 r o k", 120, 1, Period::Week, 3, ALL),
            ("Duschhjälp", 30, 1, Period::Week, 1, ALL),
        ],
    },
    DemoClient {
        personal_number: "19290904-1804",
        given_name: "Greta",
        family_name: "Gustafsson",
        street: "Kvarnvägen 2",
        kind: DecisionKind::Frame,
        elderly: true,
        private_provider: false,
        in_hours: false,
        daily_visits: Some(4),
        double_staffing: 600,
        monthly_total: None,
        free_text: "Dubbelbemanning vid förflyttning morgon och kväll.",
        lines: &[
            ("Omvårdnadspaket morgon", 30, 1, Period::Day, 1, ALL),
            ("Omvårdnadspaket kväll", 20, 1, Period::Day, 1, ALL),
            ("Tillsyn", 10, 2, Period::Day, 1, ALL),
            ("Matning", 20, 1, Period::Day, 1, ALL),
        ],
    },
    DemoClient {
        personal_number: "19501227-3453",
        given_name: "Sven",
        family_name: "Sandberg",
        street: "Ekvägen 8",
        kind: DecisionKind::PerService,
        elderly: false,
        private_provider: true,
        in_hours: false,
        daily_visits: None,
        double_staffing: 0,
        monthly_total: None,
        free_text: "Stöd i vardagen enligt beslut från funktionsstöd.",
        lines: &[
            ("Social samvaro", 60, 2, Period::Week, 1, ALL),
            ("Ärenden", 30, 1, Period::Week, 1, ALL),
        ],
    },
    DemoClient {
        personal_number: "19380630-4212",
        given_name: "Olof",
        family_name: "Olsson",
        street: "Björkgatan 21",
        kind: DecisionKind::Frame,
        elderly: true,
        private_provider: true,
        in_hours: false,
        daily_visits: Some(2),
        double_staffing: 0,
        monthly_total: None,
        free_text: "",
        lines: &[
            ("Matdistribution", 5, 1, Period::Day, 1, ALL),
            ("Trygghetsringning", 5, 1, Period::Day, 1, ALL),
            ("Promenad", 30, 1, Period::Week, 1, ALL),
        ],
    },
];

fn demo_clients(conn: &mut DbConn, today: NaiveDate, ids: &Ids) -> Result<(), SeedError> {
    let this_month = today.with_day(1).unwrap_or(today);
    let start = this_month
        .checked_sub_months(Months::new(3))
        .unwrap_or(this_month);
    // Clients at the same address live together (sammanboende).
    let mut households: std::collections::HashMap<&str, (usize, String)> =
        std::collections::HashMap::new();
    for c in DEMO_CLIENTS {
        households.entry(c.street).or_insert((0, new_id())).0 += 1;
    }
    for c in DEMO_CLIENTS {
        let household_id = households
            .get(c.street)
            .filter(|(n, _)| *n > 1)
            .map(|(_, id)| id.clone());
        let (unit_cw, provider_id) = (
            if c.elderly {
                &ids.caseworker_avo
            } else {
                &ids.caseworker_ffs
            },
            if c.private_provider {
                &ids.omsorgshuset
            } else {
                &ids.jakobsberg
            },
        );
        let client = client::create(
            conn,
            &ids.municipality,
            &new_id(),
            &ClientFields {
                personal_number: c.personal_number.into(),
                given_name: c.given_name.into(),
                family_name: c.family_name.into(),
                street_address: c.street.into(),
                postal_code: "175 61".into(),
                city: "Järfälla".into(),
                phone: None,
                caseworker_id: Some(unit_cw.clone()),
                provider_id: Some(provider_id.clone()),
                household_id,
            },
        )?;
        let decided_on = start.pred_opt().unwrap_or(start);
        let d = decision::create(
            conn,
            &new_id(),
            &DecisionFields {
                client_id: client.id.clone(),
                kind: c.kind.as_str().into(),
                legal_basis: "SoL 4 kap. 1 §".into(),
                decided_on,
                valid_from: start,
                valid_to: None,
                purpose: "Att kunna bo kvar hemma under trygga förhållanden.".into(),
                goals: "Leva ett värdigt liv och känna välbefinnande.".into(),
                caseworker_id: Some(unit_cw.clone()),
            },
        )?;
        let mut lines = Vec::new();
        for (name, minutes, times, period, every, weekdays) in c.lines {
            let code = service_code(group_of(name), name);
            let service = service::find_by_code(conn, &ids.municipality, &code)?
                .ok_or(StoreError::NotFound)?;
            // A bundle covers the personal care of its visit (R19).
            let mut contents = Vec::new();
            if service.fields.care_bundle {
                for name in BUNDLE_CONTENTS {
                    let code = service_code(ServiceGroup::PersonalCare, name);
                    if let Some(s) = service::find_by_code(conn, &ids.municipality, &code)? {
                        contents.push(s.id);
                    }
                }
            }
            lines.push(OrderLineFields {
                service_id: service.id,
                minutes_per_occurrence: *minutes,
                amount_unit: if c.in_hours { "hours" } else { "minutes" }.into(),
                times: *times,
                period: period.as_str().into(),
                every: *every,
                weekdays: weekdays.bits(),
                note: String::new(),
                bundle_contents: contents.join(","),
            });
        }
        care_order::create(
            conn,
            &new_id(),
            &CareOrderFields {
                decision_id: d.id,
                client_id: client.id.clone(),
                provider_id: provider_id.clone(),
                ordered_on: decided_on,
                valid_from: start,
                valid_to: None,
                daily_visits: c.daily_visits,
                double_staffing_minutes: c.double_staffing,
                monthly_total_minutes: c.monthly_total,
                free_text: c.free_text.into(),
            },
            None,
            &lines,
        )?;
        // Every client but Lisa has an approved care plan and a contact
        // person; Lisa's are late, so the demo shows R10 and R13 alerts.
        if c.given_name != "Lisa"
            && let Some((admin, first)) = ids.people.get(provider_id)
        {
            demo_plan(conn, &client.id, provider_id, admin, first, start)?;
        }
    }
    Ok(())
}

/// An approved plan ten days after the start and a contact person named
/// on the third day.
fn demo_plan(
    conn: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    admin: &str,
    staff: &str,
    start: NaiveDate,
) -> Result<(), SeedError> {
    let at = |days: u64| {
        (start + chrono::Days::new(days))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default()
    };
    care_plan::name_contact(conn, client_id, provider_id, staff, None, admin, at(3))?;
    let content = care_plan::PlanContent {
        manage_myself: "Äta, klä på mig på överkroppen, läsa tidningen.".into(),
        need_help_with: "Dusch, städning och inköp.".into(),
        how_and_when: "Dusch tisdagar förmiddag, städning varannan vecka.".into(),
        by_whom: "Hemtjänsten, helst samma personal.".into(),
        my_goal: "Bo kvar hemma och känna mig trygg.".into(),
        services: Vec::new(),
    };
    let draft = care_plan::Draft {
        content: &content,
        participation: "took_part",
        participation_note: "Planen skrevs hemma hos brukaren tillsammans med kontaktpersonen.",
    };
    let v = care_plan::start(conn, client_id, provider_id, &draft, staff, at(8))?;
    care_plan::approve(conn, &v.id, admin, at(10))?;
    Ok(())
}

fn group_of(name: &str) -> ServiceGroup {
    JARFALLA_SERVICES
        .iter()
        .find(|(_, n, _)| *n == name)
        .map_or(ServiceGroup::PersonalCare, |(g, _, _)| *g)
}

/// How much of the ordered time each demo client gets, in per mille, so
/// the demo has a story: Lisa 8 % under (alerts), Sven 15 % over (R5).
fn demo_pace(given_name: &str) -> i64 {
    match given_name {
        "Lisa" => 920,
        "Sven" => 1150,
        "Nils" => 980,
        "Greta" => 1030,
        _ => 1000,
    }
}

/// Visit start times, local, for up to eight visits a day.
const SLOTS: [(u32, u32); 8] = [
    (7, 30),
    (9, 30),
    (11, 45),
    (13, 30),
    (15, 30),
    (17, 45),
    (19, 30),
    (21, 0),
];

/// What [`demo_visits`] made.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoVisits {
    pub visits: usize,
    pub declined: usize,
}

/// Visits for the demo: every day from the orders' start (the first of
/// the month three months back) until now, through the real pairing engine (check-in and
/// check-out with the services performed), by the providers' care workers.
/// Lisa declines a few visits and Greta spends five days in hospital.
pub fn demo_visits(conn: &mut DbConn, today: NaiveDate) -> Result<DemoVisits, SeedError> {
    use crate::db::visit_event::{NewVisitEvent, Payload, PerformedService};
    use crate::domain::YearMonth;
    use crate::record;
    let m =
        municipality::find_by_code(conn, DEMO_MUNICIPALITY_CODE)?.ok_or(StoreError::NotFound)?;
    let rules = m.rules().ok_or(StoreError::NotFound)?;
    let tz = rules.tz;
    let first = YearMonth::of(today).prev().prev().prev().first_day();
    let mut staff: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for u in user_account::list(conn, &m.id)? {
        if u.fields.role == Role::Staff.as_str()
            && let Some(p) = u.fields.provider_id.clone()
        {
            staff.entry(p).or_default().push(u.id);
        }
    }
    let mut out = DemoVisits::default();
    let clients = client::list(conn, &m.id)?;
    // Greta is in hospital from the 10th to the 14th of last month.
    if let Some(greta) = clients.iter().find(|c| c.fields.given_name == "Greta") {
        let last = YearMonth::of(today).prev().first_day();
        let from = last.with_day(10).unwrap_or(last);
        crate::db::absence::create(
            conn,
            &crate::db::absence::NewAbsence {
                client_id: &greta.id,
                starts_on: from,
                ends_on: from.checked_add_days(chrono::Days::new(4)),
                cause: "hospital",
                note: "Inlagd på Danderyds sjukhus.",
                registered_by: staff.values().flatten().next().map_or("", String::as_str),
            },
            None,
            crate::db::now(),
        )?;
    }
    // When each care worker is free again, per day.
    let mut free: std::collections::HashMap<(String, NaiveDate), chrono::NaiveDateTime> =
        std::collections::HashMap::new();
    let local = |d: NaiveDate, h: u32, min: u32| {
        use chrono::TimeZone;
        tz.from_local_datetime(&d.and_hms_opt(h, min, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.naive_utc())
    };
    for (ci, cl) in clients.iter().enumerate() {
        let pace = demo_pace(&cl.fields.given_name);
        let mut day = first;
        let now = chrono::Utc::now().naive_utc();
        let mut months = std::collections::HashMap::new();
        while day <= today {
            let month = YearMonth::of(day);
            // The order and the absences once per month, not per day.
            let (ordered, absent) = match months.entry(month) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let ordered = crate::db::client_month::ordered(conn, &m, &cl.id, None, month)?;
                    let absent = crate::db::absence::days(conn, &cl.id, month, today)?;
                    e.insert((ordered, absent))
                }
            };
            let Some(provider) = ordered.provider_id.clone() else {
                day = day.succ_opt().unwrap_or(today);
                continue;
            };
            if absent.contains(&day) || !ordered.any() {
                day = day.succ_opt().unwrap_or(today);
                continue;
            }
            let days = i64::from(month.days());
            let k = i64::from(day.day0());
            // Minutes of each service today: the month's order at the
            // client's pace, spread so the days add up to the month.
            // Under a frame decision the month's total binds: the services
            // share it in proportion to their lines.
            let lines: i64 = ordered.by_service.values().sum();
            let services: Vec<(String, i64)> = ordered
                .by_service
                .iter()
                .map(|(s, minutes)| {
                    let share = if ordered.frame && lines > 0 {
                        minutes * ordered.minutes / lines
                    } else {
                        *minutes
                    };
                    let month_total = share * pace / 1000;
                    (
                        s.clone(),
                        month_total * (k + 1) / days - month_total * k / days,
                    )
                })
                .filter(|(_, m)| *m > 0)
                .collect();
            let n = ordered
                .daily_visits(day)
                .unwrap_or(2)
                .clamp(1, SLOTS.len() as i64) as usize;
            let workers = staff.get(&provider).cloned().unwrap_or_default();
            if workers.is_empty() || services.is_empty() {
                day = day.succ_opt().unwrap_or(today);
                continue;
            }
            let dom = day.day();
            // Each visit's services: with more visits than services a
            // service is split over several visits, else visits take several.
            let len = services.len();
            let mut plan: Vec<Vec<(String, i64)>> = vec![Vec::new(); n];
            for (si, (s, m)) in services.iter().enumerate() {
                let targets: Vec<usize> = if n >= len {
                    (0..n).filter(|vi| vi % len == si).collect()
                } else {
                    vec![si % n]
                };
                let count = targets.len() as i64;
                for (ti, vi) in targets.iter().enumerate() {
                    let ti = ti as i64;
                    let part = m * (ti + 1) / count - m * ti / count;
                    if part > 0 {
                        plan[*vi].push((s.clone(), part));
                    }
                }
            }
            for (vi, slot) in SLOTS.iter().take(n).enumerate() {
                let worker = &workers[(ci + vi) % workers.len()];
                let mine: Vec<&(String, i64)> = plan[vi].iter().collect();
                // Lisa declines the evening visit now and then (R21).
                let declines = cl.fields.given_name == "Lisa" && vi + 1 == n && dom % 9 == 4;
                let Some(want) = local(day, slot.0, slot.1) else {
                    continue;
                };
                let key = (worker.clone(), day);
                let start = free.get(&key).map_or(want, |f| (*f).max(want));
                let minutes: i64 = mine.iter().map(|(_, m)| *m).sum();
                let end = start + chrono::Duration::minutes(minutes);
                // Today: only the visits that are over.
                if minutes == 0 || end > now {
                    continue;
                }
                free.insert(key, end + chrono::Duration::minutes(10));
                let event =
                    |kind: &str, at: chrono::NaiveDateTime, payload: Payload| NewVisitEvent {
                        id: new_id(),
                        source: "phone".into(),
                        source_key: worker.clone(),
                        event_id: new_id(),
                        kind: kind.into(),
                        staff_id: worker.clone(),
                        client_id: cl.id.clone(),
                        provider_id: provider.clone(),
                        occurred_at: at,
                        received_at: at,
                        local_date: day,
                        method: (kind != "declined").then(|| "nfc".into()),
                        method_ref: (kind != "declined").then(|| "demo-tag".into()),
                        reason: (kind == "declined").then(|| "Brukaren avböjde besöket.".into()),
                        payload: serde_json::to_string(&payload).unwrap_or_default(),
                    };
                if declines {
                    let p = Payload {
                        declined_services: mine.iter().map(|(s, _)| s.clone()).collect(),
                        ..Payload::default()
                    };
                    record::record(conn, &event("declined", start, p), None, rules)?;
                    out.declined += 1;
                    continue;
                }
                record::record(
                    conn,
                    &event("check_in", start, Payload::default()),
                    None,
                    rules,
                )?;
                let p = Payload {
                    services: mine
                        .iter()
                        .map(|(s, m)| PerformedService {
                            service_id: s.clone(),
                            client_id: None,
                            minutes: u32::try_from(*m).ok(),
                        })
                        .collect(),
                    ..Payload::default()
                };
                record::record(conn, &event("check_out", end, p), None, rules)?;
                out.visits += 1;
            }
            day = day.succ_opt().unwrap_or(today);
        }
    }
    Ok(out)
}
