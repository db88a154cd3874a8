//! Who lives in the simulated municipality: names, personal identity
//! numbers, and the visits each client gets in a week.

use super::Rng;

/// One visit a client gets on a day: preferred local start (minutes after
/// midnight), planned minutes, and the services performed.
#[derive(Debug, Clone)]
pub struct Routine {
    pub at_minute: u32,
    pub minutes: u32,
    pub services: Vec<String>,
    /// Weekdays it happens on (bit 0 = Monday), and every n-th week.
    pub weekdays: u8,
    pub every_weeks: u32,
}

pub(super) const GIVEN: &[&str] = &[
    "Anna",
    "Maria",
    "Margareta",
    "Elisabeth",
    "Eva",
    "Birgitta",
    "Kristina",
    "Karin",
    "Ingrid",
    "Marianne",
    "Gunnel",
    "Britt",
    "Lars",
    "Karl",
    "Erik",
    "Per",
    "Bengt",
    "Sven",
    "Olof",
    "Nils",
    "Gunnar",
    "Rolf",
    "Stig",
    "Göran",
    "Lennart",
    "Ulla",
    "Siv",
    "Inga",
    "Rune",
    "Åke",
];
pub(super) const FAMILY: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Jakobsson",
    "Magnusson",
    "Lindström",
    "Olofsson",
    "Lindqvist",
    "Berglund",
];
pub(super) const STREETS: &[&str] = &[
    "Vibblabyvägen",
    "Kvarnvägen",
    "Ekvägen",
    "Björkgatan",
    "Skälbyvägen",
    "Tallbohovsvägen",
    "Stationsvägen",
    "Kyrkvägen",
    "Mälarvägen",
    "Viksjöleden",
];

/// A valid, fictitious personnummer `YYYYMMDD-NNNC` (Luhn check digit).
pub fn personnummer(rng: &mut Rng) -> String {
    let year = 1925 + rng.below(34) as u32;
    let month = 1 + rng.below(12) as u32;
    let day = 1 + rng.below(28) as u32;
    let serial = rng.below(1000) as u32;
    let digits = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let v = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    format!("{year}{month:02}{day:02}-{serial:03}{check}")
}

pub const ALL_DAYS_MASK: u8 = 0b111_1111;

/// A care bundle's services as a care worker registers them: the bundle
/// first (the order's line), then three personal-care services it held.
fn bundle(code: &dyn Fn(&str) -> String, name: &str) -> Vec<String> {
    std::iter::once(name)
        .chain(hemtid_core::seed::BUNDLE_CONTENTS)
        .map(code)
        .collect()
}

/// A frame decision like Järfälla's example: several visits a day, care
/// packages morning and evening, supervision between, a weekly shower;
/// the number of daily visits is ordered (R8) and every routine starts
/// inside the frame window, 07:00–22:00 (R9).
pub(super) fn frame_routines(rng: &mut Rng, code: &dyn Fn(&str) -> String) -> Vec<Routine> {
    let visits = 2 + rng.below(5) as u32; // 2..=6 a day
    let mut r = vec![
        Routine {
            at_minute: 7 * 60 + 30,
            minutes: 12 + rng.below(19) as u32,
            // A bundle is registered with the personal care it held
            // (R19); the order names the bundle only.
            services: bundle(code, "Omvårdnadspaket morgon"),
            weekdays: ALL_DAYS_MASK,
            every_weeks: 1,
        },
        Routine {
            at_minute: 20 * 60,
            minutes: 9 + rng.below(12) as u32,
            services: bundle(code, "Omvårdnadspaket kväll"),
            weekdays: ALL_DAYS_MASK,
            every_weeks: 1,
        },
    ];
    let between = [(10 * 60 + 30), (12 * 60 + 30), (15 * 60), (17 * 60 + 30)];
    for (i, at) in between.iter().take(visits as usize - 2).enumerate() {
        r.push(Routine {
            at_minute: *at,
            minutes: 10 + 5 * (i as u32 % 2),
            services: vec![code(if i % 2 == 0 {
                "Tillsyn"
            } else {
                "Toalettbesök"
            })],
            weekdays: ALL_DAYS_MASK,
            every_weeks: 1,
        });
    }
    r.push(Routine {
        at_minute: 9 * 60 + 30,
        minutes: 30 + 30 * rng.below(2) as u32,
        services: vec![code("Duschhjälp")],
        weekdays: 1 << rng.below(7),
        every_weeks: 1,
    });
    r
}

/// A decision per service: shopping, cleaning every third week, showers,
/// meals delivered.
pub(super) fn per_service_routines(rng: &mut Rng, code: &dyn Fn(&str) -> String) -> Vec<Routine> {
    let mut r = vec![
        Routine {
            at_minute: 10 * 60,
            minutes: 45,
            services: vec![code("Inköp utan kund")],
            weekdays: 1 << rng.below(5),
            every_weeks: 1,
        },
        Routine {
            at_minute: 13 * 60,
            minutes: 120,
            services: vec![code("Städning 2 r o k")],
            weekdays: 1 << rng.below(5),
            every_weeks: 3,
        },
        Routine {
            at_minute: 9 * 60,
            minutes: 30,
            services: vec![code("Duschhjälp")],
            weekdays: 0b000_1001 << rng.below(3),
            every_weeks: 1,
        },
    ];
    if rng.chance(60) {
        r.push(Routine {
            at_minute: 11 * 60 + 30,
            minutes: 5,
            services: vec![code("Matdistribution")],
            weekdays: ALL_DAYS_MASK,
            every_weeks: 1,
        });
    }
    if rng.chance(40) {
        r.push(Routine {
            at_minute: 14 * 60 + 30,
            minutes: 30,
            services: vec![code("Social samvaro")],
            weekdays: 0b001_0100,
            every_weeks: 1,
        });
    }
    r
}
