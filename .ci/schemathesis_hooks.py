"""Schemathesis hooks for .ci/schemathesis.sh (loaded by SCHEMATHESIS_HOOKS).

`positive_data_acceptance` fails when the server refuses a request that
matches the OpenAPI document. Where the document can carry the server's
rule (patterns, lengths, ranges, enums) it does, and such a refusal fails
the run. A few rules no JSON Schema can state; a refusal is dropped only
when every code in the problem is one of these, each with its reason, so
a new disagreement between the document and the server still fails.
"""
import json

import schemathesis

# Field-level codes of 422 `validation_failed` for rules beyond a schema.
BEYOND_THE_SCHEMA = {
    # An id must name a row that exists, in the caller's reach.
    "unknown_reference": "a reference to a row",
    "unknown_staff": "a reference to a care worker of the provider",
    "unknown_client": "a reference to a client",
    "unknown_service": "a reference to the municipality's catalogue",
    # An IANA time zone name (the database's names are not listed).
    "unknown_time_zone": "the IANA time zone database",
    # A PUT body's id must equal the URL's.
    "id_mismatch": "two values equal",
    # A personal identity number's date and Luhn check digit; an
    # organisation number's check digit.
    "invalid_date": "a calendar date inside a number",
    "invalid_check_digit": "a check digit",
    "invalid_org_number": "a check digit",
    # The caller's current password.
    "wrong_password": "a secret",
    # A provider id only for roles that belong to a provider; a care
    # bundle only in the personal-care group; an amount that gives whole
    # minutes in its unit (0.2 hours, not 0.01).
    "not_allowed": "depends on another field's value",
    "not_personal_care": "depends on another field's value",
    "invalid_amount": "depends on another field's value",
    # Required only with another field's value (remarks need a note, an
    # NFC check-in its tag, a request at least one thing).
    "required": "depends on another field's value",
    # A window or span that must end after it starts, or stay within a day.
    "invalid_window": "compares two fields",
    "too_wide": "compares two fields",
    "before_start": "compares two fields",
    "before_earliest": "compares two fields",
    "invalid_period": "compares two fields",
    "invalid_windows": "compares windows (each ends after it starts, in order)",
    "ambiguous": "one of two fields, not both",
    # Shares add up to 100, each client once.
    "invalid_total": "a sum over items",
    "duplicate": "unique by one field of the items",
    # A service's client must be one of the visit's.
    "not_sharing": "compares two fields",
    # Relative to today: a due date not passed, an event not older than
    # 62 days, a plan within 62 days back and 400 ahead.
    "in_past": "relative to today",
    "in_future": "relative to now (the phone's clock)",
    "date_in_future": "relative to today (a birth date)",
    "too_old": "relative to today",
    # The CSV file's header (the body is a file in the document).
    "missing_column": "inside a CSV file",
    # Ids beginning with `hemtid-` are reserved for hemtid's own clients.
    "reserved_device_id": "a negative prefix",
}

# Fields whose `out_of_range` is relative to today (a plan's start within
# 62 days back and 400 ahead) or to another field (an order line's amount
# at most 24 hours in its unit).
DEPENDENT_RANGE_FIELDS = ("earliest_start", "latest_start", "date", "amount", "monthly_total")


def _beyond(problem):
    code = problem.get("code")
    detail = problem.get("detail") or ""
    if code == "invalid_json":
        # The document's introduction: no text may hold U+0000.
        return "NUL character" in detail
    if code == "oidc_unknown_state":
        # `state` must be one this server handed out in `authorize`.
        return True
    if code == "invalid_query":
        # `to` on or after `from`, at most 92 days after it.
        return detail.startswith("to: on or after from")
    if code != "validation_failed":
        return False
    errors = problem.get("errors") or []
    return bool(errors) and all(
        e.get("code") in BEYOND_THE_SCHEMA
        or (e.get("code") == "out_of_range"
            and e.get("field", "").endswith(DEPENDENT_RANGE_FIELDS))
        for e in errors
    )


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Keeps every failure except a refusal of valid data for such a rule."""
    if getattr(failure, "code", None) != "ST202":
        return True
    try:
        problem = json.loads(response.content)
    except (TypeError, ValueError):
        return True
    return not (isinstance(problem, dict) and _beyond(problem))
