//! The closed vocabularies of the model. Stored as their snake_case text
//! (the migrations have matching CHECK constraints) and spoken in the API:
//! a row's column of one of these types reads and writes the same text it
//! always did, and a text no variant names is a read error, not a value.

use serde::{Deserialize, Serialize};

/// A TEXT column's mapping on every backend, through `String` and `str`:
/// `$read` makes the value of the text read (or refuses it), `as_str`
/// gives the text written.
macro_rules! text_column {
    ($name:ident, |$text:ident| $read:expr) => {
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let $text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?;
                $read
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }
    };
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and spoken text.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value for its text.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        text_column!($name, |text| {
            $name::parse(&text)
                .ok_or_else(|| format!("{} has no value {text:?}", stringify!($name)).into())
        });
    };
}

/// An id of one kind of thing: its text (a UUID for what hemtid makes, the
/// sender's or the municipality's id otherwise), typed so that one kind
/// of id cannot be put where another belongs. It reads as `&str` where a
/// lookup takes one and maps to a TEXT column as its text.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        text_column!($name, |text| Ok($name(text)));
    };
}

text_id!(
    /// A visit's id: the id of the event it is named after (its check-in,
    /// or its check-out without one).
    VisitId
);

text_id!(
    /// A stored event's id (not the sender's `event_id`).
    EventId
);

text_id!(
    /// A client's id.
    ClientId
);

text_id!(
    /// A provider's id.
    ProviderId
);

text_id!(
    /// A user account's id: a care worker on a visit, the author of a
    /// note, whoever approved or changed something.
    UserId
);

text_id!(
    /// A municipality's id.
    MunicipalityId
);

text_id!(
    /// A device's id: a door lock, an NFC reader or a tag, as its vendor
    /// names it.
    DeviceId
);

text_id!(
    /// A service's (insats) id in the municipality's catalogue.
    ServiceId
);

text_id!(
    /// A planned visit's id (hemtid's; the planner's own is its reference).
    PlannedVisitId
);

text_enum!(
    /// Where a planned visit came from: the provider's planning system, or
    /// derived from the client's order where there is none.
    PlanSource { Planner = "planner", Order = "order" }
);

impl VisitId {
    /// Whether this is the id of the visit named after `event`.
    pub fn named_after(&self, event: &EventId) -> bool {
        self.0 == event.0
    }
}

impl EventId {
    /// The id of the visit named after this event.
    pub fn visit_id(&self) -> VisitId {
        VisitId(self.0.clone())
    }
}

text_enum!(
    /// Who runs a provider: the municipality itself ("egen regi") or a
    /// private company chosen by the client under LOV.
    Regi { Municipal = "municipal", Private = "private" }
);

text_enum!(
    /// The authority side's units: elderly care (ÄVO) or disability (FFS).
    UnitKind { Elderly = "elderly", Disability = "disability" }
);

text_enum!(
    /// What a user account may do.
    Role {
        /// Care worker at a provider, uses the phone app.
        Staff = "staff",
        /// Manages a provider's staff, devices and explanations.
        ProviderAdmin = "provider_admin",
        /// Biståndshandläggare in an authority unit.
        Caseworker = "caseworker",
        /// Avgiftshandläggare: bills client fees (R5).
        FeeAdmin = "fee_admin",
        /// Municipality administrator and the case-system integration.
        Admin = "admin",
        /// Reads the access log (R14), nothing else.
        Auditor = "auditor",
    }
);

impl Role {
    /// Roles that belong to a provider.
    pub fn needs_provider(self) -> bool {
        matches!(self, Role::Staff | Role::ProviderAdmin)
    }

    /// Roles that belong to an authority unit.
    pub fn needs_unit(self) -> bool {
        matches!(self, Role::Caseworker)
    }

    /// Roles that may belong to an authority unit.
    pub fn may_have_unit(self) -> bool {
        matches!(self, Role::Caseworker | Role::FeeAdmin | Role::Admin)
    }
}

text_enum!(
    /// Service (S-) or personal care (O-, omvårdnad) services.
    ServiceGroup { Service = "S", PersonalCare = "O" }
);

