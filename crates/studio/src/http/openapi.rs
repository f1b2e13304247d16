//! The OpenAPI document at `/api/openapi.json`, generated from the handlers' annotations so it
//! cannot drift from the code.

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use super::ApiContext;
use super::{compositions, jobs, melodies, models, ops, session, shares, training};

#[derive(OpenApi)]
#[openapi(
    info(title = "Orchestrion studio API", description = "AI accompaniment studio: melodies, models, compositions, sharing, training. See docs/api.md."),
    paths(
        session::info, session::me, session::sign_in, session::sign_out,
        melodies::create, melodies::list, melodies::one, melodies::midi, melodies::list_samples,
        models::list, models::one,
        compositions::create, compositions::list, compositions::one, compositions::midi,
        compositions::wav, compositions::roll, compositions::remove,
        shares::share, shares::revoke, shares::shared, shares::shared_midi, shares::shared_wav,
        jobs::one, jobs::events, jobs::cancel,
        training::create, training::list, training::one, training::events, training::cancel, training::publish, training::sample,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    modifiers(&BearerAuth),
    tags((name = "melodies"), (name = "models"), (name = "compositions"), (name = "sharing"),
         (name = "jobs"), (name = "training"), (name = "session"), (name = "ops")),
)]
pub struct ApiDoc;

/// Declares the Bearer token scheme (token mode; local mode needs no credentials).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<ApiContext> {
    Router::new().route("/api/openapi.json", get(document))
}

async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
