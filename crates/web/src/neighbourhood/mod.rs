//! Neighbourhood work: mediations and the places of recurring tension, the
//! contact book of local relays, requests to city and technical services
//! (their queues, the service's link, the monthly export) and logbooks with
//! handover — pages and JSON API. The use cases are
//! `veille_app::neighbourhood`; these handlers translate the request, call
//! it, and render its answer.

pub mod api;
pub mod pages;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use veille_app::neighbourhood::contacts::ContactInput;
use veille_app::neighbourhood::logbooks::EntryInput;
use veille_app::neighbourhood::mediations::MediationInput;
use veille_app::neighbourhood::services::{AnswerInput, RequestInput};

use crate::error::{AppError, ErrorKind};
use crate::forms::{csrf_ok, same_origin};
use crate::routes::{schema, Access, ApiDoc, QueryParam, Registry};
use crate::AppState;

/// A form as sent, `multipart/form-data` with files or url-encoded: its
/// fields decoded into `T` (after the anti-forgery check) and its files
/// (field name, file name, bytes; empty ones dropped).
pub struct FileForm<T> {
    /// The fields.
    pub input: T,
    /// The files chosen.
    pub files: Vec<(String, String, Vec<u8>)>,
}

impl<S, T> FromRequest<S> for FileForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (parts, body) = req.into_parts();
        let multipart =
            parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let req = Request::from_parts(parts.clone(), body);
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        if multipart {
            let mut m = <Multipart as FromRequest<()>>::from_request(req, &()).await.map_err(|_| AppError::bad_request())?;
            while let Some(field) = m.next_field().await.map_err(|_| AppError::new(ErrorKind::TooLarge))? {
                let name = field.name().unwrap_or("").to_owned();
                let file_name = field.file_name().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
                match file_name {
                    Some(f) if !bytes.is_empty() => files.push((name, f, bytes.to_vec())),
                    Some(_) => {}
                    None => pairs.push((name, String::from_utf8_lossy(&bytes).into_owned())),
                }
            }
        } else {
            let bytes = Bytes::from_request(req, state).await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
            pairs = serde_html_form::from_bytes(&bytes).map_err(|_| AppError::bad_request())?;
        }
        let submitted = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
        if !same_origin(&parts) || !csrf_ok(&parts, submitted, app.config.cookies_secure()) {
            return Err(AppError::new(ErrorKind::CsrfRejected));
        }
        let pairs = crate::forms::pairs_without_nul(pairs);
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| AppError::bad_request())?;
        let input =
            serde_html_form::from_str(&encoded).map_err(|e| AppError { kind: ErrorKind::BadRequest, cause: Some(anyhow::anyhow!("form decoding: {e}")) })?;
        Ok(FileForm { input, files })
    }
}

