//! What a signed-in user does with an access token (GetUser, ChangePassword, GlobalSignOut), and
//! revoking tokens (RevokeToken, AdminUserGlobalSignOut).

use super::users_admin::existing_user;
use super::{attempts_exceeded, load_client, new_password_for};
use crate::api_error;
use crate::app::Ctx;
use crate::domain::password_policy::Wording;
use crate::domain::pools::Pool;
use crate::domain::users::attribute_types;
use crate::error::ApiResult;
use crate::tokens::{access_token_user, refresh_token_hash};
use subtle::ConstantTimeEq;
use userpool_model::types::*;

/// ChangePassword: 5 an hour per user (spec §9, code-security quotas).
const CHANGE_PASSWORD_PER_HOUR: i64 = 5;
const HOUR_MS: i64 = 3_600_000;

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetUser.html
pub(super) async fn get_user(ctx: &Ctx, req: GetUserRequest) -> ApiResult<GetUserResponse> {
    let (_, user, _) = access_token_user(ctx, &req.access_token).await?;
    Ok(GetUserResponse {
        username: user.username.clone().into(),
        user_attributes: attribute_types(&user, None),
        mfa_options: None,
        preferred_mfa_setting: None,
        user_mfa_setting_list: None,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ChangePassword.html
pub(super) async fn change_password(ctx: &Ctx, req: ChangePasswordRequest) -> ApiResult<ChangePasswordResponse> {
    let (pool, user, _) = access_token_user(ctx, &req.access_token).await?;
    ctx.recovery_quota.check(&pool.id, ctx.clock.now_ms())?;
    let now = ctx.clock.now_ms();
    if ctx.store.bump_counter(&pool.id, &user.sub, "change-password", now, HOUR_MS).await? > CHANGE_PASSWORD_PER_HOUR {
        return Err(attempts_exceeded());
    }
    let previous = req.previous_password.as_deref().map_or("", String::as_str);
    let stored = user.password_hash.as_deref().unwrap_or_default();
    if !ctx.hasher.verify(previous, stored).await? {
        return Err(api_error!(NotAuthorizedException, "Incorrect username or password."));
    }
    let record = new_password_for(ctx, &pool, &user, &req.proposed_password, Wording::DidNotConform).await?;
    ctx.store.replace_password(&pool.id, &user.sub, &record, None, None, Some(stored), ctx.clock.now_ms()).await?;
    Ok(ChangePasswordResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html
pub(super) async fn global_sign_out(ctx: &Ctx, req: GlobalSignOutRequest) -> ApiResult<GlobalSignOutResponse> {
    let (pool, user, _) = access_token_user(ctx, &req.access_token).await?;
    ctx.store.sign_out_everywhere(&pool.id, &user.sub, ctx.clock.now_ms()).await?;
    Ok(GlobalSignOutResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUserGlobalSignOut.html
pub(super) async fn admin_user_global_sign_out(
    ctx: &Ctx,
    req: AdminUserGlobalSignOutRequest,
) -> ApiResult<AdminUserGlobalSignOutResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.sign_out_everywhere(&pool.id, &user.sub, ctx.clock.now_ms()).await?;
    Ok(AdminUserGlobalSignOutResponse {})
}

/// Revokes a refresh token. As RFC 7009 asks, an unknown token is not an error.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
pub(super) async fn revoke_token(ctx: &Ctx, req: RevokeTokenRequest) -> ApiResult<RevokeTokenResponse> {
    let (_, client) = load_client(ctx, &req.client_id).await?;
    if let Some(secret) = client.client_secret.as_deref() {
        let given = req.client_secret.as_deref().map_or("", String::as_str);
        if !bool::from(secret.as_bytes().ct_eq(given.as_bytes())) {
            return Err(api_error!(NotAuthorizedException, "Client authentication failed."));
        }
    }
    ctx.store.revoke_refresh_token(&refresh_token_hash(&req.token), &req.client_id, ctx.clock.now_ms()).await?;
    Ok(RevokeTokenResponse {})
}
