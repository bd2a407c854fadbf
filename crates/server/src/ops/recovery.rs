//! Account recovery operations. The flows are `services::recovery` (docs/recovery.md).

use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::services::clients::load_client;
use crate::services::pools;
use crate::services::recovery::{self, PublicRequest};
use userpool_model::types::*;

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html
pub(super) async fn forgot_password(ctx: &Ctx, req: ForgotPasswordRequest) -> ApiResult<ForgotPasswordResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    let request = PublicRequest {
        pool: &pool,
        client: &client,
        client_id: &req.client_id,
        username: &req.username,
        secret_hash: req.secret_hash.as_deref().map(String::as_str),
        user_context_data: req.user_context_data.as_deref(),
        analytics_metadata: req.analytics_metadata.as_ref(),
        client_metadata: req.client_metadata.as_ref(),
    };
    let details = recovery::send_reset_code(ctx, request).await?;
    Ok(ForgotPasswordResponse { code_delivery_details: Some(details) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminResetUserPassword.html
pub(super) async fn admin_reset_user_password(
    ctx: &Ctx,
    req: AdminResetUserPasswordRequest,
) -> ApiResult<AdminResetUserPasswordResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    recovery::admin_reset(ctx, &pool, &req.username, req.client_metadata.as_ref()).await?;
    Ok(AdminResetUserPasswordResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmForgotPassword.html
pub(super) async fn confirm_forgot_password(
    ctx: &Ctx,
    req: ConfirmForgotPasswordRequest,
) -> ApiResult<ConfirmForgotPasswordResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    let request = PublicRequest {
        pool: &pool,
        client: &client,
        client_id: &req.client_id,
        username: &req.username,
        secret_hash: req.secret_hash.as_deref().map(String::as_str),
        user_context_data: req.user_context_data.as_deref(),
        analytics_metadata: req.analytics_metadata.as_ref(),
        client_metadata: req.client_metadata.as_ref(),
    };
    recovery::confirm_reset(ctx, request, &req.confirmation_code, &req.password).await?;
    Ok(ConfirmForgotPasswordResponse {})
}
