//! The context every operation receives, the HTTP router, and the serve loop.

use crate::ctx::Ctx;
use crate::domain::calendar::epoch_seconds;
use crate::protocol;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

pub fn router(ctx: Arc<Ctx>) -> Router {
    let mut router = Router::new()
        .route("/", post(protocol::handle))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid_configuration));
    if ctx.settings.test_endpoints {
        router = router
            .route("/_userpool/messages", get(messages))
            .route("/moto-api/reset", post(moto_reset))
            .route("/moto-api/reset-auth", post(moto_reset_auth));
    }
    // Browser SDKs call the API cross-origin and read these headers to decode errors.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("x-amzn-requestid"),
            HeaderName::from_static("x-amzn-errortype"),
            HeaderName::from_static("x-amzn-errormessage"),
            HeaderName::from_static("date"),
        ]);
    // tower-http sends Access-Control-Expose-Headers on actual responses only; some browser SDK
    // setups read it from the preflight too.
    let expose_on_preflight = tower_http::set_header::SetResponseHeaderLayer::if_not_present(
        axum::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        axum::http::HeaderValue::from_static("x-amzn-requestid,x-amzn-errortype,x-amzn-errormessage,date"),
    );
    router.fallback(not_found).layer(cors).layer(expose_on_preflight).with_state(ctx)
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn not_found() -> Response {
    let e = crate::api_error!(UnknownOperationException, "No such endpoint: the API is POST / with X-Amz-Target");
    let mut r = protocol::error_response(&uuid::Uuid::new_v4().to_string(), &e);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn pool_error(e: &crate::error::ApiError) -> Response {
    let mut r = protocol::error_response(&uuid::Uuid::new_v4().to_string(), e);
    if e.code() == userpool_model::ErrorCode::ResourceNotFoundException {
        *r.status_mut() = StatusCode::NOT_FOUND;
    }
    r
}

/// Prometheus metrics (README, "Operating").
async fn metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let outbox = match ctx.store.outbox_depth().await {
        Ok((n, oldest)) => (n, oldest.map_or(0.0, |t| epoch_seconds(ctx.clock.now_ms() - t))),
        Err(e) => {
            tracing::error!(cause = %e, "reading the outbox depth failed");
            (-1, 0.0)
        }
    };
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], ctx.metrics.render(outbox)).into_response()
}

/// The keys that verify the pool's tokens, as Cognito serves them.
async fn jwks(State(ctx): State<Arc<Ctx>>, Path(pool_id): Path<String>) -> Response {
    let found = crate::services::pools::load(&ctx, &pool_id).await;
    match found {
        Ok(_) => match crate::services::tokens::jwks(&ctx, &pool_id).await {
            Ok(doc) => axum::Json(doc).into_response(),
            Err(e) => pool_error(&e),
        },
        Err(e) => pool_error(&e),
    }
}

/// OpenID Connect discovery, with the issuer the tokens carry.
async fn openid_configuration(
    State(ctx): State<Arc<Ctx>>,
    Path(pool_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = crate::services::pools::load(&ctx, &pool_id).await {
        return pool_error(&e);
    }
    let issuer = crate::services::tokens::issuer(&protocol::issuer_base(&ctx, &headers), &pool_id);
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "email", "email_verified", "phone_number", "phone_number_verified", "cognito:username"],
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessagesQuery {
    user_pool_id: String,
    username: Option<String>,
}

/// Local mode: the messages the server sent, oldest first, so tests can read codes.
async fn messages(State(ctx): State<Arc<Ctx>>, Query(q): Query<MessagesQuery>) -> Response {
    let username = match &q.username {
        Some(name) => match crate::services::users::find_user(&ctx, &q.user_pool_id, name).await {
            Ok(Some((_, user))) => Some(user.username),
            _ => Some(name.clone()),
        },
        None => None,
    };
    match ctx.store.list_messages(&q.user_pool_id, username.as_deref()).await {
        Ok(rows) => {
            let messages: Vec<_> = rows
                .into_iter()
                .map(|m| {
                    json!({
                        "MessageId": m.id, "UserPoolId": m.pool_id, "Username": m.username, "Purpose": m.purpose,
                        "DeliveryMedium": m.delivery_medium, "Destination": m.destination, "Subject": m.subject,
                        "Body": m.body, "Code": m.code, "CreatedAt": epoch_seconds(m.created_at),
                    })
                })
                .collect();
            axum::Json(json!({"Messages": messages})).into_response()
        }
        Err(e) => {
            tracing::error!(cause = %e, "listing messages failed");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"message": "Internal server error."})))
                .into_response()
        }
    }
}

/// moto's server-mode reset, so suites written for moto run unchanged.
async fn moto_reset(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.store.reset().await {
        Ok(()) => axum::Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "reset failed");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"message": "Internal server error."})))
                .into_response()
        }
    }
}

async fn moto_reset_auth() -> Response {
    axum::Json(json!({"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": 0})).into_response()
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: Arc<Ctx>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let outbox = tokio::spawn(ctx.delivery.clone().run_outbox());
    let served = axum::serve(listener, router(ctx)).with_graceful_shutdown(shutdown).await;
    // Unsent mail stays in the outbox for the next start (or another node).
    outbox.abort();
    served
}
