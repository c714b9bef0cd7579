//! People, encounters and referrals: pseudonym-first person files with their
//! consent records, households, notes (that the person may one day read),
//! the health section (health professionals only), leaving the active list,
//! probable duplicates from the record-linkage engine linked and unlinked by
//! a person; encounters entered fast during a round; referrals to partners,
//! answered from the partner's queue or through an unguessable, expiring
//! link, and expiring back to their sender when unanswered.
//!
//! The use cases (and who may do what) are in `veille_app::people`; the
//! handlers here extract what was sent, call them, and render the page or
//! the JSON view.

pub mod api;
pub mod encounters;
pub mod pages;
pub mod referrals;
pub mod view;

use axum::routing::{get, post};

pub use veille_app::people::{duplicates, input, load_person};

use crate::forms::Form;
use crate::routes::{schema, Access, ApiDoc, QueryParam, Registry};

/// A form read twice from the same body: as `T` and as its `consent_*`
/// fields (the anti-forgery check is the one of [`Form`]).
pub struct WithConsent<T>(pub T, pub input::ConsentForm);

impl<S, T> axum::extract::FromRequest<S> for WithConsent<T>
where
    crate::AppState: axum::extract::FromRef<S>,
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = crate::error::AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state).await?;
        let text = serde_html_form::to_string(&pairs).map_err(|_| crate::error::AppError::bad_request())?;
        let bad = |e: serde_html_form::de::Error| crate::error::AppError {
            kind: crate::error::ErrorKind::BadRequest,
            cause: Some(anyhow::anyhow!("form decoding: {e}")),
        };
        Ok(WithConsent(serde_html_form::from_str(&text).map_err(bad)?, serde_html_form::from_str(&text).map_err(bad)?))
    }
}

