//! What a signed-in user does with an access token (GetUser, ChangePassword, GlobalSignOut,
//! DeleteUser, the attribute operations and their verification), and revoking tokens
//! (RevokeToken, AdminUserGlobalSignOut).

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::attributes::check_writable;
use crate::domain::password_policy::Wording;
use crate::domain::users::attribute_types;
use crate::error::ApiResult;
use crate::services::clients::{can_read, check_client_secret, check_client_writes, load_client};
use crate::services::codes::{HOUR_MS, attempts_exceeded, check_code};
use crate::services::messages::{CodeToSend, deliver_code};
use crate::services::passwords::new_password_for;
use crate::services::pools;
use crate::services::tokens::{TokenUser, access_token_user, refresh_token_hash};
use crate::services::users::{
    attribute_change, change_attributes, check_deletable, conflict, existing_user, verification_slot,
};
use crate::triggers::Caller;
use serde_json::Value;
use userpool_model::types::*;

/// Cognito's code-security quotas (docs/cognito-facts.md#quotas), per user per hour.
const CHANGE_PASSWORD_PER_HOUR: i64 = 5;
const ATTRIBUTE_CODES_PER_HOUR: i64 = 5;
/// The counter of verification codes sent, shared by UpdateUserAttributes and
/// GetUserAttributeVerificationCode.
const ATTRIBUTE_CODES: &str = "attribute-code";
const VERIFY_ATTRIBUTE_PER_HOUR: i64 = 15;
/// Attribute verification codes are valid 24 hours (docs/cognito-facts.md#reset-code-properties).
const ATTRIBUTE_CODE_TTL_MS: i64 = 24 * HOUR_MS;

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetUser.html
pub(super) async fn get_user(ctx: &Ctx, req: GetUserRequest) -> ApiResult<GetUserResponse> {
    let TokenUser { user, client, .. } = access_token_user(ctx, &req.access_token).await?;
    let readable: Vec<String> =
        user.attributes.iter().map(|(n, _)| n.clone()).filter(|n| can_read(&client, n)).collect();
    Ok(GetUserResponse {
        username: user.username.clone().into(),
        user_attributes: attribute_types(&user, Some(&readable)),
        mfa_options: None,
        preferred_mfa_setting: None,
        user_mfa_setting_list: None,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ChangePassword.html
pub(super) async fn change_password(ctx: &Ctx, req: ChangePasswordRequest) -> ApiResult<ChangePasswordResponse> {
    let TokenUser { pool, user, .. } = access_token_user(ctx, &req.access_token).await?;
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

/// A verification code for the user's email or phone number (or the value waiting to replace
/// it), sent on behalf of `purpose`.
fn attribute_code<'a>(
    attribute: &'static str,
    destination: String,
    pending_value: Option<String>,
    purpose: &'static str,
    caller: Caller<'a>,
) -> CodeToSend<'a> {
    let medium = if attribute == "email" { DeliveryMediumType::Email } else { DeliveryMediumType::Sms };
    CodeToSend {
        slot: verification_slot(attribute),
        purpose,
        ttl_ms: ATTRIBUTE_CODE_TTL_MS,
        attribute,
        medium,
        destination,
        default_body: "Your verification code is {####}. ",
        pending_value,
        caller,
    }
}

fn verifiable(name: &str) -> ApiResult<&'static str> {
    match name {
        "email" => Ok("email"),
        "phone_number" => Ok("phone_number"),
        // Our wording: Cognito verifies only these two.
        other => Err(api_error!(InvalidParameterException, "Attribute {other} cannot be verified.")),
    }
}

/// A changed email or phone number is unverified and, where the pool auto-verifies it, gets a
/// code. Where the pool's UserAttributeUpdateSettings require verification before update, the
/// old value (still verified) stays until the new one is verified with VerifyUserAttribute.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserAttributes.html
pub(super) async fn update_user_attributes(
    ctx: &Ctx,
    req: UpdateUserAttributesRequest,
) -> ApiResult<UpdateUserAttributesResponse> {
    let TokenUser { pool, user, claims, client } = access_token_user(ctx, &req.access_token).await?;
    let names: Vec<&str> = req.user_attributes.iter().map(|a| a.name.as_str()).collect();
    check_client_writes(&client, &names)?;
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    check_writable(&schema, &req.user_attributes, false)?;
    let wait_for_verification = |attribute: &str| {
        let settings = pool.config.user_attribute_update_settings.as_ref();
        let listed = settings.and_then(|s| s.attributes_require_verification_before_update.as_deref());
        listed.unwrap_or_default().iter().any(|a| a.as_str() == attribute) && pool.auto_verifies(attribute)
    };
    let mut set = Vec::new();
    let mut codes = Vec::new();
    for a in &req.user_attributes {
        let value = a.value.as_deref().map_or("", String::as_str).to_string();
        let changed = user.attribute(&a.name) != Some(value.as_str());
        match verifiable(&a.name) {
            Ok(attribute) if changed && pool.auto_verifies(attribute) => {
                let pending = wait_for_verification(attribute).then(|| value.clone());
                if pending.is_none() {
                    set.push((a.name.clone(), value.clone()));
                }
                codes.push((attribute, value, pending));
            }
            _ => set.push((a.name.clone(), value)),
        }
    }
    // Each code it sends counts against the user's hourly budget of verification codes, checked
    // before anything changes (the model lists no LimitExceededException for this operation:
    // docs/compatibility.md).
    for _ in &codes {
        let now = ctx.clock.now_ms();
        if ctx.store.bump_counter(&pool.id, &user.sub, ATTRIBUTE_CODES, now, HOUR_MS).await? > ATTRIBUTE_CODES_PER_HOUR
        {
            return Err(api_error!(TooManyRequestsException, "Attempt limit exceeded, please try after some time."));
        }
    }
    change_attributes(ctx, &pool, &user, set, Vec::new()).await?;
    let caller = Caller {
        client_id: claims.get("client_id").and_then(Value::as_str),
        client_metadata: req.client_metadata.as_ref(),
    };
    let mut details = Vec::new();
    for (attribute, destination, pending) in codes {
        let purpose = "UpdateUserAttributes";
        let code = attribute_code(attribute, destination, pending, purpose, caller);
        details.push(deliver_code(ctx, &pool, &user, code).await?);
    }
    Ok(UpdateUserAttributesResponse { code_delivery_details_list: Some(details).filter(|d| !d.is_empty()) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteUserAttributes.html
pub(super) async fn delete_user_attributes(
    ctx: &Ctx,
    req: DeleteUserAttributesRequest,
) -> ApiResult<DeleteUserAttributesResponse> {
    let TokenUser { pool, user, client, .. } = access_token_user(ctx, &req.access_token).await?;
    let names: Vec<&str> = req.user_attribute_names.iter().map(String::as_str).collect();
    check_client_writes(&client, &names)?;
    check_deletable(&pool, &req.user_attribute_names)?;
    change_attributes(ctx, &pool, &user, Vec::new(), req.user_attribute_names.clone()).await?;
    Ok(DeleteUserAttributesResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetUserAttributeVerificationCode.html
pub(super) async fn get_user_attribute_verification_code(
    ctx: &Ctx,
    req: GetUserAttributeVerificationCodeRequest,
) -> ApiResult<GetUserAttributeVerificationCodeResponse> {
    let TokenUser { pool, user, claims, .. } = access_token_user(ctx, &req.access_token).await?;
    let attribute = verifiable(&req.attribute_name)?;
    // A value waiting for verification is the one to verify; otherwise the current one.
    let pending =
        ctx.store.find_code(&pool.id, &user.sub, verification_slot(attribute)).await?.and_then(|c| c.pending_value);
    let destination = match (pending.as_deref(), user.attribute(attribute)) {
        (Some(v), _) | (None, Some(v)) => v.to_string(),
        (None, None) => {
            return Err(api_error!(
                InvalidParameterException,
                "User does not have a value for the attribute {attribute}."
            ));
        }
    };
    let now = ctx.clock.now_ms();
    if ctx.store.bump_counter(&pool.id, &user.sub, ATTRIBUTE_CODES, now, HOUR_MS).await? > ATTRIBUTE_CODES_PER_HOUR {
        return Err(attempts_exceeded());
    }
    let caller = Caller {
        client_id: claims.get("client_id").and_then(Value::as_str),
        client_metadata: req.client_metadata.as_ref(),
    };
    let purpose = "GetUserAttributeVerificationCode";
    let code = attribute_code(attribute, destination, pending, purpose, caller);
    let details = deliver_code(ctx, &pool, &user, code).await?;
    Ok(GetUserAttributeVerificationCodeResponse { code_delivery_details: Some(details) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_VerifyUserAttribute.html
pub(super) async fn verify_user_attribute(
    ctx: &Ctx,
    req: VerifyUserAttributeRequest,
) -> ApiResult<VerifyUserAttributeResponse> {
    let TokenUser { pool, user, .. } = access_token_user(ctx, &req.access_token).await?;
    let attribute = verifiable(&req.attribute_name)?;
    let slot = verification_slot(attribute);
    let budget = ("verify-attribute", VERIFY_ATTRIBUTE_PER_HOUR);
    let stored = check_code(ctx, &pool.id, &user.sub, slot, &req.code, budget).await?;
    let mut set = vec![(format!("{attribute}_verified"), "true".to_string())];
    // A code for the current value verifies it only while it is still the user's value; a code
    // for a waiting value sets it (the code is voided by any other change of the attribute).
    let bound = match (&stored.pending_value, &stored.sent_to) {
        (Some(value), _) => {
            set.push((attribute.to_string(), value.clone()));
            None
        }
        (None, Some(sent_to)) => Some((attribute, sent_to.as_str())),
        (None, None) => None,
    };
    let at = ctx.clock.now_ms();
    let change = |current: &[(String, String)]| attribute_change(&pool, current, set, Vec::new(), at);
    // Consumed and applied in one transaction: single use however many requests race with it,
    // and never applied to a value the code was not sent to. A value that is now another user's
    // verified alias is AliasExistsException.
    let verified = ctx
        .store
        .verify_attribute(&pool.id, &user.sub, (slot, &stored.code_hash), bound, change)
        .await
        .map_err(|e| conflict(&pool, e, "User account already exists"))?;
    if !verified {
        return Err(crate::services::codes::code_expired());
    }
    Ok(VerifyUserAttributeResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteUser.html
pub(super) async fn delete_user(ctx: &Ctx, req: DeleteUserRequest) -> ApiResult<()> {
    let TokenUser { pool, user, .. } = access_token_user(ctx, &req.access_token).await?;
    ctx.store.delete_user(&pool.id, &user.sub).await?;
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html
pub(super) async fn global_sign_out(ctx: &Ctx, req: GlobalSignOutRequest) -> ApiResult<GlobalSignOutResponse> {
    let TokenUser { pool, user, .. } = access_token_user(ctx, &req.access_token).await?;
    ctx.store.sign_out_everywhere(&pool.id, &user.sub, ctx.clock.now_ms()).await?;
    Ok(GlobalSignOutResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUserGlobalSignOut.html
pub(super) async fn admin_user_global_sign_out(
    ctx: &Ctx,
    req: AdminUserGlobalSignOutRequest,
) -> ApiResult<AdminUserGlobalSignOutResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.sign_out_everywhere(&pool.id, &user.sub, ctx.clock.now_ms()).await?;
    Ok(AdminUserGlobalSignOutResponse {})
}

/// Revokes a refresh token. As RFC 7009 asks, an unknown token is not an error.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
pub(super) async fn revoke_token(ctx: &Ctx, req: RevokeTokenRequest) -> ApiResult<RevokeTokenResponse> {
    let (_, client) = load_client(ctx, &req.client_id).await?;
    check_client_secret(&client, req.client_secret.as_deref().map(String::as_str))?;
    ctx.store.revoke_refresh_token(&refresh_token_hash(&req.token), &req.client_id, ctx.clock.now_ms()).await?;
    Ok(RevokeTokenResponse {})
}
