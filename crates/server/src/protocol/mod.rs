//! AWS JSON 1.1 over HTTP: `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Op>`.
//! HTTP stops here: below this module, operations see a validated request value and return a
//! value or an `ApiError`.

pub mod origins;
pub mod side_routes;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::{api_error, ops, sigv4};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use userpool_model::Operation;
use userpool_model::validation::{self, Invalid};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Cognito's own limit is not published; 1 MiB is far above any valid request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The single API endpoint.
pub async fn handle(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Body,
) -> Response {
    let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    // Local mode checks no signature, so it answers only requests that name it by a loopback
    // (or configured) host: a page cannot reach it by rebinding its own name to 127.0.0.1.
    if ctx.settings.credentials.is_none() && !origins::host_allowed(&ctx.settings, &headers) {
        let e = api_error!(
            ForbiddenException,
            "In local mode the API answers only requests addressed to a loopback host name."
        );
        return error_response(&uuid::Uuid::new_v4().to_string(), &e);
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let (operation, result) = call(&ctx, &method, &uri, &headers, peer, body).await;
    let name = operation.map_or("-", Operation::name);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    ctx.metrics.request(name, result.as_ref().err().map(|e| e.code().as_str()), elapsed_ms / 1000.0);
    match result {
        Ok(output) => {
            tracing::info!(operation = name, request_id, elapsed_ms, "ok");
            json_response(StatusCode::OK, &request_id, &output, None)
        }
        Err(e) => {
            match e.source() {
                Some(cause) => {
                    tracing::error!(operation = name, request_id, error = e.code().as_str(), cause = %cause, "internal error")
                }
                None => {
                    tracing::info!(operation = name, request_id, elapsed_ms, error = e.code().as_str(), "client error")
                }
            }
            error_response(&request_id, &e)
        }
    }
}

async fn call(
    ctx: &Arc<Ctx>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    body: Body,
) -> (Option<Operation>, Result<Value, ApiError>) {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX).and_then(Operation::from_name) else {
        let message = if target.is_empty() {
            "Missing X-Amz-Target header".to_string()
        } else {
            format!("Unknown operation {target}")
        };
        return (None, Err(ApiError::new(userpool_model::ErrorCode::UnknownOperationException, message)));
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                Some(operation),
                Err(api_error!(RequestEntityTooLargeException, "Request body is larger than {MAX_BODY_BYTES} bytes")),
            );
        }
    };
    (Some(operation), call_operation(ctx, operation, (method, uri, headers, peer), &body).await)
}

async fn call_operation(
    ctx: &Arc<Ctx>,
    operation: Operation,
    (method, uri, headers, peer): (&Method, &Uri, &HeaderMap, Option<std::net::IpAddr>),
    body: &Bytes,
) -> Result<Value, ApiError> {
    if !operation.is_unsigned() {
        sigv4::check(
            ctx.settings.credentials.as_ref(),
            method.as_str(),
            uri.path(),
            uri.query().unwrap_or_default(),
            headers,
            body,
            ctx.clock.now_ms(),
        )?;
    }
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| api_error!(SerializationException, "Invalid JSON in the request body: {e}"))?
    };
    // The pool's web ACL, before anything else the request does (and counted toward nothing).
    if ctx.waf.is_configured() {
        let pool_id = request_pool(ctx, operation, &input).await?;
        let source = ctx.waf.source_ip(peer, headers);
        if !ctx.waf.allows(pool_id.as_deref(), source, headers, ctx.clock.now_ms()) {
            return Err(api_error!(ForbiddenException, "Request not allowed due to WAF block."));
        }
    }
    validation::validate(operation, &input).map_err(|invalid| match invalid {
        Invalid::Serialization(m) => api_error!(SerializationException, "{m}"),
        Invalid::Constraints(m) => api_error!(InvalidParameterException, "{m}"),
    })?;
    let origin = crate::services::Origin {
        issuer_base: issuer_base(ctx, headers),
        validation_data: None,
        client_metadata: None,
    };
    // The operation runs in its own task so that a panic becomes InternalErrorException instead
    // of a dropped connection.
    let task_ctx = Arc::clone(ctx);
    match tokio::spawn(async move { ops::dispatch(&task_ctx, operation, input, &origin).await }).await {
        Ok(result) => result,
        Err(join_error) => Err(ApiError::internal(format!("operation task failed: {join_error}"))),
    }
}

/// The pool a request is for, for its web ACL: the pool of its ClientId (which the operation
/// itself will use), else its UserPoolId, else the issuer of its AccessToken (unverified: the
/// operation verifies it). Members the operation does not have are not read, so a request cannot
/// name another pool to escape its own pool's ACL.
async fn request_pool(ctx: &Ctx, operation: Operation, input: &Value) -> Result<Option<String>, ApiError> {
    let member =
        |name: &str| operation.has_input_member(name).then(|| input.get(name).and_then(Value::as_str)).flatten();
    if let Some(client) = member("ClientId") {
        let id_like = client.len() <= 128 && client.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+');
        if !id_like {
            return Ok(None);
        }
        return Ok(ctx.store.find_client(None, client).await?.map(|(pool, _)| pool));
    }
    if let Some(pool) = member("UserPoolId") {
        return Ok(Some(pool.to_string()));
    }
    Ok(member("AccessToken").and_then(crate::services::tokens::unverified_pool_id))
}

/// The configured issuer base, or the URL the client reached the server at (pycognito and JWT
/// libraries compare `iss` with the endpoint they were given).
pub fn issuer_base(ctx: &Ctx, headers: &HeaderMap) -> String {
    if let Some(base) = &ctx.settings.issuer_base {
        return base.clone();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty() && !h.contains(['/', ' ']));
    match host {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", ctx.settings.bind),
    }
}

fn json_response(status: StatusCode, request_id: &str, body: &Value, error_type: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    if let Some(error_type) = error_type
        && let Ok(v) = HeaderValue::from_str(&format!("{error_type}:"))
    {
        h.insert(HeaderName::from_static("x-amzn-errortype"), v);
    }
    response
}

/// `{"__type": "<Name>", "message": "<text>"}` with `x-amzn-ErrorType: <Name>:`. The bare name,
/// never namespaced: the R paws client takes the code from before a `#` (docs/cognito-facts.md#aws-json-11-error-wire-format).
pub fn error_response(request_id: &str, e: &ApiError) -> Response {
    let code = e.code();
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({"__type": code.as_str(), "message": e.message()});
    let mut response = json_response(status, request_id, &body, Some(code.as_str()));
    // The message is in the body; the header is a convenience, and only for short messages: a
    // validation message echoes the submitted value, and a header line of tens of KiB makes
    // clients (boto3, proxies) drop the connection instead of reading the error.
    if e.message().len() <= MAX_ERROR_HEADER_BYTES
        && let Ok(v) = HeaderValue::from_str(e.message())
    {
        response.headers_mut().insert(HeaderName::from_static("x-amzn-errormessage"), v);
    }
    response
}

/// The longest message also sent in `x-amzn-ErrorMessage`.
const MAX_ERROR_HEADER_BYTES: usize = 1024;
