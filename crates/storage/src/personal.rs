//! Where personal data lives: one declaration per table of the columns that
//! hold personal data, which field group guards each, and whose data it is.
//! Backups write it into their manifest; retention, erasure, the
//! access-request export and the planted-marker test read it. A test fails
//! when a table of the schema is declared neither here nor in
//! [`WITHOUT_PERSONAL_DATA`], or when a declared column does not exist.

use veille_domain::FieldGroup;

/// Whose data a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Whose {
    /// A person recorded (who never logs in and has rights over it).
    PersonRecorded,
    /// A reporter of a signalement (resident, shopkeeper, partner).
    Reporter,
    /// A staff account.
    Staff,
    /// A partner contact (e-mail a referral link goes to).
    Partner,
    /// Anyone: free text typed by staff or the public, which may name people.
    FreeText,
    /// A local relay of the contact book (resident, shopkeeper, caretaker…).
    Relay,
}

/// A column holding personal data.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Whose data.
    pub whose: Whose,
    /// The field group that guards it, if any (health, justice, finance).
    pub group: Option<FieldGroup>,
}

/// A table and its personal columns.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Table {
    /// The table.
    pub name: &'static str,
    /// Its personal columns.
    pub columns: &'static [Column],
    /// The column naming the person recorded the row is about, if the rows
    /// are about one person (for access requests and erasure).
    pub person: Option<&'static str>,
}

const fn c(name: &'static str, whose: Whose) -> Column {
    Column { name, whose, group: None }
}

const fn health(name: &'static str) -> Column {
    Column { name, whose: Whose::PersonRecorded, group: Some(FieldGroup::Health) }
}

const fn justice(name: &'static str) -> Column {
    Column { name, whose: Whose::FreeText, group: Some(FieldGroup::Justice) }
}

const fn relay(name: &'static str) -> Column {
    Column { name, whose: Whose::Relay, group: Some(FieldGroup::Relays) }
}

use Whose::*;