/// The routes of people, encounters and referrals: pages, the partner link and the JSON API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg
        // People
        .get("/people", Signed, "People in the active list (or who left it)", get(pages::list))
        .get("/people.csv", Signed, "People as CSV (pseudonymised; health only for health professionals)", get(pages::export_csv))
        .get("/people/new", Signed, "New person form", get(pages::new_form))
        .post("/people", Signed, "Create a person file", post(pages::create))
        .post("/people/search", Signed, "People whose pseudonym or an alias holds what was typed (the name stays out of the address)", post(pages::search))
        .post("/people/suggestions", Signed, "Probable duplicates of what is being typed", post(pages::suggestions))
        .get("/people/{id}", Signed, "A person file (audited read)", get(pages::show))
        .get("/people/{id}/edit", Signed, "Edit a person file", get(pages::edit_form))
        .post("/people/{id}", Signed, "Save a person file", post(pages::update))
        .post("/people/{id}/consent", Signed, "Record what the person was told and agreed to", post(pages::add_consent))
        .post("/people/{id}/consent/withdraw", Signed, "Withdraw consent: identifying data erased, consent shares ended", post(pages::withdraw_consent))
        .post("/people/{id}/notes", Signed, "Add a note (a health note: health professionals)", post(pages::add_note))
        .post("/people/{id}/health", Signed, "Save the health section (health professionals)", post(pages::set_health))
        .post("/people/{id}/exit", Signed, "Take a person out of the active list with a reason", post(pages::exit))
        .post("/people/{id}/return", Signed, "Put a person back in the active list", post(pages::return_active))
        .post("/people/{id}/link", Signed, "Link two records of the same person", post(pages::link))
        .post("/people/{id}/unlink", Signed, "Undo a link between two records", post(pages::unlink))
        .post("/people/{id}/distinct", Signed, "A suggested duplicate is another person", post(pages::distinct))
        .post("/people/{id}/share", Signed, "Share a file with an organisation by consent", post(pages::share))
        .post("/people/{id}/unshare", Signed, "End the sharing of a file with an organisation", post(pages::unshare))
        .post("/people/{id}/household", Signed, "Create, change, join or leave a household", post(pages::household))
        // Encounters
        .get("/encounters", Signed, "Recent encounters", get(encounters::list))
        .get("/encounters/new", Signed, "Record an encounter (fast, on a phone)", get(encounters::new_form))
        .post("/encounters", Signed, "Record an encounter", post(encounters::create))
        .get("/encounters/{id}", Signed, "An encounter (audited read)", get(encounters::show))
        // Referrals
        .get("/referrals", Signed, "Referrals sent, and the queue of referrals received", get(referrals::list))
        .get("/referrals/new", Signed, "New referral form", get(referrals::new_form))
        .post("/referrals", Signed, "Write a referral (and send it)", post(referrals::create))
        .get("/referrals/{id}", Signed, "A referral (audited read)", get(referrals::show))
        .post("/referrals/{id}/send", Signed, "Send a referral, or send it again", post(referrals::send))
        .post("/referrals/{id}/answer", Signed, "The partner's answer: accepted or declined", post(referrals::answer))
        .post("/referrals/{id}/outcome", Signed, "The outcome: done or not honoured", post(referrals::outcome))
        .post("/referrals/{id}/cancel", Signed, "Withdraw a referral", post(referrals::cancel))
        .get("/orientation/{token}", Public, "Partner link: the code given orally", get(referrals::partner_form))
        .post("/orientation/{token}", Public, "Partner link: open with the code, answer", post(referrals::partner_answer))
        // JSON API
        .get("/api/v1/people", Signed, "People the caller may read (summaries: no identifying data)", get(api::list_people))
        .doc(ApiDoc::default().response(schema::<Vec<api::PersonSummary>>).query(&[QueryParam {
            name: "active",
            schema: r#"{"type": "boolean"}"#,
            required: false,
        }]))
        .post("/api/v1/people", Signed, "Create a person file (probable duplicates answer 409 unless reviewed)", post(api::create_person))
        .doc(ApiDoc::default().request(schema::<input::PersonBody>).response(schema::<api::PersonView>).status(201))
        .get("/api/v1/people/{id}", Signed, "A person file (audited read; health only for health professionals)", get(api::person))
        .doc(ApiDoc::default().response(schema::<api::PersonView>))
        .post("/api/v1/people/{id}", Signed, "Update a person file (with the version read)", post(api::update_person))
        .doc(ApiDoc::default().request(schema::<input::PersonBody>).response(schema::<api::PersonView>))
        .get("/api/v1/people/{id}/duplicates", Signed, "Probable duplicates of a person, with the fields that agree", get(api::duplicates))
        .doc(ApiDoc::default().response(schema::<Vec<duplicates::Suggestion>>))
        .post("/api/v1/people/{id}/consents", Signed, "Record a consent", post(api::add_consent))
        .doc(ApiDoc::default().request(schema::<input::ConsentBody>).response(schema::<api::PersonView>).status(201))
        .post("/api/v1/people/{id}/links", Signed, "Link two records of the same person", post(api::link))
        .doc(ApiDoc::default().request(schema::<input::OtherBody>).response(schema::<api::PersonView>))
        .post("/api/v1/people/{id}/unlink", Signed, "Undo a link", post(api::unlink))
        .doc(ApiDoc::default().request(schema::<input::OtherBody>).response(schema::<api::PersonView>))
        .post("/api/v1/people/{id}/exit", Signed, "Take a person out of the active list", post(api::exit))
        .doc(ApiDoc::default().request(schema::<input::ExitBody>).response(schema::<api::PersonView>))
        .get("/api/v1/encounters", Signed, "Recent encounters of the caller's organisation", get(api::list_encounters))
        .doc(ApiDoc::default().response(schema::<Vec<api::EncounterView>>))
        .post("/api/v1/encounters", Signed, "Record an encounter (optionally with a new person)", post(api::create_encounter))
        .doc(ApiDoc::default().request(schema::<input::EncounterBody>).response(schema::<api::EncounterView>).status(201))
        .get("/api/v1/encounters/{id}", Signed, "An encounter (audited read)", get(api::encounter))
        .doc(ApiDoc::default().response(schema::<api::EncounterView>))
        .get("/api/v1/referrals", Signed, "Referrals sent by, or addressed to, the caller's organisation", get(api::list_referrals))
        .doc(ApiDoc::default().response(schema::<Vec<api::ReferralView>>))
        .post("/api/v1/referrals", Signed, "Write a referral (and send it)", post(api::create_referral))
        .doc(ApiDoc::default().request(schema::<input::ReferralBody>).response(schema::<api::ReferralView>).status(201))
        .get("/api/v1/referrals/{id}", Signed, "A referral (audited read; a partner sees what the referral needs)", get(api::referral))
        .doc(ApiDoc::default().response(schema::<api::ReferralView>))
        .post("/api/v1/referrals/{id}/send", Signed, "Send a referral, or send it again", post(api::send_referral))
        .doc(ApiDoc::default().request(schema::<input::VersionBody>).response(schema::<api::ReferralView>))
        .post("/api/v1/referrals/{id}/answer", Signed, "The partner's answer", post(api::answer_referral))
        .doc(ApiDoc::default().request(schema::<input::AnswerBody>).response(schema::<api::ReferralView>))
        .post("/api/v1/referrals/{id}/outcome", Signed, "The outcome of a referral", post(api::referral_outcome))
        .doc(ApiDoc::default().request(schema::<input::AnswerBody>).response(schema::<api::ReferralView>))
}
