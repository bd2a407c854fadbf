//! The routes beside the API: the JWKS and OpenID discovery documents, health, Prometheus
//! metrics, and in local mode the messages sent and moto's reset endpoints (docs/operating.md).

use crate::ctx::Ctx;
use crate::domain::calendar::epoch_seconds;
use crate::services::{pools, tokens, users};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The side routes, and with `test_endpoints` (local mode) the ones tests read state through.
pub(crate) fn add(router: Router<Arc<Ctx>>, ctx: &Arc<Ctx>) -> Router<Arc<Ctx>> {
    let router = router
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid_configuration));
    if !ctx.settings.test_endpoints {
        return router;
    }
    let test_routes = Router::new()
        .route("/_userpool/messages", get(messages))
        .route("/moto-api/reset", post(moto_reset))
        .route("/moto-api/reset-auth", post(moto_reset_auth))
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(ctx), local_callers_only));
    router.merge(test_routes)
}

/// The test endpoints answer only requests that name this server by a loopback (or configured)
/// host name, so a page that rebinds its own name to 127.0.0.1 cannot read codes; and nothing
/// that changes state answers another origin's page.
async fn local_callers_only(
    State(ctx): State<Arc<Ctx>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    // Outside local mode (enable_test_endpoints), a Host header proves nothing: the peer must be
    // on this machine.
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if ctx.settings.credentials.is_some() && !peer.is_some_and(|p| p.is_loopback()) {
        return forbidden("Outside local mode this endpoint answers only requests from this machine.");
    }
    if !super::origins::host_allowed(&ctx.settings, headers) {
        return forbidden("This endpoint answers only requests addressed to a loopback host name.");
    }
    if request.method() != axum::http::Method::GET && super::origins::cross_origin(headers) {
        return forbidden("This endpoint does not answer requests from another origin.");
    }
    next.run(request).await
}

fn forbidden(message: &'static str) -> Response {
    let e = crate::api_error!(ForbiddenException, "{message}");
    super::error_response(&uuid::Uuid::new_v4().to_string(), &e)
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

pub(crate) async fn not_found() -> Response {
    let e = crate::api_error!(UnknownOperationException, "No such endpoint: the API is POST / with X-Amz-Target");
    let mut r = super::error_response(&uuid::Uuid::new_v4().to_string(), &e);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn pool_error(e: &crate::error::ApiError) -> Response {
    let mut r = super::error_response(&uuid::Uuid::new_v4().to_string(), e);
    if e.code() == userpool_model::ErrorCode::ResourceNotFoundException {
        *r.status_mut() = StatusCode::NOT_FOUND;
    }
    r
}

/// Prometheus metrics (docs/operating.md#metrics).
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
    let found = pools::load(&ctx, &pool_id).await;
    match found {
        Ok(_) => match tokens::jwks(&ctx, &pool_id).await {
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
    if let Err(e) = pools::load(&ctx, &pool_id).await {
        return pool_error(&e);
    }
    let issuer = tokens::issuer(&super::issuer_base(&ctx, &headers), &pool_id);
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
        Some(name) => match users::find_user(&ctx, &q.user_pool_id, name).await {
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
