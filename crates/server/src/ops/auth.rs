//! Sign-in operations: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge,
//! AdminRespondToAuthChallenge and GetTokensFromRefreshToken. The flows are `services::sign_in`.

use crate::api_error;
use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::services::Origin;
use crate::services::clients::{check_client_secret, load_client, load_pool_client};
use crate::services::sign_in::{
    allows, answer_challenge, flow_not_enabled, live_refresh_token, not_implemented, password_sign_in, refresh,
    rotates, srp_challenge,
};
use crate::services::tokens::{self, Issue, RefreshGrant};
use userpool_model::Sensitive;
use userpool_model::types::*;

/// With rotation enabled on the client, the presented refresh token is replaced by a new one
/// (valid for the client's full refresh-token validity from now) and stays usable for the
/// client's RetryGracePeriodSeconds; without rotation, only ID and access tokens are issued.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
pub(super) async fn get_tokens_from_refresh_token(
    ctx: &Ctx,
    origin: &Origin,
    req: GetTokensFromRefreshTokenRequest,
) -> ApiResult<GetTokensFromRefreshTokenResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    check_client_secret(&client, req.client_secret.as_deref().map(String::as_str))?;
    let (hash, row, user) = live_refresh_token(ctx, &pool, &client, &req.refresh_token).await?;
    let refresh_token = if rotates(&client) {
        // Two refreshes racing with one token: one rotates it, the other is a retry within
        // the grace period (or a reuse, with none).
        let began_at = ctx.clock.now_ms();
        let rotated_now = ctx.store.mark_refresh_token_rotated(&hash, began_at).await?;
        if !rotated_now {
            live_refresh_token(ctx, &pool, &client, &req.refresh_token).await?;
        }
        RefreshGrant::Rotation { family: &row.family, began_at }
    } else {
        RefreshGrant::None
    };
    let result = tokens::issue(
        ctx,
        Issue {
            issuer: tokens::issuer(&origin.issuer_base, &pool.id),
            pool: &pool,
            source: "TokenGeneration_RefreshTokens",
            client_metadata: None,
            client: &client,
            user: &user,
            auth_time: row.auth_time,
            refresh_token,
        },
    )
    .await?;
    Ok(GetTokensFromRefreshTokenResponse { authentication_result: Some(result) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
pub(super) async fn initiate_auth(
    ctx: &Ctx,
    origin: &Origin,
    req: InitiateAuthRequest,
) -> ApiResult<InitiateAuthResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    ctx.auth_quota.check(&pool.id, ctx.clock.now_ms())?;
    let origin = &Origin { validation_data: req.client_metadata.clone(), ..origin.clone() };
    let params = req.auth_parameters.map(Sensitive::into_inner).unwrap_or_default();
    let outcome = match req.auth_flow {
        AuthFlowType::UserPasswordAuth => {
            if !allows(
                &client,
                &[ExplicitAuthFlowsType::AllowUserPasswordAuth, ExplicitAuthFlowsType::UserPasswordAuth],
            ) {
                return Err(flow_not_enabled(req.auth_flow));
            }
            password_sign_in(ctx, origin, &pool, &client, &params).await?
        }
        AuthFlowType::UserSrpAuth => {
            // A client created without ExplicitAuthFlows allows SRP (and refresh and custom auth).
            let srp_allowed =
                client.explicit_auth_flows.is_none() || allows(&client, &[ExplicitAuthFlowsType::AllowUserSrpAuth]);
            if !srp_allowed {
                return Err(flow_not_enabled(req.auth_flow));
            }
            srp_challenge(ctx, origin, &pool, &client, &params).await?
        }
        AuthFlowType::RefreshTokenAuth | AuthFlowType::RefreshToken => {
            refresh(ctx, origin, &pool, &client, req.auth_flow, &params).await?
        }
        AuthFlowType::AdminNoSrpAuth | AuthFlowType::AdminUserPasswordAuth => {
            return Err(api_error!(InvalidParameterException, "Initiate Auth method not supported."));
        }
        other => return Err(not_implemented(&format!("the {} flow", other.as_str()))),
    };
    Ok(InitiateAuthResponse {
        challenge_name: outcome.challenge_name,
        session: outcome.session.map(Into::into),
        challenge_parameters: Some(outcome.challenge_parameters),
        authentication_result: outcome.authentication_result,
        available_challenges: None,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminInitiateAuth.html
pub(super) async fn admin_initiate_auth(
    ctx: &Ctx,
    origin: &Origin,
    req: AdminInitiateAuthRequest,
) -> ApiResult<AdminInitiateAuthResponse> {
    let (pool, client) = load_pool_client(ctx, &req.user_pool_id, &req.client_id).await?;
    ctx.auth_quota.check(&pool.id, ctx.clock.now_ms())?;
    let origin = &Origin { validation_data: req.client_metadata.clone(), ..origin.clone() };
    let params = req.auth_parameters.map(Sensitive::into_inner).unwrap_or_default();
    let outcome = match req.auth_flow {
        AuthFlowType::AdminUserPasswordAuth | AuthFlowType::AdminNoSrpAuth => {
            if !allows(
                &client,
                &[ExplicitAuthFlowsType::AllowAdminUserPasswordAuth, ExplicitAuthFlowsType::AdminNoSrpAuth],
            ) {
                return Err(api_error!(InvalidParameterException, "Auth flow not enabled for this client"));
            }
            password_sign_in(ctx, origin, &pool, &client, &params).await?
        }
        AuthFlowType::RefreshTokenAuth | AuthFlowType::RefreshToken => {
            refresh(ctx, origin, &pool, &client, req.auth_flow, &params).await?
        }
        other => return Err(not_implemented(&format!("the {} flow", other.as_str()))),
    };
    Ok(AdminInitiateAuthResponse {
        challenge_name: outcome.challenge_name,
        session: outcome.session.map(Into::into),
        challenge_parameters: Some(outcome.challenge_parameters),
        authentication_result: outcome.authentication_result,
        available_challenges: None,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
pub(super) async fn respond_to_auth_challenge(
    ctx: &Ctx,
    origin: &Origin,
    req: RespondToAuthChallengeRequest,
) -> ApiResult<RespondToAuthChallengeResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    ctx.challenge_quota.check(&pool.id, ctx.clock.now_ms())?;
    let origin = &Origin { client_metadata: req.client_metadata.clone(), ..origin.clone() };
    let responses = req.challenge_responses.map(Sensitive::into_inner).unwrap_or_default();
    let session = req.session.as_deref().map(String::as_str);
    let outcome = answer_challenge(ctx, origin, &pool, &client, req.challenge_name, session, &responses).await?;
    Ok(RespondToAuthChallengeResponse {
        challenge_name: outcome.challenge_name,
        session: outcome.session.map(Into::into),
        challenge_parameters: Some(outcome.challenge_parameters),
        authentication_result: outcome.authentication_result,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminRespondToAuthChallenge.html
pub(super) async fn admin_respond_to_auth_challenge(
    ctx: &Ctx,
    origin: &Origin,
    req: AdminRespondToAuthChallengeRequest,
) -> ApiResult<AdminRespondToAuthChallengeResponse> {
    let (pool, client) = load_pool_client(ctx, &req.user_pool_id, &req.client_id).await?;
    ctx.auth_quota.check(&pool.id, ctx.clock.now_ms())?;
    let origin = &Origin { client_metadata: req.client_metadata.clone(), ..origin.clone() };
    let responses = req.challenge_responses.map(Sensitive::into_inner).unwrap_or_default();
    let session = req.session.as_deref().map(String::as_str);
    let outcome = answer_challenge(ctx, origin, &pool, &client, req.challenge_name, session, &responses).await?;
    Ok(AdminRespondToAuthChallengeResponse {
        challenge_name: outcome.challenge_name,
        session: outcome.session.map(Into::into),
        challenge_parameters: Some(outcome.challenge_parameters),
        authentication_result: outcome.authentication_result,
    })
}
