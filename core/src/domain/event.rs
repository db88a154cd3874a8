//! The vocabulary of a visit's raw events, stored as the same text the API
//! and the database have always used.

use super::pairing;

/// What an event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    CheckIn,
    CheckOut,
    /// A tag read inside a visit: evidence, not a visit's edge.
    Presence,
    /// The client declined the visit (R21).
    Declined,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::CheckIn,
        EventKind::CheckOut,
        EventKind::Presence,
        EventKind::Declined,
    ];

    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::CheckIn => "check_in",
            EventKind::CheckOut => "check_out",
            EventKind::Presence => "presence",
            EventKind::Declined => "declined",
        }
    }

    /// The kind a stored text names; `None` for anything else.
    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

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

/// Who sent an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A care worker's phone, at the time.
    Phone,
    /// A visit registered afterwards, with a reason.
    Entry,
    /// An NFC reader or a door lock over MQTT.
    Device,
}

impl Source {
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Phone => "phone",
            Source::Entry => "entry",
            Source::Device => "device",
        }
    }
}

/// How the presence at the client was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// An NFC tag in the home (a phone read it, or a reader read a fob).
    Nfc,
    /// A digital door lock.
    Lock,
    /// Not verified: the care worker says so, with a reason.
    Manual,
    /// Registered afterwards.
    Entry,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Nfc => "nfc",
            Method::Lock => "lock",
            Method::Manual => "manual",
            Method::Entry => "entry",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
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
