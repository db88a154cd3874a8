//! The Järfälla service catalogue.

use crate::db::service::{self, ServiceFields};
use crate::db::{DbConn, StoreError, new_id};
use crate::model::ServiceGroup;

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
