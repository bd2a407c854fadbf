//! Users, through the IAM-authorised admin operations, and ListUsers.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::attributes::check_writable;
use crate::domain::calendar::epoch_seconds;
use crate::domain::filter::{self, FilterError};
use crate::domain::pagination::{decode_token, encode_token};
use crate::domain::password_policy::{self, Wording};
use crate::domain::users::{attribute_types, status, user_type};
use crate::error::ApiResult;
use crate::services::messages::send_invitation;
use crate::services::passwords::new_password_for;
use crate::services::pools;
use crate::services::users::{self, change_attributes, check_deletable, existing_user};
use userpool_model::types::*;

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
pub(super) async fn admin_create_user(ctx: &Ctx, req: AdminCreateUserRequest) -> ApiResult<AdminCreateUserResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let policy = pool.password_policy();
    let password = match &req.temporary_password {
        Some(p) => {
            password_policy::check(&policy, p, Wording::DidNotConform)?;
            p.as_str().to_string()
        }
        None => password_policy::temporary_password(&policy),
    };
    let mediums = req.desired_delivery_mediums.clone().unwrap_or_else(|| vec![DeliveryMediumType::Sms]);
    let client_metadata = req.client_metadata.as_ref();
    if req.message_action == Some(MessageActionType::Resend) {
        let user = users::reset_temporary_password(ctx, &pool, &req.username, &password).await?;
        send_invitation(ctx, &pool, &user, &req.username, &password, &mediums, client_metadata).await?;
        return Ok(AdminCreateUserResponse { user: Some(user_type(&user, None)) });
    }
    let invited = users::Invited {
        username: &req.username,
        attributes: req.user_attributes.as_deref().unwrap_or_default(),
        validation_data: req.validation_data.as_deref(),
        client_metadata,
        temporary_password: &password,
        force_alias_creation: req.force_alias_creation == Some(true),
    };
    let user = users::create_invited(ctx, &pool, invited).await?;
    if req.message_action != Some(MessageActionType::Suppress) {
        send_invitation(ctx, &pool, &user, &req.username, &password, &mediums, client_metadata).await?;
    }
    Ok(AdminCreateUserResponse { user: Some(user_type(&user, None)) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html
pub(super) async fn admin_get_user(ctx: &Ctx, req: AdminGetUserRequest) -> ApiResult<AdminGetUserResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    Ok(AdminGetUserResponse {
        username: user.username.clone().into(),
        user_attributes: Some(attribute_types(&user, None)),
        user_create_date: Some(epoch_seconds(user.created_at)),
        user_last_modified_date: Some(epoch_seconds(user.updated_at)),
        enabled: Some(user.enabled),
        user_status: Some(status(&user)),
        mfa_options: None,
        preferred_mfa_setting: None,
        user_mfa_setting_list: None,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDeleteUser.html
pub(super) async fn admin_delete_user(ctx: &Ctx, req: AdminDeleteUserRequest) -> ApiResult<()> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.delete_user(&pool.id, &user.sub).await?;
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUpdateUserAttributes.html
pub(super) async fn admin_update_user_attributes(
    ctx: &Ctx,
    req: AdminUpdateUserAttributesRequest,
) -> ApiResult<AdminUpdateUserAttributesResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    check_writable(&schema, &req.user_attributes, false)?;
    let set =
        req.user_attributes.iter().map(|a| (a.name.clone(), a.value.as_deref().cloned().unwrap_or_default())).collect();
    change_attributes(ctx, &pool, &user, set, Vec::new()).await?;
    Ok(AdminUpdateUserAttributesResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDeleteUserAttributes.html
pub(super) async fn admin_delete_user_attributes(
    ctx: &Ctx,
    req: AdminDeleteUserAttributesRequest,
) -> ApiResult<AdminDeleteUserAttributesResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    check_deletable(&pool, &req.user_attribute_names)?;
    change_attributes(ctx, &pool, &user, Vec::new(), req.user_attribute_names.clone()).await?;
    Ok(AdminDeleteUserAttributesResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminSetUserPassword.html
pub(super) async fn admin_set_user_password(
    ctx: &Ctx,
    req: AdminSetUserPasswordRequest,
) -> ApiResult<AdminSetUserPasswordResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    ctx.recovery_quota.check(&pool.id, ctx.clock.now_ms())?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    let record = new_password_for(ctx, &pool, &user, &req.password, Wording::DoesNotConform).await?;
    let status =
        if req.permanent == Some(true) { UserStatusType::Confirmed } else { UserStatusType::ForceChangePassword };
    let now = ctx.clock.now_ms();
    ctx.store
        .replace_password(&pool.id, &user.sub, &record, None, Some(status.as_str()), user.password_hash.as_deref(), now)
        .await?;
    Ok(AdminSetUserPasswordResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminEnableUser.html
pub(super) async fn admin_enable_user(ctx: &Ctx, req: AdminEnableUserRequest) -> ApiResult<AdminEnableUserResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.set_user_enabled(&pool.id, &user.sub, true, ctx.clock.now_ms()).await?;
    Ok(AdminEnableUserResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDisableUser.html
pub(super) async fn admin_disable_user(ctx: &Ctx, req: AdminDisableUserRequest) -> ApiResult<AdminDisableUserResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.set_user_enabled(&pool.id, &user.sub, false, ctx.clock.now_ms()).await?;
    Ok(AdminDisableUserResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminConfirmSignUp.html
pub(super) async fn admin_confirm_sign_up(
    ctx: &Ctx,
    req: AdminConfirmSignUpRequest,
) -> ApiResult<AdminConfirmSignUpResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    if user.status != UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(NotAuthorizedException, "User cannot be confirmed. Current status is {}", user.status));
    }
    ctx.store.set_user_status(&pool.id, &user.sub, UserStatusType::Confirmed.as_str(), ctx.clock.now_ms()).await?;
    let caller = crate::triggers::Caller { client_id: None, client_metadata: req.client_metadata.as_ref() };
    crate::services::triggers::post_confirmation(ctx, &pool, &user.sub, "PostConfirmation_ConfirmSignUp", caller)
        .await?;
    Ok(AdminConfirmSignUpResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
pub(super) async fn list_users(ctx: &Ctx, req: ListUsersRequest) -> ApiResult<ListUsersResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let filter = match filter::parse(req.filter.as_deref().unwrap_or_default()) {
        Ok(f) => f,
        Err(FilterError::Syntax) => {
            return Err(api_error!(InvalidParameterException, "Error while parsing filter."));
        }
        Err(FilterError::NotFilterable(name)) => {
            return Err(api_error!(InvalidParameterException, "Invalid search attribute: {name}"));
        }
    };
    let after = decode_token(req.pagination_token.as_deref())?;
    let limit = usize::try_from(req.limit.unwrap_or(60)).unwrap_or(60).clamp(1, 60);
    let mut rows = ctx
        .store
        .list_users(&pool.id, filter.as_ref(), after.as_deref(), i64::try_from(limit).unwrap_or(60) + 1)
        .await?;
    let pagination_token = if rows.len() > limit {
        rows.truncate(limit);
        match rows.last() {
            Some(last) => ctx.store.username_key(&pool.id, &last.sub).await?.map(|k| encode_token(&k)),
            None => None,
        }
    } else {
        None
    };
    let only = req.attributes_to_get.as_deref();
    Ok(ListUsersResponse { users: Some(rows.iter().map(|u| user_type(u, only)).collect()), pagination_token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::password_policy::{default_policy, first_violation};

    #[test]
    fn temporary_passwords_satisfy_the_policy() {
        let strict = PasswordPolicyType { minimum_length: Some(20), ..default_policy() };
        for _ in 0..200 {
            let p = password_policy::temporary_password(&strict);
            assert_eq!(first_violation(&strict, &p), None, "{p}");
            assert!(p.len() >= 20);
        }
    }
}
