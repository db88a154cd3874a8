//! Care bundles (omvårdnadspaket, R19; Järfälla 2.4.2): the caseworker
//! orders one total for a client's daily personal care, meant for visits
//! where at least three personal-care services happen. A visit that
//! registers a bundle names those services too; they share the bundle's
//! time rather than take their own.

/// Personal-care services a bundle needs beside it in the same visit.
pub const MIN_CONTENTS: usize = 3;

/// A service performed in a visit, as the bundle rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Performed<'a> {
    /// Whose service (the visit's client, or a co-habiting one).
    pub client_id: &'a str,
    pub service_id: &'a str,
    /// Of the personal-care group (`O`).
    pub personal_care: bool,
    /// A care bundle itself.
    pub bundle: bool,
}

/// The clients with a bundle registered and fewer than [`MIN_CONTENTS`]
/// other personal-care services in the same visit (each service once).
pub fn incomplete<'a>(performed: &[Performed<'a>]) -> Vec<&'a str> {
    let mut clients: Vec<&str> = performed
        .iter()
        .filter(|p| p.bundle)
        .map(|p| p.client_id)
        .collect();
    clients.sort_unstable();
    clients.dedup();
    clients.retain(|client| {
        let mut contents: Vec<&str> = performed
            .iter()
            .filter(|p| p.client_id == *client && p.personal_care && !p.bundle)
            .map(|p| p.service_id)
            .collect();
        contents.sort_unstable();
        contents.dedup();
        contents.len() < MIN_CONTENTS
    });
    clients
}

/// Whether `p` is part of a bundle registered for the same client in the
/// same visit (`all`): a personal-care service beside a bundle. Such a
/// service takes no time of its own unless minutes were entered for it.
pub fn in_bundle(p: &Performed<'_>, all: &[Performed<'_>]) -> bool {
    p.personal_care && !p.bundle && all.iter().any(|q| q.bundle && q.client_id == p.client_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn care<'a>(client_id: &'a str, service_id: &'a str) -> Performed<'a> {
        Performed {
            client_id,
            service_id,
            personal_care: true,
            bundle: false,
        }
    }

    fn bundle(client_id: &str) -> Performed<'_> {
        Performed {
            client_id,
            service_id: "paket",
            personal_care: true,
            bundle: true,
        }
    }

    #[test]
    fn a_bundle_needs_three_other_personal_care_services_of_its_client() {
        let hygiene = care("lisa", "hygien");
        let dressing = care("lisa", "klädsel");
        let toilet = care("lisa", "toalett");
        let cleaning = Performed {
            personal_care: false,
            ..care("lisa", "städ")
        };
        // Three personal-care services beside it: fine.
        assert!(incomplete(&[bundle("lisa"), hygiene, dressing, toilet]).is_empty());
        // Two, however often, and a service of the other group: too few.
        let few = [bundle("lisa"), hygiene, hygiene, dressing, cleaning];
        assert_eq!(incomplete(&few), ["lisa"]);
        // Another client's services do not count for Lisa's bundle.
        let shared = [bundle("lisa"), hygiene, dressing, care("maj", "toalett")];
        assert_eq!(incomplete(&shared), ["lisa"]);
        // No bundle, no rule.
        assert!(incomplete(&[hygiene]).is_empty());
    }

    #[test]
    fn personal_care_beside_a_bundle_is_part_of_it() {
        let all = [
            bundle("lisa"),
            care("lisa", "hygien"),
            care("maj", "toalett"),
        ];
        assert!(in_bundle(&all[1], &all));
        assert!(!in_bundle(&all[0], &all), "the bundle itself");
        assert!(!in_bundle(&all[2], &all), "another client's");
        let cleaning = Performed {
            personal_care: false,
            ..care("lisa", "städ")
        };
        assert!(!in_bundle(&cleaning, &all));
    }
}