text_enum!(
    /// Frame decision (rambeslut: hours per month, R8) or per-service
    /// decision (insatsbeslut: each service with its own time).
    DecisionKind { Frame = "frame", PerService = "per_service" }
);

text_enum!(
    /// How an order line's amount was written: minutes or (decimal) hours.
    AmountUnit { Minutes = "minutes", Hours = "hours" }
);

text_enum!(
    /// What an event says happened.
    EventKind {
        CheckIn = "check_in",
        CheckOut = "check_out",
        /// A tag read inside a visit: evidence, not a visit's edge.
        Presence = "presence",
        /// The client declined the visit (R21).
        Declined = "declined",
    }
);

text_enum!(
    /// Who sent an event.
    Source {
        /// A care worker's phone, at the time.
        Phone = "phone",
        /// A visit registered afterwards, with a reason.
        Entry = "entry",
        /// An NFC reader or a door lock over MQTT.
        Device = "device",
    }
);

text_enum!(
    /// How the presence at the client was verified.
    Method {
        /// An NFC tag in the home (a phone read it, or a reader read a fob).
        Nfc = "nfc",
        /// A digital door lock.
        Lock = "lock",
        /// Not verified: the care worker says so, with a reason.
        Manual = "manual",
        /// Registered afterwards.
        Entry = "entry",
    }
);

text_enum!(
    /// Where a visit stands.
    VisitStatus {
        /// Checked in, not yet out.
        Open = "open",
        /// Both ends known.
        Closed = "closed",
        /// An end is missing or it lasted too long: a provider admin
        /// decides.
        Exception = "exception",
    }
);

text_enum!(
    /// Why a visit is an exception.
    VisitException {
        MissingCheckIn = "missing_check_in",
        MissingCheckOut = "missing_check_out",
        TooLong = "too_long",
    }
);

text_enum!(
    /// A provider admin's change of a visit.
    VisitChangeKind {
        Approve = "approve",
        Correct = "correct",
        Void = "void",
        Reopen = "reopen",
    }
);

text_enum!(
    /// The variance and deadline alerts. [`AlertKind::rules`] and
    /// [`AlertKind::audience`] say which rules raise it and who is told
    /// first.
    AlertKind {
        OutsideBand = "outside_band",
        FollowUpRecommended = "follow_up_recommended",
        ExceedsGranted = "exceeds_granted",
        PaceWarning = "pace_warning",
        MissingVisits = "missing_visits",
        VisitOpenTooLong = "visit_open_too_long",
        CarePlanMissing = "care_plan_missing",
        CarePlanMissingEscalated = "care_plan_missing_escalated",
        CarePlanFollowUpDue = "care_plan_follow_up_due",
        IndividualFollowUpDue = "individual_follow_up_due",
        ContactPersonMissing = "contact_person_missing",
        /// A planned visit without the check-in it needs past its latest
        /// start and tolerance (one alert per plan).
        VisitLate = "visit_late",
        /// A planned visit without the check-in it needs past its window
        /// and expected length.
        VisitMissed = "visit_missed",
        /// A late or missed visit's alert the provider has not
        /// acknowledged in the municipality's escalation time: the
        /// client's caseworker is told.
        VisitNotAcknowledged = "visit_not_acknowledged",
    }
);

impl AlertKind {
    /// The kinds that belong to one planned visit, not to a client's
    /// month.
    pub const PLANNED_VISIT: [AlertKind; 3] = [
        AlertKind::VisitLate,
        AlertKind::VisitMissed,
        AlertKind::VisitNotAcknowledged,
    ];

    /// Whether it belongs to one planned visit.
    pub fn of_planned_visit(self) -> bool {
        Self::PLANNED_VISIT.contains(&self)
    }

