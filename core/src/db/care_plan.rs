//! Care plans (genomförandeplan, R10, R11, R17), the caseworker's
//! individual follow-up (R12) and contact persons (R13).
//!
//! A plan belongs to the client, not to an order: renewing or replacing the
//! order keeps it (R17). It is a series of versions; at most one is being
//! written at a time (`draft` when nothing was approved before, else
//! `in_revision`), and approving it supersedes the approved one. A plan in
//! revision still counts as present.

use super::schema::{care_plan_follow_up, care_plan_version, contact_person, individual_follow_up};
use super::{DbConn, StoreError, new_id};
use crate::db::{ChangeError, RuleError};
use crate::model::{ClientId, Participation, PlanState, ProviderId, Review, ServiceId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// The sections of the Järfälla template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanContent {
    /// Det här klarar jag själv.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub manage_myself: String,
    /// Det här behöver jag hjälp med.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub need_help_with: String,
    /// Hur och när.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub how_and_when: String,
    /// Av vem.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub by_whom: String,
    /// Mitt mål.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub my_goal: String,
    /// The same per service, where useful.
    #[serde(default)]
    pub services: Vec<ServicePart>,
}

/// The plan for one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServicePart {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub service_id: ServiceId,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub need_help_with: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub how_and_when: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub by_whom: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 8000))]
    pub my_goal: String,
}

/// One version of a client's plan.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = care_plan_version)]
pub struct PlanVersion {
    pub id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub version: i32,
    /// `draft`, `in_revision`, `approved` or `superseded`.
    pub state: PlanState,
    pub content: String,
    /// `took_part` or `declined` (a deviation, not a blocker).
    pub participation: Participation,
    /// How the client took part, or why they declined.
    pub participation_note: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    /// The caseworker's check against the order: `unchecked`, `checked`
    /// or `remarks` (sent back to the provider).
    pub review: Review,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: String,
}

impl PlanVersion {
    /// The version's content; empty if the stored document does not read
    /// (written by this code only, so it always does).
    pub fn content(&self) -> PlanContent {
        serde_json::from_str(&self.content).unwrap_or_default()
    }

    /// Whether it is being written.
    pub fn is_open(&self) -> bool {
        self.state.editable()
    }
}

/// Where a client's plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// No version at all.
    Missing,
    /// Being written, never approved.
    Draft,
    /// Approved, a new version being written: counts as present.
    InRevision,
    Approved,
}

impl PlanStatus {
    /// Whether R10 is met.
    pub fn present(self) -> bool {
        matches!(self, PlanStatus::Approved | PlanStatus::InRevision)
    }

    pub fn of(versions: &[PlanVersion]) -> PlanStatus {
        let approved = versions.iter().any(|v| v.state == PlanState::Approved);
        let open = versions.iter().any(PlanVersion::is_open);
        match (approved, open) {
            (true, true) => PlanStatus::InRevision,
            (true, false) => PlanStatus::Approved,
            (false, true) => PlanStatus::Draft,
            (false, false) => PlanStatus::Missing,
        }
    }
}

/// A client's versions, oldest first.
pub fn versions(c: &mut DbConn, client_id: &str) -> Result<Vec<PlanVersion>, StoreError> {
    Ok(care_plan_version::table
        .filter(care_plan_version::client_id.eq(client_id))
        .order(care_plan_version::version)
        .select(PlanVersion::as_select())
        .load(c)?)
}

/// One version.
pub fn get(c: &mut DbConn, id: &str) -> Result<PlanVersion, StoreError> {
    Ok(care_plan_version::table
        .find(id)
        .select(PlanVersion::as_select())
        .first(c)?)
}

/// The plan's status, from its versions.
pub fn status(c: &mut DbConn, client_id: &str) -> Result<PlanStatus, StoreError> {
    Ok(PlanStatus::of(&versions(c, client_id)?))
}

/// The clients with a plan present (R10: an approved version) at a
/// provider, in one read.
pub fn present_at(
    c: &mut DbConn,
    provider_id: &str,
) -> Result<std::collections::HashSet<String>, StoreError> {
    Ok(care_plan_version::table
        .filter(care_plan_version::provider_id.eq(provider_id))
        .filter(care_plan_version::state.eq(PlanState::Approved))
        .select(care_plan_version::client_id)
        .distinct()
        .load::<String>(c)?
        .into_iter()
        .collect())
}

/// What a provider writes into a version.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub content: &'a PlanContent,
    pub participation: Participation,
    pub participation_note: &'a str,
}

