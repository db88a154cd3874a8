//! The closed vocabularies of the model. Stored as their snake_case text
//! (the migrations have matching CHECK constraints) and spoken in the API.

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and spoken text.
            pub fn as_str(self) -> &'static str {
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
    };
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
