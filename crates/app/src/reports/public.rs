//! The reporter's side: the follow-up page opened by the private link
//! (status and public answer only — never notes, the place or the people),
//! and the confirmation of the reporter's e-mail by the code mailed to it.

use veille_domain::reports::Status;
use veille_domain::Timestamp;
use veille_storage::audit;
use veille_storage::reports::{self, Followed, Report};

use crate::error::{Error, Result};
use crate::{App, FieldErrors, Lang};

/// What the reporter sees.
#[derive(Clone, Debug)]
pub struct PublicView {
    /// Reference.
    pub reference: String,
    /// When received.
    pub created_at: Timestamp,
    /// Status.
    pub status: Status,
    /// Public answer.
    pub answer: String,
    /// When answered.
    pub answer_at: Option<Timestamp>,
}

impl PublicView {
    /// The view of a report as it stands.
    pub fn of(r: &Report) -> Self {
        Self { reference: r.reference.clone(), created_at: r.created_at, status: r.status, answer: r.public_answer.clone(), answer_at: r.public_answer_at }
    }
}

/// The follow-up page of a token.
#[derive(Clone, Debug)]
pub struct Follow {
    /// What the reporter sees (of the main report, for an attached duplicate).
    pub view: PublicView,
    /// The e-mail given with consent still waits for its code.
    pub confirm_needed: bool,
}

async fn by_token(app: &App, token: &str) -> Result<Followed> {
    if token.len() < 20 || token.len() > 100 {
        return Err(Error::not_found());
    }
    reports::by_token_hash(&app.db, &crate::security::token_hash(token)).await?.ok_or_else(Error::not_found)
}

async fn view_of(app: &App, f: &Followed) -> Result<PublicView> {
    let own = PublicView {
        reference: f.reference.clone(),
        created_at: f.created_at,
        status: f.status,
        answer: f.public_answer.clone(),
        answer_at: f.public_answer_at,
    };
    let Some(main) = f.duplicate_of else { return Ok(own) };
    // An attached duplicate follows its main report: its status and answer.
    let main = reports::public_of(&app.db, main).await?;
    Ok(PublicView { status: main.status, answer: main.public_answer, answer_at: main.public_answer_at, ..own })
}

/// The follow-up page of the report a token opens (not found otherwise).
pub async fn follow(app: &App, token: &str) -> Result<Follow> {
    let f = by_token(app, token).await?;
    Ok(Follow { view: view_of(app, &f).await?, confirm_needed: f.email_unconfirmed })
}

/// Confirms the reporter's e-mail with the code mailed to it (audited; from
/// then on, updates are mailed).
pub async fn confirm(app: &App, lang: Lang, token: &str, code: &str) -> Result<std::result::Result<Follow, (Follow, FieldErrors)>> {
    let f = by_token(app, token).await?;
    let typed: String = code.trim().to_ascii_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let matches = f.email_confirm_hash.as_deref().is_some_and(|h| crate::security::same(h, &crate::security::token_hash(&typed)));
    let view = view_of(app, &f).await?;
    if !matches {
        let mut errors = FieldErrors::new();
        errors.add("code", lang.t("report.follow.code_invalid"));
        return Ok(Err((Follow { view, confirm_needed: f.email_unconfirmed }, errors)));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::confirm_email(&mut tx, f.id, now).await?;
    let e = audit::NewEntry::about(now, None, "update", "report", Some(f.id.to_string()), f.organisation)
        .with_detail(serde_json::json!({"field": "email_confirmed"}));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(Ok(Follow { view, confirm_needed: false }))
}