    /// The rule ids it applies, as stored (`R1,R2`).
    pub const fn rules(self) -> &'static str {
        match self {
            AlertKind::OutsideBand => "R1,R2",
            AlertKind::FollowUpRecommended => "R4",
            AlertKind::ExceedsGranted => "R5",
            AlertKind::PaceWarning => "R6,R7",
            AlertKind::MissingVisits => "R8",
            AlertKind::VisitOpenTooLong => "R6",
            AlertKind::CarePlanMissing | AlertKind::CarePlanMissingEscalated => "R10",
            AlertKind::CarePlanFollowUpDue => "R11",
            AlertKind::IndividualFollowUpDue => "R12",
            AlertKind::ContactPersonMissing => "R13",
            // Planned visits: no rule of the glossary.
            AlertKind::VisitLate | AlertKind::VisitMissed | AlertKind::VisitNotAcknowledged => "",
        }
    }

    /// Who is told.
    pub const fn audience(self) -> Audience {
        match self {
            AlertKind::OutsideBand
            | AlertKind::FollowUpRecommended
            | AlertKind::CarePlanMissingEscalated
            | AlertKind::IndividualFollowUpDue
            | AlertKind::VisitNotAcknowledged => Audience::Caseworker,
            AlertKind::ExceedsGranted => Audience::FeeAdmin,
            AlertKind::PaceWarning
            | AlertKind::MissingVisits
            | AlertKind::VisitOpenTooLong
            | AlertKind::CarePlanMissing
            | AlertKind::CarePlanFollowUpDue
            | AlertKind::ContactPersonMissing
            | AlertKind::VisitLate
            | AlertKind::VisitMissed => Audience::Provider,
        }
    }
}

text_enum!(
    /// Who an alert is for.
    Audience {
        Caseworker = "caseworker",
        Provider = "provider",
        /// Avgiftshandläggare (R5).
        FeeAdmin = "fee_admin",
    }
);

text_enum!(
    /// The states an alert moves through.
    AlertState {
        Open = "open",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
);

text_enum!(
    /// One change in an alert's history.
    AlertAction {
        Raised = "raised",
        Updated = "updated",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
        Reopened = "reopened",
    }
);

text_enum!(
    /// What a registered device is.
    DeviceKind {
        DoorLock = "door_lock",
        NfcReader = "nfc_reader",
        NfcTag = "nfc_tag",
    }
);

text_enum!(
    /// Whether a device may still speak.
    DeviceStatus { Active = "active", Retired = "retired" }
);

text_enum!(
    /// What a staff credential is.
    CredentialKind {
        KeyFob = "key_fob",
        StaffTag = "staff_tag",
        PhoneKey = "phone_key",
    }
);

text_enum!(
    /// A care plan version's state.
    PlanState {
        Draft = "draft",
        InRevision = "in_revision",
        Approved = "approved",
        /// A later version was approved.
        Superseded = "superseded",
    }
);

text_enum!(
    /// Whether the client took part in writing the plan.
    Participation {
        TookPart = "took_part",
        /// A deviation to note, not a blocker.
        Declined = "declined",
    }
);

text_enum!(
    /// The caseworker's check of a plan version against the order.
    Review {
        Unchecked = "unchecked",
        Checked = "checked",
        /// Sent back to the provider.
        Remarks = "remarks",
    }
);

impl PlanState {
    /// Whether the provider may still edit it.
    pub const fn editable(self) -> bool {
        matches!(self, PlanState::Draft | PlanState::InRevision)
    }
}

text_enum!(
    /// A caseworker's request for material from a provider.
    RequestState {
        Sent = "sent",
        Answered = "answered",
        Closed = "closed",
    }
);

text_enum!(
    /// A client's consent.
    ConsentState {
        Given = "given",
        Refused = "refused",
        Withdrawn = "withdrawn",
    }
);

text_enum!(
    /// A provider's explanation of a variance.
    ExplanationState {
        Submitted = "submitted",
        Approved = "approved",
        Rejected = "rejected",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(ServiceGroup::parse("O"), Some(ServiceGroup::PersonalCare));
        assert_eq!(DecisionKind::parse("rambeslut"), None);
        assert_eq!(
            serde_json::to_string(&Regi::Private).unwrap(),
            "\"private\""
        );
    }
}
