-- The auditor role (R14: reads the access log), municipality-wide, and
-- the deadline alert kinds (R10-R13).
ALTER TABLE user_account DROP CONSTRAINT user_account_role_check;
ALTER TABLE user_account DROP CONSTRAINT user_account_check;
ALTER TABLE user_account ADD CONSTRAINT user_account_role_check
    CHECK (role IN ('staff', 'provider_admin', 'caseworker', 'fee_admin', 'admin', 'auditor'));
ALTER TABLE user_account ADD CONSTRAINT user_account_check CHECK (
    (role IN ('staff', 'provider_admin') AND provider_id IS NOT NULL AND authority_unit_id IS NULL)
    OR (role = 'caseworker' AND authority_unit_id IS NOT NULL AND provider_id IS NULL)
    OR (role IN ('fee_admin', 'admin', 'auditor') AND provider_id IS NULL)
);
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check CHECK (kind IN ('outside_band', 'follow_up_recommended',
        'exceeds_granted', 'pace_warning', 'missing_visits', 'visit_open_too_long',
        'care_plan_missing', 'care_plan_missing_escalated', 'care_plan_follow_up_due',
        'individual_follow_up_due', 'contact_person_missing'));