/// Every table holding personal data, and where.
pub const PERSONAL: &[Table] = &[
    // Shelter and housing (migration 0010).
    Table { name: "facility_nights", person: None, columns: &[c("note", FreeText)] },
    Table { name: "stays", person: Some("person_id"), columns: &[c("label", PersonRecorded), c("note", FreeText), c("destination", PersonRecorded)] },
    Table { name: "shelter_requests", person: Some("person_id"), columns: &[c("label", PersonRecorded), c("note", FreeText)] },
    Table { name: "operations", person: None, columns: &[c("report", FreeText), justice("legal_frame"), justice("legal_reference")] },
    Table {
        name: "operation_people",
        person: Some("person_id"),
        columns: &[c("label", PersonRecorded), c("vulnerabilities", PersonRecorded), c("needs", PersonRecorded), c("proposal", PersonRecorded)],
    },
    Table { name: "landlords", person: None, columns: &[c("name", Partner), c("contact", Partner), c("agreement", FreeText)] },
    Table { name: "dwellings", person: None, columns: &[c("address", PersonRecorded)] },
    Table { name: "tenancies", person: Some("person_id"), columns: &[c("label", PersonRecorded), c("exit_reason", PersonRecorded)] },
    Table { name: "dwelling_checks", person: None, columns: &[c("notes", FreeText), c("checklist", PersonRecorded)] },
    // Cases, meetings, escalations (migrations 0012, 0013).
    Table { name: "cases", person: None, columns: &[c("title", FreeText)] },
    Table { name: "case_people", person: Some("person_id"), columns: &[c("person_id", PersonRecorded)] },
    Table { name: "case_evaluations", person: None, columns: &[c("body", PersonRecorded)] },
    Table { name: "actions", person: None, columns: &[c("title", FreeText), c("result", FreeText), c("owner_name", Partner)] },
    Table { name: "meetings", person: None, columns: &[c("title", FreeText), c("theme", FreeText), c("evaluation", FreeText)] },
    Table { name: "meeting_attendees", person: None, columns: &[c("name", Partner), c("email", Partner)] },
    Table { name: "meeting_items", person: None, columns: &[c("topic", FreeText), c("notes", FreeText), c("decision", FreeText)] },
    Table { name: "escalations", person: None, columns: &[c("summary", FreeText), c("resolution", FreeText)] },
    // Neighbourhood work (migration 0016): the contact book is the relays field group.
    Table {
        name: "contacts",
        person: None,
        columns: &[relay("name"), relay("structure"), relay("place"), relay("lon"), relay("lat"), relay("phone"), relay("email"), relay("reach")],
    },
    Table { name: "mediations", person: None, columns: &[c("place", FreeText), c("actions", FreeText), c("outcome_note", FreeText)] },
    Table { name: "mediation_parties", person: Some("person_id"), columns: &[] },
    Table { name: "service_requests", person: None, columns: &[c("place", FreeText), c("description", FreeText), c("answer", FreeText)] },
    Table { name: "service_request_photos", person: None, columns: &[c("data", FreeText)] },
    Table { name: "log_entries", person: None, columns: &[c("body", FreeText), c("attachment_name", FreeText), c("attachment_data", FreeText)] },
    // Offline sync (migration 0020): a held operation's body is sealed as the
    // health group (it may carry care notes) and cleared once decided; the
    // values of fields phones changed and the competing values of conflicts.
    Table { name: "sync_ops", person: None, columns: &[Column { name: "payload", whose: FreeText, group: Some(FieldGroup::Health) }] },
    Table { name: "sync_field_versions", person: Some("record_id"), columns: &[c("value", FreeText)] },
    Table {
        name: "sync_conflicts",
        person: Some("record_id"),
        columns: &[c("current_value", FreeText), c("proposed_value", FreeText), c("resolved_value", FreeText)],
    },
    // Attachments uploaded by phones before the operation that names them (migration 0021).
    Table { name: "sync_blobs", person: None, columns: &[c("data", FreeText)] },
    Table { name: "users", person: None, columns: &[c("email", Staff), c("display_name", Staff)] },
    Table { name: "invitations", person: None, columns: &[c("email", Staff), c("display_name", Staff)] },
    Table { name: "outbox", person: None, columns: &[c("to_address", FreeText), c("subject", FreeText), c("body_text", FreeText)] },
    Table {
        name: "reports",
        person: None,
        columns: &[
            c("address", FreeText),
            c("description", FreeText),
            c("reporter_name", Reporter),
            c("contact_email", Reporter),
            c("contact_phone", Reporter),
            c("public_answer", FreeText),
            c("override_reason", FreeText),
            c("lon", FreeText),
            c("lat", FreeText),
        ],
    },
    Table { name: "report_notes", person: None, columns: &[c("body", FreeText)] },
    Table { name: "report_photos", person: None, columns: &[c("data", FreeText)] },
    Table { name: "photo_uploads", person: None, columns: &[c("data", FreeText)] },
    Table { name: "timeline", person: None, columns: &[c("detail", FreeText)] },
    Table { name: "sites", person: None, columns: &[c("address", FreeText), c("land_owner", FreeText)] },
    Table { name: "site_observations", person: None, columns: &[c("comment", FreeText)] },
    Table { name: "round_stops", person: None, columns: &[c("note", FreeText)] },
    Table { name: "round_incidents", person: None, columns: &[c("description", FreeText)] },
    Table { name: "rounds", person: None, columns: &[c("mediation_notes", FreeText), c("handover", FreeText)] },
    Table {
        name: "people",
        person: Some("id"),
        columns: &[
            c("pseudonym", PersonRecorded),
            c("aliases", PersonRecorded),
            c("birth_year", PersonRecorded),
            c("age_band", PersonRecorded),
            c("gender", PersonRecorded),
            c("languages", PersonRecorded),
            c("nationality", PersonRecorded),
            c("situation", PersonRecorded),
            c("needs", PersonRecorded),
            c("vulnerabilities", PersonRecorded),
            c("phone", PersonRecorded),
            c("civil_given_name", PersonRecorded),
            c("civil_family_name", PersonRecorded),
            c("exit_reason", PersonRecorded),
        ],
    },
    Table { name: "person_health", person: Some("person_id"), columns: &[health("flags"), health("notes")] },
    Table { name: "person_notes", person: Some("person_id"), columns: &[c("body", PersonRecorded)] },
    Table { name: "consents", person: Some("person_id"), columns: &[c("language", PersonRecorded)] },
    Table { name: "person_links", person: Some("person_a"), columns: &[c("agreements", PersonRecorded)] },
    Table { name: "households", person: None, columns: &[c("kind", PersonRecorded)] },
    Table { name: "household_children", person: None, columns: &[c("birth_year", PersonRecorded)] },
    Table {
        name: "encounters",
        person: None,
        columns: &[c("place", FreeText), c("notes", FreeText), c("follow_up_note", FreeText), c("lon", FreeText), c("lat", FreeText)],
    },
    Table { name: "encounter_people", person: Some("person_id"), columns: &[] },
    // Each file's first encounter with each organisation, derived from the
    // two tables above by triggers (migration 0026).
    Table { name: "person_first_encounters", person: Some("person_id"), columns: &[] },
    // Each file met with its encounter's organisation, instant and
    // territory, derived the same way (migration 0029).
    Table { name: "people_met", person: Some("person_id"), columns: &[] },
    Table { name: "encounter_care", person: None, columns: &[health("notes")] },
    Table {
        name: "referrals",
        person: Some("person_id"),
        columns: &[c("reason", PersonRecorded), c("answer", PersonRecorded), c("partner_email", Partner), c("urgent_override_reason", FreeText)],
    },
    Table { name: "person_shares", person: Some("person_id"), columns: &[] },
    Table { name: "person_distinct_pairs", person: Some("person_a"), columns: &[] },
    Table { name: "login_attempts", person: None, columns: &[c("ip", Staff)] },
    Table { name: "report_submissions", person: None, columns: &[c("client_key", Reporter)] },
    Table { name: "audit_log", person: None, columns: &[c("detail", FreeText)] },
    // Rights of the people recorded (migration 0017).
    Table { name: "legal_holds", person: Some("person_id"), columns: &[c("reason", FreeText), c("lift_reason", FreeText)] },
    Table { name: "person_changes", person: Some("person_id"), columns: &[c("old_value", PersonRecorded), c("new_value", PersonRecorded)] },
];

