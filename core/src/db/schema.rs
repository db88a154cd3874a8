//! Diesel table definitions, written by hand to match both migration folders.

diesel::table! {
    municipality (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        time_zone -> Text,
        tolerance_basis_points -> Integer,
        frame_window_start_minute -> Integer,
        frame_window_end_minute -> Integer,
        care_plan_deadline_days -> Integer,
        plan_follow_up_months -> Integer,
        individual_follow_up_months -> Integer,
        contact_person_days -> Integer,
        review_from_day -> Integer,
        month_convention -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        max_visit_minutes -> Integer,
        care_plan_escalation_days -> Integer,
        plan_list_day -> Integer,
        continuity_week -> Nullable<Integer>,
        access_log_retention_years -> Integer,
        client_retention_years -> Integer,
        keep_research_sample -> Bool,
        visit_tolerance_minutes -> Integer,
        time_critical_tolerance_minutes -> Integer,
        visit_escalation_minutes -> Integer,
        plans_from_orders -> Bool,
        order_visit_windows -> Text,
    }
}

diesel::table! {
    provider (id) {
        id -> Text,
        municipality_id -> Text,
        name -> Text,
        org_number -> Nullable<Text>,
        regi -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    authority_unit (id) {
        id -> Text,
        municipality_id -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_account (id) {
        id -> Text,
        municipality_id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        provider_id -> Nullable<Text>,
        authority_unit_id -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    api_token (id) {
        id -> Text,
        municipality_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        broker_hash -> Nullable<Text>,
        provider_id -> Nullable<Text>,
    }
}

diesel::table! {
    client (id) {
        id -> Text,
        municipality_id -> Text,
        personal_number -> Text,
        given_name -> Text,
        family_name -> Text,
        street_address -> Text,
        postal_code -> Text,
        city -> Text,
        phone -> Nullable<Text>,
        caseworker_id -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        household_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        purged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    service (id) {
        id -> Text,
        municipality_id -> Text,
        code -> Text,
        name -> Text,
        service_group -> Text,
        standard_minutes -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        care_bundle -> Bool,
        continuity_excluded -> Bool,
        without_decision -> Bool,
        ksi_code -> Nullable<Text>,
    }
}

diesel::table! {
    decision (id) {
        id -> Text,
        client_id -> Text,
        kind -> Text,
        legal_basis -> Text,
        decided_on -> Date,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        purpose -> Text,
        goals -> Text,
        caseworker_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    care_order (id) {
        id -> Text,
        decision_id -> Text,
        client_id -> Text,
        provider_id -> Text,
        ordered_on -> Date,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        daily_visits -> Nullable<Integer>,
        double_staffing_minutes -> Integer,
        monthly_total_minutes -> Nullable<Integer>,
        free_text -> Text,
        previous_order_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_line (id) {
        id -> Text,
        care_order_id -> Text,
        position -> Integer,
        service_id -> Text,
        minutes_per_occurrence -> Integer,
        amount_unit -> Text,
        times -> Integer,
        period -> Text,
        every -> Integer,
        weekdays -> Integer,
        note -> Text,
        bundle_contents -> Text,
    }
}

diesel::joinable!(provider -> municipality (municipality_id));
diesel::joinable!(authority_unit -> municipality (municipality_id));
diesel::joinable!(client -> municipality (municipality_id));
diesel::joinable!(service -> municipality (municipality_id));
diesel::joinable!(decision -> client (client_id));
diesel::joinable!(care_order -> decision (decision_id));
diesel::joinable!(care_order -> client (client_id));
diesel::joinable!(order_line -> care_order (care_order_id));
diesel::joinable!(order_line -> service (service_id));

diesel::table! {
    refresh_token (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_token -> user_account (user_id));

diesel::table! {
    visit_event (id) {
        id -> Text,
        source -> Text,
        source_key -> Text,
        event_id -> Text,
        kind -> Text,
        staff_id -> Text,
        client_id -> Text,
        provider_id -> Text,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
        local_date -> Date,
        method -> Nullable<Text>,
        method_ref -> Nullable<Text>,
        reason -> Nullable<Text>,
        payload -> Text,
    }
}

diesel::table! {
    visit (id) {
        id -> Text,
        staff_id -> Text,
        provider_id -> Text,
        client_id -> Text,
        check_in_event_id -> Nullable<Text>,
        check_out_event_id -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        seconds -> Nullable<Integer>,
        local_date -> Date,
        status -> Text,
        exception -> Nullable<Text>,
        method -> Nullable<Text>,
        double_staffing -> Bool,
        approval_reasons -> Text,
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        corrected_started_at -> Nullable<Timestamp>,
        corrected_ended_at -> Nullable<Timestamp>,
        voided -> Bool,
        verified -> Bool,
    }
}

diesel::table! {
    visit_change (id) {
        id -> Text,
        visit_id -> Text,
        provider_id -> Text,
        kind -> Text,
        reason_code -> Nullable<Text>,
        comment -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
        recorded_at -> Timestamp,
        before_json -> Text,
        after_json -> Text,
        chain_seq -> Nullable<BigInt>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    month_lock (provider_id, month) {
        provider_id -> Text,
        month -> Text,
        locked_at -> Timestamp,
        locked_by -> Text,
    }
}

diesel::table! {
    visit_share (visit_id, client_id) {
        visit_id -> Text,
        client_id -> Text,
        basis_points -> Integer,
    }
}

diesel::table! {
    visit_service (visit_id, client_id, service_id, declined) {
        visit_id -> Text,
        client_id -> Text,
        service_id -> Text,
        declined -> Bool,
        entered_minutes -> Nullable<Integer>,
        seconds -> Integer,
    }
}

diesel::table! {
    journal_note (id) {
        id -> Text,
        source_key -> Text,
        event_id -> Text,
        client_id -> Text,
        provider_id -> Text,
        author_id -> Text,
        visit_event_id -> Nullable<Text>,
        corrects_note_id -> Nullable<Text>,
        written_at -> Timestamp,
        received_at -> Timestamp,
        body -> Text,
    }
}

diesel::table! {
    order_month (care_order_id, month) {
        care_order_id -> Text,
        month -> Text,
        convention -> Text,
        order_updated_at -> Timestamp,
        minutes -> Nullable<BigInt>,
        by_service -> Text,
    }
}

diesel::joinable!(order_month -> care_order (care_order_id));
diesel::joinable!(visit_service -> visit (visit_id));
diesel::joinable!(visit_service -> service (service_id));

diesel::allow_tables_to_appear_in_same_query!(
    municipality,
    provider,
    authority_unit,
    user_account,
    api_token,
    client,
    service,
    decision,
    care_order,
    order_line,
    order_month,
    refresh_token,
    visit_event,
    visit,
    visit_service,
    visit_share,
    journal_note,
    visit_change,
    month_lock,
    device,
    staff_credential,
    dead_letter,
    provider_notice,
    lock_signing_key,
    digital_key,
);

diesel::table! {
    device (id) {
        id -> Text,
        municipality_id -> Text,
        provider_id -> Text,
        kind -> Text,
        client_id -> Nullable<Text>,
        secret_hash -> Text,
        hmac_key -> Nullable<Text>,
        status -> Text,
        last_seen_at -> Nullable<Timestamp>,
        firmware -> Nullable<Text>,
        battery_pct -> Nullable<Integer>,
        config_dirty -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        config_version -> BigInt,
        broker_hash -> Nullable<Text>,
    }
}

diesel::table! {
    staff_credential (municipality_id, credential) {
        municipality_id -> Text,
        credential -> Text,
        staff_id -> Text,
        kind -> Text,
        active -> Bool,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dead_letter (id) {
        id -> Text,
        received_at -> Timestamp,
        topic -> Text,
        device_id -> Nullable<Text>,
        reason -> Text,
        detail -> Text,
        payload -> Binary,
        replayed_at -> Nullable<Timestamp>,
        replay_result -> Nullable<Text>,
        municipality_id -> Nullable<Text>,
        payload_bytes -> Integer,
        payload_sha256 -> Nullable<Text>,
        stored_payload -> Nullable<Binary>,
    }
}

diesel::table! {
    provider_notice (id) {
        id -> Text,
        provider_id -> Text,
        device_id -> Nullable<Text>,
        kind -> Text,
        message -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lock_signing_key (kid) {
        kid -> Text,
        public_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    digital_key (id) {
        id -> Text,
        kid -> Text,
        device_id -> Text,
        staff_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    figure_day (client_id, provider_id, local_date, service_id) {
        client_id -> Text,
        provider_id -> Text,
        local_date -> Date,
        service_id -> Text,
        seconds -> BigInt,
        frame_seconds -> BigInt,
        visits -> BigInt,
        declined -> BigInt,
    }
}

diesel::table! {
    figure_staff_day (client_id, local_date, staff_id) {
        client_id -> Text,
        local_date -> Date,
        staff_id -> Text,
        visits -> BigInt,
        seconds -> BigInt,
        verified -> BigInt,
        daytime -> BigInt,
    }
}

diesel::table! {
    figure_month (client_id, provider_id, month, service_id) {
        client_id -> Text,
        provider_id -> Text,
        month -> Text,
        service_id -> Text,
        seconds -> BigInt,
        frame_seconds -> BigInt,
        visits -> BigInt,
        declined -> BigInt,
    }
}

diesel::table! {
    figure_dirty (client_id, month) {
        client_id -> Text,
        month -> Text,
        marked_at -> Timestamp,
    }
}

diesel::table! {
    absence (id) {
        id -> Text,
        client_id -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        cause -> Text,
        note -> Text,
        registered_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    alert (id) {
        id -> Text,
        municipality_id -> Text,
        client_id -> Text,
        month -> Text,
        kind -> Text,
        rules -> Text,
        audience -> Text,
        caseworker_id -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        state -> Text,
        message -> Text,
        figures -> Text,
        raised_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        planned_visit_id -> Nullable<Text>,
    }
}

diesel::table! {
    alert_history (seq) {
        seq -> BigInt,
        alert_id -> Text,
        at -> Timestamp,
        action -> Text,
        state -> Text,
        by_user_id -> Nullable<Text>,
        note -> Text,
        message -> Text,
        figures -> Text,
    }
}

diesel::table! {
    explanation (id) {
        id -> Text,
        client_id -> Text,
        provider_id -> Text,
        month -> Text,
        cause -> Text,
        text -> Text,
        state -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_note -> Text,
    }
}

diesel::table! {
    explanation_history (seq) {
        seq -> BigInt,
        explanation_id -> Text,
        at -> Timestamp,
        by_user_id -> Text,
        action -> Text,
        cause -> Text,
        text -> Text,
        note -> Text,
    }
}

diesel::table! {
    alert_event (seq) {
        seq -> BigInt,
        alert_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    outbox_cursor (name) {
        name -> Text,
        seq -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    client,
    figure_day,
    figure_staff_day,
    figure_month,
    figure_dirty,
    absence,
    alert,
    alert_history,
    explanation,
    explanation_history,
    alert_event,
    outbox_cursor,
);

diesel::table! {
    month_lock_log (seq) {
        seq -> BigInt,
        provider_id -> Text,
        month -> Text,
        action -> Text,
        by_user_id -> Text,
        at -> Timestamp,
        reason -> Text,
    }
}

diesel::table! {
    care_plan_version (id) {
        id -> Text,
        client_id -> Text,
        provider_id -> Text,
        version -> Integer,
        state -> Text,
        content -> Text,
        participation -> Text,
        participation_note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        review -> Text,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_note -> Text,
    }
}

diesel::table! {
    care_plan_follow_up (id) {
        id -> Text,
        client_id -> Text,
        provider_id -> Text,
        followed_up_on -> Date,
        note -> Text,
        by_user_id -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    individual_follow_up (id) {
        id -> Text,
        client_id -> Text,
        done_on -> Date,
        next_due -> Date,
        note -> Text,
        by_user_id -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    contact_person (client_id, provider_id) {
        client_id -> Text,
        provider_id -> Text,
        user_id -> Text,
        deputy_user_id -> Nullable<Text>,
        named_by -> Text,
        named_at -> Timestamp,
    }
}

diesel::table! {
    shared_board (authority_unit_id, provider_id) {
        authority_unit_id -> Text,
        provider_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    material_request (id) {
        id -> Text,
        client_id -> Text,
        provider_id -> Text,
        caseworker_id -> Text,
        asks_plan -> Bool,
        asks_journal -> Bool,
        journal_from -> Nullable<Date>,
        journal_to -> Nullable<Date>,
        asks_comment -> Bool,
        asks_unperformed -> Bool,
        message -> Text,
        due_on -> Date,
        state -> Text,
        created_at -> Timestamp,
        answer_plan_version_id -> Nullable<Text>,
        answer_plan_note -> Text,
        answer_journal -> Nullable<Text>,
        answer_comment -> Text,
        answer_unperformed -> Text,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    care_plan_list (seq) {
        seq -> BigInt,
        id -> Text,
        municipality_id -> Text,
        provider_id -> Text,
        list_date -> Date,
        generated_at -> Timestamp,
        clients -> Text,
    }
}

diesel::table! {
    log_head (chain) {
        chain -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    consent (seq) {
        seq -> BigInt,
        id -> Text,
        client_id -> Text,
        state -> Text,
        note -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    access_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        user_id -> Text,
        role -> Text,
        client_id -> Text,
        what -> Text,
        subjects -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    access_subject (user_id, access_seq) {
        access_seq -> BigInt,
        user_id -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(access_log, access_subject);

diesel::table! {
    directory_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    credential_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    device_message (visit_event_id) {
        visit_event_id -> Text,
        content_sha256 -> Text,
        body -> Text,
    }
}

diesel::table! {
    oidc_login (state_hash) {
        state_hash -> Text,
        municipality_id -> Text,
        redirect_uri -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        client_challenge -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    chain_gap (chain, from_seq) {
        chain -> Text,
        from_seq -> BigInt,
        to_seq -> BigInt,
        prev_hash -> Text,
        last_hash -> Text,
        removed_at -> Timestamp,
        reason -> Text,
        kid -> Text,
        signature -> Text,
    }
}

diesel::table! {
    retention_run (id) {
        id -> Text,
        municipality_id -> Text,
        ran_at -> Timestamp,
        access_log_before -> Timestamp,
        orders_ended_before -> Date,
        clients_purged -> Integer,
        clients_kept -> Integer,
        rows_deleted -> BigInt,
        counts -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(access_log, client);
diesel::allow_tables_to_appear_in_same_query!(access_log, user_account);

diesel::table! {
    phone_contact (staff_id) {
        staff_id -> Text,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    planned_visit (id) {
        id -> Text,
        provider_id -> Text,
        planner_ref -> Text,
        client_id -> Text,
        local_date -> Date,
        earliest_start -> Timestamp,
        latest_start -> Timestamp,
        expected_minutes -> Integer,
        double_staffing -> Bool,
        time_critical -> Bool,
        tolerance_minutes -> Nullable<Integer>,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    planned_visit_due (planned_visit_id) {
        planned_visit_id -> Text,
        due_at -> Nullable<Timestamp>,
        settled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    planned_visit_service (planned_visit_id, service_id) {
        planned_visit_id -> Text,
        service_id -> Text,
    }
}

diesel::table! {
    planned_visit_staff (planned_visit_id, staff_id) {
        planned_visit_id -> Text,
        staff_id -> Text,
    }
}

diesel::joinable!(planned_visit_service -> planned_visit (planned_visit_id));
diesel::joinable!(planned_visit_staff -> planned_visit (planned_visit_id));
diesel::joinable!(planned_visit_due -> planned_visit (planned_visit_id));
diesel::allow_tables_to_appear_in_same_query!(
    phone_contact,
    planned_visit,
    planned_visit_due,
    planned_visit_service,
    planned_visit_staff
);

diesel::table! {
    visited_day (client_id, local_date) {
        client_id -> Text,
        local_date -> Date,
        asked_at -> Timestamp,
    }
}

diesel::joinable!(visited_day -> client (client_id));
diesel::allow_tables_to_appear_in_same_query!(visited_day, client);

diesel::joinable!(planned_visit -> provider (provider_id));
diesel::allow_tables_to_appear_in_same_query!(planned_visit, provider);
diesel::allow_tables_to_appear_in_same_query!(planned_visit_due, provider);
diesel::joinable!(visit_share -> visit (visit_id));
diesel::allow_tables_to_appear_in_same_query!(alert, planned_visit);
diesel::joinable!(alert_history -> alert (alert_id));
