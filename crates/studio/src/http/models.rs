//! `GET /api/models`: the genre models this server can compose with, with their cards.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{Error, Result};
use super::extract::PathParams;
use crate::auth::AuthUser;
use crate::engine::{LoadedModel, ModelSource};
use crate::melody::{MeterJson, role_name};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/models", get(list))
        .route("/api/models/{name}", get(one))
}

/// A role a model writes, with its General MIDI program.
#[derive(Serialize, ToSchema)]
pub struct ModelRole {
    pub role: String,
    pub program: u8,
}

/// A genre model.
#[derive(Serialize, ToSchema)]
pub struct Model {
    pub name: String,
    pub hash: String,
    pub source: ModelSource,
    /// First paragraph of the model card.
    pub description: Option<String>,
    /// Generated roles (the melody is the input, not listed).
    pub roles: Vec<ModelRole>,
    pub meters: Vec<MeterJson>,
    pub steps_per_beat: u32,
    pub window_bars: u32,
    /// The model's evaluation report, free-form; null when it has none.
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
    /// The whole `MODEL_CARD.md` (only in `GET /api/models/{name}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

/// All models.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    pub items: Vec<Model>,
}

/// The API view of a loaded model.
pub fn model_json(m: &LoadedModel, with_card: bool) -> Model {
    let info = &m.info;
    Model {
        name: info.name.clone(),
        hash: info.hash.clone(),
        source: m.source,
        description: info.card_summary.clone(),
        roles: info
            .roles
            .iter()
            .zip(info.programs.iter().chain(std::iter::repeat(&0)))
            .filter(|(r, _)| **r != orchestrion_music::TrackRole::Melody)
            .map(|(r, p)| ModelRole {
                role: role_name(*r),
                program: *p,
            })
            .collect(),
        meters: info
            .meters
            .iter()
            .map(|&(numerator, denominator)| MeterJson {
                numerator,
                denominator,
            })
            .collect(),
        steps_per_beat: info.steps_per_beat,
        window_bars: info.window_bars,
        metrics: m.metrics.clone(),
        card: if with_card { m.card.clone() } else { None },
    }
}

#[utoipa::path(get, path = "/api/models", tag = "models",
    responses((status = 200, body = ModelList), (status = 401, body = super::error::ErrorBody)))]
async fn list(State(ctx): State<ApiContext>, _user: AuthUser) -> axum::Json<ModelList> {
    let items = ctx
        .models
        .list()
        .iter()
        .map(|m| model_json(m, false))
        .collect();
    axum::Json(ModelList { items })
}

#[utoipa::path(get, path = "/api/models/{name}", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    responses((status = 200, body = Model), (status = 404, body = super::error::ErrorBody),
              (status = 401, body = super::error::ErrorBody)))]
async fn one(
    State(ctx): State<ApiContext>,
    _user: AuthUser,
    PathParams(name): PathParams<String>,
) -> Result<axum::Json<Model>> {
    let m = ctx.models.get(&name).ok_or(Error::NotFound("model"))?;
    Ok(axum::Json(model_json(&m, true)))
}
