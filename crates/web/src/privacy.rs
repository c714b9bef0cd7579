//! The notice for the people recorded, who never log in: what is written
//! about them, who reads it, for how long, their rights and how to use them
//! (`/vie-privee`, `/vie-privee/{language}`), in the languages met in the
//! street. A worker shows it on a phone or prints it. The texts are in
//! `crates/web/privacy/*.yml`, one file per language; the instance's facts
//! (its organisations, the retention periods) come from the application.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::page::{render, PageCtx};
use crate::AppState;

/// One language's notice, as written in its file.
#[derive(Debug, Deserialize)]
pub struct Notice {
    /// The language's own name ("Română").
    pub name: String,
    /// Its BCP 47 tag for `lang` (Dari is `fa-AF`).
    pub html_lang: String,
    /// Writing direction (`ltr`, `rtl`).
    pub dir: String,
    /// Page title.
    pub title: String,
    /// Opening paragraph.
    pub intro: String,
    /// Heading of the organisations list (`{instance}`).
    pub organisations_heading: String,
    /// Sentence above the organisations list.
    pub organisations_intro: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// Label of the language links.
    pub languages_label: String,
}

/// A heading and its paragraphs (`{active}` and `{archive}` are years).
#[derive(Debug, Deserialize)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Paragraphs.
    pub paragraphs: Vec<String>,
}

/// The languages of the notice: the path segment and its file. French first.
const FILES: &[(&str, &str)] = &[
    ("fr", include_str!("../privacy/fr.yml")),
    ("en", include_str!("../privacy/en.yml")),
    ("ar", include_str!("../privacy/ar.yml")),
    ("ro", include_str!("../privacy/ro.yml")),
    ("prs", include_str!("../privacy/prs.yml")),
];

/// Every notice, parsed once (the files are part of the binary; a broken one
/// fails the unit test below, not a user).
pub static NOTICES: LazyLock<Vec<(&'static str, Notice)>> =
    LazyLock::new(|| FILES.iter().map(|(code, text)| (*code, serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("privacy/{code}.yml: {e}")))).collect());

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    code: &'static str,
    notice: &'static Notice,
    organisations: Vec<String>,
    organisations_heading: String,
    sections: Vec<(String, Vec<String>)>,
    languages: Vec<(&'static str, &'static str, &'static str)>,
}

/// GET /vie-privee: the notice in the interface's language.
pub async fn default(State(state): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    page(&state, ctx.lang.code()).await
}

/// GET /vie-privee/{language}
pub async fn in_language(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    page(&state, &code).await
}

async fn page(state: &AppState, code: &str) -> AppResult<Response> {
    let Some((code, notice)) = NOTICES.iter().find(|(c, _)| *c == code) else {
        return Err(AppError::not_found());
    };
    let facts = veille_app::instance::privacy_notice(state).await?;
    let years = |s: &str| s.replace("{active}", &facts.active_years.to_string()).replace("{archive}", &facts.archive_years.to_string());
    let sections = notice.sections.iter().map(|s| (years(&s.heading), s.paragraphs.iter().map(|p| years(p)).collect())).collect();
    Ok(render(&PrivacyPage {
        code,
        notice,
        organisations: facts.organisations,
        organisations_heading: notice.organisations_heading.replace("{instance}", &facts.instance),
        sections,
        languages: NOTICES.iter().map(|(c, n)| (*c, n.html_lang.as_str(), n.name.as_str())).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_says_everything() {
        let french = &NOTICES[0].1;
        for (code, n) in NOTICES.iter() {
            assert_eq!(n.sections.len(), french.sections.len(), "{code}: a section is missing");
            let all: String = n.sections.iter().flat_map(|s| s.paragraphs.iter()).cloned().collect();
            assert!(all.contains("{active}") && all.contains("{archive}"), "{code}: the retention periods are not said");
            assert!(all.contains("CNIL"), "{code}: the authority to complain to is not said");
            assert!(n.organisations_heading.contains("{instance}"), "{code}: the instance is not named");
            assert!(matches!(n.dir.as_str(), "ltr" | "rtl"), "{code}: direction");
        }
        assert_eq!(NOTICES.iter().map(|(c, _)| *c).collect::<Vec<_>>(), ["fr", "en", "ar", "ro", "prs"]);
    }
}
