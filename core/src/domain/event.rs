//! The vocabulary of a visit's raw events (defined with the model's other
//! closed vocabularies, stored as the same text the API and the database
//! have always used) and what the pairing makes of them.

pub use crate::model::{EventKind, Method, Source};

use super::pairing;

impl EventKind {
    /// What the pairing makes of it: only check-ins and check-outs are
    /// edges of a visit.
    pub const fn pairing(self) -> Option<pairing::Kind> {
        match self {
            EventKind::CheckIn => Some(pairing::Kind::CheckIn),
            EventKind::CheckOut => Some(pairing::Kind::CheckOut),
            EventKind::Presence | EventKind::Declined => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(EventKind::parse("unlock"), None);
        assert_eq!(EventKind::parse("Check_in"), None);
    }

    #[test]
    fn only_check_ins_and_check_outs_are_paired() {
        assert_eq!(EventKind::CheckIn.pairing(), Some(pairing::Kind::CheckIn));
        assert_eq!(EventKind::CheckOut.pairing(), Some(pairing::Kind::CheckOut));
        assert_eq!(EventKind::Presence.pairing(), None);
        assert_eq!(EventKind::Declined.pairing(), None);
    }
}