fn encode(content: &PlanContent) -> Result<String, StoreError> {
    serde_json::to_string(content).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Starts a new version: `draft` if none was ever approved, else
/// `in_revision`. Refused while another version is being written.
pub fn start(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    d: &Draft<'_>,
    by: &str,
    at: NaiveDateTime,
) -> Result<PlanVersion, ChangeError> {
    let content = encode(d.content)?;
    super::change(c, |c| {
        let all = versions(c, client_id)?;
        if all.iter().any(PlanVersion::is_open) {
            return Err(RuleError::WrongState(
                "a version is being written already: change or approve it".into(),
            )
            .into());
        }
        let ever_approved = all
            .iter()
            .any(|v| matches!(v.state, PlanState::Approved | PlanState::Superseded));
        let id = new_id();
        diesel::insert_into(care_plan_version::table)
            .values((
                care_plan_version::id.eq(&id),
                care_plan_version::client_id.eq(client_id),
                care_plan_version::provider_id.eq(provider_id),
                care_plan_version::version.eq(all.last().map_or(1, |v| v.version + 1)),
                care_plan_version::state.eq(if ever_approved {
                    PlanState::InRevision
                } else {
                    PlanState::Draft
                }),
                care_plan_version::content.eq(&content),
                care_plan_version::participation.eq(d.participation),
                care_plan_version::participation_note.eq(d.participation_note),
                care_plan_version::created_by.eq(by),
                care_plan_version::created_at.eq(at),
                care_plan_version::updated_at.eq(at),
            ))
            .execute(c)?;
        Ok(get(c, &id)?)
    })
}

/// Changes the version being written.
pub fn edit(
    c: &mut DbConn,
    id: &str,
    d: &Draft<'_>,
    at: NaiveDateTime,
) -> Result<PlanVersion, ChangeError> {
    let content = encode(d.content)?;
    super::change(c, |c| {
        if !get(c, id)?.is_open() {
            return Err(RuleError::WrongState(
                "only the version being written can be changed".into(),
            )
            .into());
        }
        diesel::update(care_plan_version::table.find(id))
            .set((
                care_plan_version::content.eq(&content),
                care_plan_version::participation.eq(d.participation),
                care_plan_version::participation_note.eq(d.participation_note),
                care_plan_version::updated_at.eq(at),
                // A changed version needs a new check.
                care_plan_version::review.eq(Review::Unchecked),
            ))
            .execute(c)?;
        Ok(get(c, id)?)
    })
}

/// Approves the version being written (with the client); the one approved
/// before is superseded.
pub fn approve(
    c: &mut DbConn,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<PlanVersion, ChangeError> {
    super::change(c, |c| {
        let v = get(c, id)?;
        if !v.is_open() {
            return Err(RuleError::WrongState(
                "only the version being written can be approved".into(),
            )
            .into());
        }
        diesel::update(
            care_plan_version::table
                .filter(care_plan_version::client_id.eq(&v.client_id))
                .filter(care_plan_version::state.eq(PlanState::Approved)),
        )
        .set(care_plan_version::state.eq(PlanState::Superseded))
        .execute(c)?;
        diesel::update(care_plan_version::table.find(id))
            .set((
                care_plan_version::state.eq(PlanState::Approved),
                care_plan_version::approved_by.eq(by),
                care_plan_version::approved_at.eq(at),
                care_plan_version::updated_at.eq(at),
            ))
            .execute(c)?;
        Ok(get(c, id)?)
    })
}

/// The caseworker checks a version against the order (`checked`) or sends
/// remarks back (`remarks`). A superseded version is history.
pub fn review(
    c: &mut DbConn,
    id: &str,
    outcome: Review,
    note: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<PlanVersion, ChangeError> {
    super::change(c, |c| {
        if get(c, id)?.state == PlanState::Superseded {
            return Err(
                RuleError::WrongState("a superseded version cannot be checked".into()).into(),
            );
        }
        diesel::update(care_plan_version::table.find(id))
            .set((
                care_plan_version::review.eq(outcome),
                care_plan_version::review_note.eq(note),
                care_plan_version::reviewed_by.eq(by),
                care_plan_version::reviewed_at.eq(at),
            ))
            .execute(c)?;
        Ok(get(c, id)?)
    })
}

/// A follow-up of the plan (R11) that did not change it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = care_plan_follow_up)]
pub struct PlanFollowUp {
    pub id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub followed_up_on: NaiveDate,
    pub note: String,
    pub by_user_id: UserId,
    pub recorded_at: NaiveDateTime,
}

/// Records a follow-up of the plan; there must be an approved plan.
pub fn follow_up(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    on: NaiveDate,
    note: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<PlanFollowUp, ChangeError> {
    super::change(c, |c| {
        if !status(c, client_id)?.present() {
            return Err(
                RuleError::WrongState("there is no approved plan to follow up".into()).into(),
            );
        }
        let id = new_id();
        diesel::insert_into(care_plan_follow_up::table)
            .values((
                care_plan_follow_up::id.eq(&id),
                care_plan_follow_up::client_id.eq(client_id),
                care_plan_follow_up::provider_id.eq(provider_id),
                care_plan_follow_up::followed_up_on.eq(on),
                care_plan_follow_up::note.eq(note),
                care_plan_follow_up::by_user_id.eq(by),
                care_plan_follow_up::recorded_at.eq(at),
            ))
            .execute(c)?;
        Ok(care_plan_follow_up::table
            .find(&id)
            .select(PlanFollowUp::as_select())
            .first(c)?)
    })
}

/// The plan's follow-ups, oldest first.
pub fn follow_ups(c: &mut DbConn, client_id: &str) -> Result<Vec<PlanFollowUp>, StoreError> {
    Ok(care_plan_follow_up::table
        .filter(care_plan_follow_up::client_id.eq(client_id))
        .order((care_plan_follow_up::followed_up_on, care_plan_follow_up::id))
        .select(PlanFollowUp::as_select())
        .load(c)?)
}

/// The caseworker's individual follow-up (R12) and the next watch date.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = individual_follow_up)]
pub struct IndividualFollowUp {
    pub id: String,
    pub client_id: ClientId,
    pub done_on: NaiveDate,
    /// The next watch date.
    pub next_due: NaiveDate,
    pub note: String,
    pub by_user_id: UserId,
    pub recorded_at: NaiveDateTime,
}

/// Records an individual follow-up.
pub fn individual(
    c: &mut DbConn,
    client_id: &str,
    done_on: NaiveDate,
    next_due: NaiveDate,
    note: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<IndividualFollowUp, StoreError> {
    let id = new_id();
    diesel::insert_into(individual_follow_up::table)
        .values((
            individual_follow_up::id.eq(&id),
            individual_follow_up::client_id.eq(client_id),
            individual_follow_up::done_on.eq(done_on),
            individual_follow_up::next_due.eq(next_due),
            individual_follow_up::note.eq(note),
            individual_follow_up::by_user_id.eq(by),
            individual_follow_up::recorded_at.eq(at),
        ))
        .execute(c)?;
    Ok(individual_follow_up::table
        .find(&id)
        .select(IndividualFollowUp::as_select())
        .first(c)?)
}

/// The individual follow-ups, oldest first.
pub fn individuals(c: &mut DbConn, client_id: &str) -> Result<Vec<IndividualFollowUp>, StoreError> {
    Ok(individual_follow_up::table
        .filter(individual_follow_up::client_id.eq(client_id))
        .order((
            individual_follow_up::done_on,
            individual_follow_up::recorded_at,
        ))
        .select(IndividualFollowUp::as_select())
        .load(c)?)
}

/// The client's contact person and deputy at a provider (R13).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = contact_person)]
pub struct ContactPerson {
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub user_id: UserId,
    pub deputy_user_id: Option<UserId>,
    pub named_by: String,
    pub named_at: NaiveDateTime,
}

/// Names (or renames) the contact person.
pub fn name_contact(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    user_id: &str,
    deputy_user_id: Option<&str>,
    by: &str,
    at: NaiveDateTime,
) -> Result<ContactPerson, StoreError> {
    super::transaction(c, |c| {
        diesel::delete(contact_person::table.find((client_id, provider_id))).execute(c)?;
        diesel::insert_into(contact_person::table)
            .values((
                contact_person::client_id.eq(client_id),
                contact_person::provider_id.eq(provider_id),
                contact_person::user_id.eq(user_id),
                contact_person::deputy_user_id.eq(deputy_user_id),
                contact_person::named_by.eq(by),
                contact_person::named_at.eq(at),
            ))
            .execute(c)?;
        Ok(contact_person::table
            .find((client_id, provider_id))
            .select(ContactPerson::as_select())
            .first(c)?)
    })
}

/// The contact person at a provider, if named.
pub fn contact(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
) -> Result<Option<ContactPerson>, StoreError> {
    Ok(contact_person::table
        .find((client_id, provider_id))
        .select(ContactPerson::as_select())
        .first(c)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: i32, state: PlanState) -> PlanVersion {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 8, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        PlanVersion {
            id: n.to_string(),
            client_id: "c".into(),
            provider_id: "p".into(),
            version: n,
            state,
            content: "{}".into(),
            participation: Participation::TookPart,
            participation_note: String::new(),
            created_by: "u".into(),
            created_at: t,
            updated_at: t,
            approved_by: None,
            approved_at: None,
            review: Review::Unchecked,
            reviewed_by: None,
            reviewed_at: None,
            review_note: String::new(),
        }
    }

    #[test]
    fn a_plan_in_revision_still_counts_as_present_and_a_draft_does_not() {
        // R10: only an approved plan meets the deadline.
        assert_eq!(PlanStatus::of(&[]), PlanStatus::Missing);
        let draft = [version(1, PlanState::Draft)];
        assert_eq!(PlanStatus::of(&draft), PlanStatus::Draft);
        assert!(!PlanStatus::of(&draft).present());
        // R17: revising the approved plan does not make it missing.
        let revising = [
            version(1, PlanState::Approved),
            version(2, PlanState::InRevision),
        ];
        assert_eq!(PlanStatus::of(&revising), PlanStatus::InRevision);
        assert!(PlanStatus::of(&revising).present());
        let renewed = [
            version(1, PlanState::Superseded),
            version(2, PlanState::Approved),
        ];
        assert_eq!(PlanStatus::of(&renewed), PlanStatus::Approved);
        assert!(PlanStatus::of(&renewed).present());
    }
}
