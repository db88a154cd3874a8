//! The demo's clients, with their decisions, orders and care plans.

use super::catalogue::{BUNDLE_CONTENTS, JARFALLA_SERVICES, service_code};
use super::error::SeedError;
use crate::db::care_order::{self, CareOrderFields, OrderLineFields};
use crate::db::care_plan;
use crate::db::client::{self, ClientFields};
use crate::db::decision::{self, DecisionFields};
use crate::db::service::{self};
use crate::db::{DbConn, StoreError, new_id};
use crate::domain::{Period, Weekdays};
use crate::model::{DecisionKind, ServiceGroup};
use chrono::{Datelike, Months, NaiveDate};

pub(super) struct Ids {
    pub(super) municipality: String,
    pub(super) jakobsberg: String,
    pub(super) omsorgshuset: String,
    pub(super) caseworker_avo: String,
    pub(super) caseworker_ffs: String,
    /// Per provider: its admin and its first care worker.
    pub(super) people: std::collections::HashMap<String, (String, String)>,
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

pub(super) fn demo_clients(
    conn: &mut DbConn,
    today: NaiveDate,
    ids: &Ids,
) -> Result<(), SeedError> {
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
                caseworker_id: Some(unit_cw.clone().into()),
                provider_id: Some(provider_id.clone().into()),
                household_id,
            },
        )?;
        let decided_on = start.pred_opt().unwrap_or(start);
        let d = decision::create(
            conn,
            &new_id(),
            &DecisionFields {
                client_id: client.id.clone(),
                kind: c.kind,
                legal_basis: "SoL 4 kap. 1 §".into(),
                decided_on,
                valid_from: start,
                valid_to: None,
                purpose: "Att kunna bo kvar hemma under trygga förhållanden.".into(),
                goals: "Leva ett värdigt liv och känna välbefinnande.".into(),
                caseworker_id: Some(unit_cw.clone().into()),
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
                provider_id: provider_id.clone().into(),
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
        participation: crate::model::Participation::TookPart,
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
pub(super) fn demo_pace(given_name: &str) -> i64 {
    match given_name {
        "Lisa" => 920,
        "Sven" => 1150,
        "Nils" => 980,
        "Greta" => 1030,
        _ => 1000,
    }
}
