//! The HTTP router (the API and the side routes) and the serve loop: the top of the layers.

use crate::ctx::Ctx;
use crate::protocol;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::post;
use std::sync::Arc;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

pub fn router(ctx: Arc<Ctx>) -> Router {
    let router = Router::new().route("/", post(protocol::handle));
    let router = protocol::side_routes::add(router, &ctx);
    // Browser SDKs call the API cross-origin and read these headers to decode errors; only pages
    // served from loopback origins or configured ones may (docs/operating.md#security-model).
    let origins = Arc::clone(&ctx);
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|o| protocol::origins::origin_allowed(&origins.settings, o))
        }))
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
        HeaderValue::from_static("x-amzn-requestid,x-amzn-errortype,x-amzn-errormessage,date"),
    );
    router.fallback(protocol::side_routes::not_found).layer(cors).layer(expose_on_preflight).with_state(ctx)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: Arc<Ctx>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let outbox = tokio::spawn(ctx.delivery.clone().run_outbox());
    let maintenance = tokio::spawn(crate::services::maintenance::run(Arc::clone(&ctx)));
    let app = router(ctx).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    // Unsent mail stays in the outbox for the next start (or another node).
    outbox.abort();
    maintenance.abort();
    served
}
