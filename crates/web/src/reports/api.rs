//! Signalements in the JSON API (`/api/v1/reports…`): the queue with the same
//! filters, one report (audited; the restricted reporter fields only for who
//! may read them), partner intake, status and public answer changes, and the
//! figures. The same validation functions as the pages, the same permission
//! function, the same storage.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use veille_app::reports::intake::{IntakeInput, Refused};
use veille_app::reports::staff::{self, QueueQuery, Reporter};
use veille_app::reports::Report;
use veille_domain::Action;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::routes::{schema, Access, ApiDoc, QueryParam, Registry};
use crate::AppState;

/// The queue filters as the API takes them. The lists are the storage's
/// constants (a test checks they agree); a value outside them is refused by
/// the router (`api_contract`), never silently ignored. The pages read the
/// same fields with an empty or unknown value as "all".
pub const FILTERS: &[QueryParam] = &[
    QueryParam {
        name: "status",
        schema: r#"{"type": "string", "enum": ["received", "qualified", "assigned", "in_progress", "answered", "closed"]}"#,
        required: false,
    },
    QueryParam { name: "level", schema: r#"{"type": "integer", "enum": [1, 2]}"#, required: false },
    QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
    QueryParam {
        name: "situation",
        schema: r#"{"type": "string", "enum": ["minors", "family_with_children", "person_in_distress", "camp", "squat", "drug_use", "nuisance", "street_lighting", "dumped_waste", "dirty_public_space", "damaged_equipment", "building_technical"]}"#,
        required: false,
    },
    QueryParam {
        name: "source",
        schema: r#"{"type": "string", "enum": ["public", "riverain", "commercant", "gardien_bailleur", "mairie_arrondissement", "cabinet", "samu_social_115", "association", "police", "elu", "autre"]}"#,
        required: false,
    },
    QueryParam { name: "from", schema: r#"{"type": "string", "format": "date", "description": "received on or after this day (Paris)"}"#, required: false },
    QueryParam { name: "to", schema: r#"{"type": "string", "format": "date", "description": "received on or before this day (Paris)"}"#, required: false },
    QueryParam { name: "overdue", schema: r#"{"type": "string", "enum": ["0", "1"], "description": "1: only open reports past a deadline"}"#, required: false },
];

/// The API routes of signalements.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/api/v1/reports", Signed, "Reports the caller may read, with the queue's filters", get(list))
        .doc(ApiDoc::default().query(FILTERS).response(schema::<Vec<ReportSummary>>))
        .post("/api/v1/reports", Signed, "Take a partner's report in (same triage, routing and duplicate check as the public form)", post(create))
        .doc(ApiDoc::default().request(schema::<NewReportBody>).response(schema::<Created>).status(201))
        .get("/api/v1/reports/stats", Signed, "Figures: reports by source, type, level, status and response time", get(super::stats::api))
        .doc(ApiDoc::default().query(FILTERS).response(schema::<super::stats::Figures>))
        .get("/api/v1/reports/{id}", Signed, "A report (audited read)", get(one))
        .doc(ApiDoc::default().response(schema::<ReportDetail>))
        .post("/api/v1/reports/{id}/status", Signed, "Change the status of a report", post(set_status))
        .doc(ApiDoc::default().request(schema::<StatusBody>).response(schema::<ReportDetail>))
        .post("/api/v1/reports/{id}/answer", Signed, "Publish the public answer of a report", post(set_answer))
        .doc(ApiDoc::default().request(schema::<AnswerBody>).response(schema::<ReportDetail>))
}

/// Reads the JSON body once access is decided (a caller who may not do this
/// learns nothing from the validation of what it sent).
async fn json<T: serde::de::DeserializeOwned>(req: Request, state: &AppState) -> Result<T, Response> {
    JsonBody::<T>::from_request(req, state).await.map(|JsonBody(b)| b)
}

/// A report in a list.
#[derive(Serialize, JsonSchema)]
pub struct ReportSummary {
    id: String,
    reference: String,
    received_at: String,
    status: String,
    outcome: Option<String>,
    /// Level in force (1 ordinary, 2 complex).
    level: i64,
    /// Level the triage rules gave.
    computed_level: i64,
    reasons: Vec<String>,
    situations: Vec<String>,
    flags: Vec<String>,
    source: String,
    channel: String,
    territory_id: Option<String>,
    organisation_id: Option<String>,
    team_id: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    acknowledge_due: String,
    answer_due: String,
    acknowledged_at: Option<String>,
    answered_at: Option<String>,
    overdue: bool,
    duplicate_of: Option<String>,
    site_id: Option<String>,
    version: i64,
}

fn summary(state: &AppState, r: &Report) -> ReportSummary {
    let d = state.config.report_deadlines();
    ReportSummary {
        id: r.id.to_string(),
        reference: r.reference.clone(),
        received_at: r.created_at.to_rfc3339(),
        status: r.status.code().to_owned(),
        outcome: r.outcome.map(|o| o.code().to_owned()),
        level: r.effective_level(),
        computed_level: r.level,
        reasons: r.reasons.clone(),
        situations: r.situations.clone(),
        flags: r.seen.clone(),
        source: r.source.code().to_owned(),
        channel: r.channel.code().to_owned(),
        territory_id: r.territory.map(|t| t.to_string()),
        organisation_id: r.organisation.map(|o| o.to_string()),
        team_id: r.team.map(|t| t.to_string()),
        lon: r.lon,
        lat: r.lat,
        acknowledge_due: r.acknowledge_due(&d).to_rfc3339(),
        answer_due: r.answer_due(&d).to_rfc3339(),
        acknowledged_at: r.acknowledged_at.map(|t| t.to_rfc3339()),
        answered_at: r.answered_at.map(|t| t.to_rfc3339()),
        overdue: r.is_overdue(&d, state.clock.now()),
        duplicate_of: r.duplicate_of.map(|d| d.to_string()),
        site_id: r.site_id.map(|s| s.to_string()),
        version: r.version,
    }
}

/// GET /api/v1/reports
pub async fn list(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let found = staff::list(&state, &who, &q).await?;
    Ok(Json(found.iter().map(|r| summary(&state, r)).collect::<Vec<_>>()).into_response())
}

/// A note as the API shows it.
#[derive(Serialize, JsonSchema)]
pub struct NoteView {
    at: String,
    author: String,
    body: String,
}

/// One report, whole.
#[derive(Serialize, JsonSchema)]
pub struct ReportDetail {
    #[serde(flatten)]
    summary: ReportSummary,
    address: String,
    adults: i64,
    children: i64,
    tents: i64,
    description: String,
    public_answer: String,
    public_answer_at: Option<String>,
    override_reason: Option<String>,
    has_photo: bool,
    /// Internal notes (never shown to the reporter).
    notes: Vec<NoteView>,
    /// The reporter's identity and contact: only for those who may update the report.
    reporter: Option<Reporter>,
}

async fn detail(state: &AppState, who: &Authenticated, r: &Report) -> AppResult<ReportDetail> {
    let notes =
        veille_app::reports::staff::notes(state, r).await?.into_iter().map(|n| NoteView { at: n.at.to_rfc3339(), author: n.author, body: n.body }).collect();
    Ok(ReportDetail {
        summary: summary(state, r),
        address: r.address.clone(),
        adults: r.adults,
        children: r.children,
        tents: r.tents,
        description: r.description.clone(),
        public_answer: r.public_answer.clone(),
        public_answer_at: r.public_answer_at.map(|t| t.to_rfc3339()),
        override_reason: r.override_reason.clone(),
        has_photo: veille_app::reports::staff::has_photo(state, r).await?,
        notes,
        reporter: staff::reporter_for(who, r),
    })
}

/// GET /api/v1/reports/{id} (audited read)
pub async fn one(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let report = staff::read(&state, &who, &id, "api").await?;
    Ok(Json(detail(&state, &who, &report).await?).into_response())
}

/// A report taken in through the API (partner intake).
#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewReportBody {
    /// Who reported: riverain, commercant, gardien_bailleur, mairie_arrondissement, cabinet, samu_social_115, association, police, elu, autre.
    source: String,
    /// How it came in: phone, email, letter, meeting.
    channel: String,
    lat: Option<f64>,
    lon: Option<f64>,
    /// Address or description of the place (required without lat/lon).
    #[serde(default)]
    address: String,
    /// Situation types (one or several): minors, family_with_children, person_in_distress, camp, squat, drug_use, nuisance.
    situations: Vec<String>,
    /// Aggravating flags: pregnant_woman, great_vulnerability, municipal_land.
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    adults: u32,
    #[serde(default)]
    children: u32,
    #[serde(default)]
    tents: u32,
    description: String,
    /// Who reported (name, function, structure): restricted.
    #[serde(default)]
    reporter_name: String,
    /// Restricted.
    #[serde(default)]
    reporter_email: String,
    /// Restricted.
    #[serde(default)]
    reporter_phone: String,
    /// The reporter agreed to be sent the follow-up by e-mail.
    #[serde(default)]
    consent: bool,
    /// A known site.
    #[serde(default)]
    site_id: String,
}

impl From<NewReportBody> for IntakeInput {
    fn from(b: NewReportBody) -> Self {
        let num = |n: Option<f64>| n.map(|v| v.to_string()).unwrap_or_default();
        IntakeInput {
            lon: num(b.lon),
            lat: num(b.lat),
            address: b.address,
            situation: b.situations,
            flag: b.flags,
            adults: b.adults.to_string(),
            children: b.children.to_string(),
            tents: b.tents.to_string(),
            description: b.description,
            email: b.reporter_email,
            phone: b.reporter_phone,
            consent: b.consent.then(|| "1".to_owned()),
            source: b.source,
            channel: b.channel,
            reporter_name: b.reporter_name,
            site_id: b.site_id,
            ..Default::default()
        }
    }
}

/// The answer to a creation.
#[derive(Serialize, JsonSchema)]
pub struct Created {
    id: String,
    reference: String,
    /// The reporter's private follow-up link (give it to them; shown once).
    follow_url: String,
    level: i64,
    status: String,
    team_id: Option<String>,
    organisation_id: Option<String>,
    /// `territory`, `outside` (outside every territory) or `not_placed`.
    placement: String,
}

/// POST /api/v1/reports
pub async fn create(State(state): State<AppState>, who: Authenticated, req: Request) -> AppResult<Response> {
    veille_app::reports::intake::gate(&who)?;
    let body: NewReportBody = match json(req, &state).await {
        Ok(b) => b,
        Err(refused) => return Ok(refused),
    };
    let lang = crate::i18n::Lang::from_code(&who.account.lang);
    let r = match veille_app::reports::intake::take_in(&state, &who, lang, body.into(), None).await? {
        Ok(r) => r,
        Err(Refused { errors, .. }) => return Ok(invalid(lang, &errors)),
    };
    let created = Created {
        id: r.id.to_string(),
        reference: r.reference.clone(),
        follow_url: r.follow_url.clone(),
        level: r.level,
        status: r.status.code().to_owned(),
        team_id: r.team.map(|t| t.to_string()),
        organisation_id: r.organisation.map(|o| o.to_string()),
        placement: r.placement.code().into(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// received, qualified, assigned, in_progress, answered, closed.
    status: String,
    /// Required to close: met_people, nobody_found, oriented, refused_help, duplicate, out_of_scope.
    #[serde(default)]
    outcome: String,
    /// The version read (optimistic concurrency: 409 if it changed meanwhile).
    version: i64,
}

/// POST /api/v1/reports/{id}/status
pub async fn set_status(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, req: Request) -> AppResult<Response> {
    let report = staff::load_str(&state, &who, &id, Action::Update).await?;
    let body: StatusBody = match json(req, &state).await {
        Ok(b) => b,
        Err(refused) => return Ok(refused),
    };
    let lang = crate::i18n::Lang::from_code(&who.account.lang);
    if let Err(errors) = staff::set_status(&state, &who, lang, &report, &body.status, &body.outcome, body.version).await? {
        return Ok(invalid(lang, &errors));
    }
    let after = staff::load(&state, &who, report.id, Action::Read).await?;
    Ok(Json(detail(&state, &who, &after).await?).into_response())
}

/// A public answer.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// What the reporter will read (no information about the people).
    answer: String,
    /// The version read.
    version: i64,
}

/// POST /api/v1/reports/{id}/answer
pub async fn set_answer(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, req: Request) -> AppResult<Response> {
    let report = staff::load_str(&state, &who, &id, Action::Update).await?;
    let body: AnswerBody = match json(req, &state).await {
        Ok(b) => b,
        Err(refused) => return Ok(refused),
    };
    let lang = crate::i18n::Lang::from_code(&who.account.lang);
    if let Err(errors) = staff::publish_answer(&state, &who, lang, &report, &body.answer, body.version).await? {
        return Ok(invalid(lang, &errors));
    }
    let after = staff::load(&state, &who, report.id, Action::Read).await?;
    Ok(Json(detail(&state, &who, &after).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter enums the OpenAPI document publishes are the lists the storage checks.
    #[test]
    fn published_filter_values_are_the_storage_lists() {
        let values = |name: &str| -> Vec<String> {
            let q = FILTERS.iter().find(|q| q.name == name).unwrap();
            let v: serde_json::Value = serde_json::from_str(q.schema).unwrap();
            v["enum"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(values("status"), veille_domain::reports::Status::codes());
        assert_eq!(values("situation"), veille_domain::reports::SITUATIONS.to_vec());
        assert_eq!(values("source"), veille_domain::reports::Source::codes());
    }
}
