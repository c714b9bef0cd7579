//! The photo of a report, for staff who read it (an audited read).

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::AppState;

pub use veille_app::reports::photos::{MAX_BYTES, MAX_MEGABYTES};

/// GET /reports/{id}/photo
pub async fn show(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let photo = veille_app::reports::photos::read(&state, &who, id).await?;
    Ok(([(CONTENT_TYPE, photo.content_type.clone()), (CACHE_CONTROL, "private, no-store".to_owned())], photo.bytes).into_response())
}