/// A column whose field group is chosen row by row: a row's group is the
/// code in `group_column` (a person's note is a health note when its
/// `field_group` is `health`). Guarded, and sealed at rest when the group is
/// sealed (see [`crate::field_keys`]), only in those rows.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct GroupedByRow {
    /// The table.
    pub table: &'static str,
    /// The column holding the text.
    pub column: &'static str,
    /// The column holding the row's field group code (NULL: none).
    pub group_column: &'static str,
}

/// Every column whose field group is chosen row by row.
pub const GROUPED_BY_ROW: &[GroupedByRow] = &[GroupedByRow { table: "person_notes", column: "body", group_column: "field_group" }];

/// Tables that hold no personal data (ids, codes, counts, settings, partner
/// directory entries that are public information, hashes of secrets).
pub const WITHOUT_PERSONAL_DATA: &[&str] = &[
    "instance_settings",
    "organisations",
    "territories",
    "user_territories",
    "user_field_groups",
    "recovery_codes",
    "teams",
    "team_members",
    "case_members",
    "sessions",
    "api_tokens",
    "password_resets",
    "audit_head",
    "lookup_versions",
    "routing_rules",
    "report_distinct_pairs",
    "distribution_items",
    "circuits",
    "circuit_stops",
    "schedule_slots",
    "round_members",
    "round_distributions",
    "site_destinations",
    "directory_structures",
    "directory_services",
    "facilities",
    "escalation_recipients",
    "city_services",
    "log_mentions",
    "on_call",
    // Counts by month and coarse category, and the erasure journal (ids only).
    "figure_tallies",
    "erasures",
    // A count of changes per day (the figures' epochs: no id, no value).
    "figure_epochs",
    // The encounters of each organisation counted by hour (migration 0030).
    "encounter_hours",
    // Salted hashes of imported spreadsheet lines and the ids they became.
    "import_keys",
    // Devices registered for offline sync: ids, accounts, sequence numbers.
    "sync_devices",
];

/// The point where sealed values are opened: every generic read of a
/// declared personal column (the access-request export, the history of a
/// file) passes each value through here, with its table and column. A column
/// sealed in every row is opened with the instance's field keys; a column
/// sealed row by row (a health note) is opened where the value is sealed (a
/// note of no sealed group that happens to begin like a sealed value is
/// shown as typed).
pub async fn reveal(db: &crate::db::Db, table: &str, column: &str, value: String) -> crate::error::Result<String> {
    use crate::field_keys;
    if !value.starts_with(field_keys::PREFIX) {
        return Ok(value);
    }
    if field_keys::column_sealed(table, column) {
        return db.ring()?.open(table, column, &value);
    }
    if GROUPED_BY_ROW.iter().any(|g| g.table == table && g.column == column) {
        return Ok(db.ring()?.open(table, column, &value).unwrap_or(value));
    }
    Ok(value)
}

/// The declaration of a table, if it holds personal data.
pub fn table(name: &str) -> Option<&'static Table> {
    PERSONAL.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_declared_once() {
        let mut seen = std::collections::BTreeSet::new();
        for name in PERSONAL.iter().map(|t| t.name).chain(WITHOUT_PERSONAL_DATA.iter().copied()) {
            assert!(seen.insert(name), "{name} declared twice");
        }
    }
}