const MONTH: &[QueryParam] =
    &[QueryParam { name: "month", schema: r#"{"type": "string", "maxLength": 7, "description": "The month, 2026-11"}"#, required: true }];

/// The routes of neighbourhood work.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    let reg = reg
        // Mediations and places of tension
        .get("/mediations", Signed, "Mediations: follow-ups to do (the coordinators' list) and recent mediations", get(pages::mediations))
        .post("/mediations", Signed, "Record a mediation (a round's stop action, or afterwards)", post(pages::record_mediation))
        .get("/mediations/new", Signed, "The mediation form, for a round's stop or on its own", get(pages::new_mediation))
        .get("/mediations/{id}", Signed, "A mediation with its parties (contacts' names to who reads the contact book; audited read)", get(pages::mediation))
        .post("/mediations/{id}/follow-up-done", Signed, "Mark a mediation's follow-up done", post(pages::follow_up_done))
        .get("/tension", Signed, "Places of recurring tension from mediations and reports, on a map with their history", get(pages::tension))
        .get("/tension.geojson", Signed, "Places of recurring tension as GeoJSON", get(pages::tension_geojson))
        // The contact book of local relays
        .get("/contacts", Signed, "The contact book of local relays (restricted field group; audited read)", get(pages::contacts))
        .post("/contacts", Signed, "Add a local relay who agreed to be kept", post(pages::create_contact))
        .get("/contacts/{id}", Signed, "A local relay (restricted field group; audited read)", get(pages::contact))
        .post("/contacts/{id}", Signed, "Change a local relay", post(pages::update_contact))
        .post("/contacts/{id}/remove", Signed, "Remove a local relay on request", post(pages::remove_contact))
        // Requests to city and technical services
        .get("/service-requests", Signed, "Requests to city and technical services the caller reads, and the form to send one", get(pages::requests))
        .post("/service-requests", Signed, "Send a request to a service (with photos)", post(pages::send_request))
        .get("/service-requests/{id}", Signed, "A request to a service with its answer and history (audited read)", get(pages::request))
        .post("/service-requests/{id}/answer", Signed, "Record the service's answer (its queue, or heard by phone)", post(pages::answer_request))
        .post("/service-requests/{id}/link", Signed, "Send the service its link again, with a new code to give orally", post(pages::request_link))
        .get("/city-services", Signed, "City and technical services", get(pages::city_services))
        .post("/city-services", Signed, "Add a city or technical service", post(pages::create_city_service))
        .get("/city-services/{id}", Signed, "A service's queue and its monthly export", get(pages::city_service))
        .post("/city-services/{id}/active", Signed, "Turn a service on or off", post(pages::city_service_active))
        .get("/city-services/{id}/export.csv", Signed, "A service's monthly export as CSV (what was asked and answered)", get(pages::export_csv))
        .get("/city-services/{id}/export.xlsx", Signed, "A service's monthly export as XLSX", get(pages::export_xlsx))
        .get("/service-link/{token}", Public, "A service's link: the code given orally", get(pages::link_form))
        .post("/service-link/{token}", Public, "A service's link: open with the code, answer", post(pages::link_answer))
        // Logbooks
        .get("/logbooks", Signed, "Search the logbooks the caller reads", get(pages::logbooks))
        .get("/logbooks/entries/{id}/attachment", Signed, "The attachment of a logbook entry (audited read)", get(pages::attachment))
        .get("/logbooks/team/{id}", Signed, "A team's logbook, handovers first (audited read)", get(pages::team_book))
        .post("/logbooks/team/{id}", Signed, "Write in a team's logbook", post(pages::write_team_book))
        .get("/logbooks/site/{id}", Signed, "A site's logbook, handovers first (audited read)", get(pages::site_book))
        .post("/logbooks/site/{id}", Signed, "Write in a site's logbook", post(pages::write_site_book))
        .get("/logbooks/case/{id}", Signed, "A case's logbook, handovers first (audited read)", get(pages::case_book))
        .post("/logbooks/case/{id}", Signed, "Write in a case's logbook", post(pages::write_case_book))
        .get("/logbooks/facility/{id}", Signed, "A facility's logbook, handovers first (audited read)", get(pages::facility_book))
        .post("/logbooks/facility/{id}", Signed, "Write in a facility's logbook", post(pages::write_facility_book));
    reg.get("/api/v1/mediations", Signed, "Follow-ups to do and the mediations of the last 30 days", get(api::mediations))
        .doc(ApiDoc::default().response(schema::<api::MediationLists>))
        .post("/api/v1/mediations", Signed, "Record a mediation", post(api::record_mediation))
        .doc(ApiDoc::default().request(schema::<MediationInput>).response(schema::<api::MediationDetail>).status(201))
        .get("/api/v1/mediations/{id}", Signed, "A mediation with its parties as the caller may read them (audited read)", get(api::mediation))
        .doc(ApiDoc::default().response(schema::<api::MediationDetail>))
        .get("/api/v1/tension-places", Signed, "Places of recurring tension with their history", get(api::tension))
        .doc(ApiDoc::default().response(schema::<Vec<veille_app::neighbourhood::tension::TensionPlace>>).query(&[QueryParam {
            name: "days",
            schema: r#"{"type": "integer", "minimum": 7, "maximum": 730}"#,
            required: false,
        }]))
        .get("/api/v1/contacts", Signed, "The contact book of local relays (restricted field group; audited read)", get(api::contacts))
        .doc(ApiDoc::default().response(schema::<Vec<api::ContactView>>))
        .post("/api/v1/contacts", Signed, "Add a local relay who agreed to be kept", post(api::create_contact))
        .doc(ApiDoc::default().request(schema::<ContactInput>).response(schema::<api::ContactView>).status(201))
        .get("/api/v1/contacts/{id}", Signed, "A local relay (restricted field group; audited read)", get(api::contact))
        .doc(ApiDoc::default().response(schema::<api::ContactView>))
        .get("/api/v1/city-services", Signed, "City and technical services", get(api::city_services))
        .doc(ApiDoc::default().response(schema::<Vec<api::CityServiceView>>))
        .get("/api/v1/city-services/{id}/export", Signed, "A service's monthly export: what was asked and answered", get(api::export))
        .doc(ApiDoc::default().response(schema::<Vec<veille_app::neighbourhood::services::ExportLine>>).query(MONTH))
        .get("/api/v1/service-requests", Signed, "Requests to services the caller reads (sent or received)", get(api::requests))
        .doc(ApiDoc::default().response(schema::<Vec<api::RequestView>>))
        .post("/api/v1/service-requests", Signed, "Send a request to a service", post(api::send_request))
        .doc(ApiDoc::default().request(schema::<RequestInput>).response(schema::<api::RequestSent>).status(201))
        .get("/api/v1/service-requests/{id}", Signed, "A request to a service (audited read)", get(api::request))
        .doc(ApiDoc::default().response(schema::<api::RequestView>))
        .post("/api/v1/service-requests/{id}/answer", Signed, "Record the service's answer", post(api::answer_request))
        .doc(ApiDoc::default().request(schema::<AnswerInput>).response(schema::<api::RequestView>))
        .get("/api/v1/logbooks/team/{id}", Signed, "A team's logbook, handovers first (audited read)", get(api::team_book))
        .doc(ApiDoc::default().response(schema::<api::BookView>))
        .post("/api/v1/logbooks/team/{id}", Signed, "Write in a team's logbook", post(api::write_team_book))
        .doc(ApiDoc::default().request(schema::<EntryInput>).response(schema::<api::EntryView>).status(201))
        .get("/api/v1/logbooks/site/{id}", Signed, "A site's logbook, handovers first (audited read)", get(api::site_book))
        .doc(ApiDoc::default().response(schema::<api::BookView>))
        .post("/api/v1/logbooks/site/{id}", Signed, "Write in a site's logbook", post(api::write_site_book))
        .doc(ApiDoc::default().request(schema::<EntryInput>).response(schema::<api::EntryView>).status(201))
        .get("/api/v1/logbooks/case/{id}", Signed, "A case's logbook, handovers first (audited read)", get(api::case_book))
        .doc(ApiDoc::default().response(schema::<api::BookView>))
        .post("/api/v1/logbooks/case/{id}", Signed, "Write in a case's logbook", post(api::write_case_book))
        .doc(ApiDoc::default().request(schema::<EntryInput>).response(schema::<api::EntryView>).status(201))
        .get("/api/v1/logbooks/facility/{id}", Signed, "A facility's logbook, handovers first (audited read)", get(api::facility_book))
        .doc(ApiDoc::default().response(schema::<api::BookView>))
        .post("/api/v1/logbooks/facility/{id}", Signed, "Write in a facility's logbook", post(api::write_facility_book))
        .doc(ApiDoc::default().request(schema::<EntryInput>).response(schema::<api::EntryView>).status(201))
}
