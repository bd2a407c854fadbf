//! User pools: create, describe, update, delete, list, and custom attributes.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::attributes::{add_custom, build_schema};
use crate::domain::calendar::epoch_seconds;
use crate::domain::ids;
use crate::domain::pagination::{decode_token, encode_token};
use crate::domain::password_policy::default_policy;
use crate::error::{ApiError, ApiResult};
use crate::services::pools;
use crate::store::DocumentRow;
use serde_json::Value;
use userpool_model::types::*;

/// Cognito's defaults for what a request leaves out (CreateUserPool, and UpdateUserPool, which
/// resets omitted settings to their defaults).
fn fill_defaults(c: &mut UserPoolType) {
    let policies = c.policies.get_or_insert_with(UserPoolPolicyType::default);
    let password = policies.password_policy.get_or_insert_with(default_policy);
    password.temporary_password_validity_days.get_or_insert(7);
    for flag in [
        &mut password.require_uppercase,
        &mut password.require_lowercase,
        &mut password.require_numbers,
        &mut password.require_symbols,
    ] {
        flag.get_or_insert(false);
    }
    password.minimum_length.get_or_insert(8);
    policies
        .sign_in_policy
        .get_or_insert_with(|| SignInPolicyType { allowed_first_auth_factors: Some(vec![AuthFactorType::Password]) });
    c.deletion_protection.get_or_insert(DeletionProtectionType::Inactive);
    c.lambda_config.get_or_insert_with(LambdaConfigType::default);
    c.mfa_configuration.get_or_insert(UserPoolMfaType::Off);
    let template = c.verification_message_template.get_or_insert_with(VerificationMessageTemplateType::default);
    template.default_email_option.get_or_insert(DefaultEmailOptionType::ConfirmWithCode);
    if template.sms_message.is_none() {
        template.sms_message.clone_from(&c.sms_verification_message);
    }
    if template.email_message.is_none() {
        template.email_message.clone_from(&c.email_verification_message);
    }
    if template.email_subject.is_none() {
        template.email_subject.clone_from(&c.email_verification_subject);
    }
    c.email_configuration.get_or_insert_with(|| EmailConfigurationType {
        email_sending_account: Some(EmailSendingAccountType::CognitoDefault),
        ..Default::default()
    });
    let admin = c.admin_create_user_config.get_or_insert_with(AdminCreateUserConfigType::default);
    admin.allow_admin_create_user_only.get_or_insert(false);
    admin.unused_account_validity_days.get_or_insert(7);
    c.user_pool_tags.get_or_insert_with(Default::default);
    c.user_attribute_update_settings.get_or_insert_with(|| UserAttributeUpdateSettingsType {
        attributes_require_verification_before_update: Some(Vec::new()),
    });
    c.account_recovery_setting.get_or_insert_with(|| AccountRecoverySettingType {
        recovery_mechanisms: Some(vec![
            RecoveryOptionType { priority: 1, name: RecoveryOptionNameType::VerifiedEmail },
            RecoveryOptionType { priority: 2, name: RecoveryOptionNameType::VerifiedPhoneNumber },
        ]),
    });
    c.user_pool_tier.get_or_insert(UserPoolTierType::Essentials);
}

/// Moves request members onto the pool document: the request shapes share member names with
/// `UserPoolType` except these.
fn as_pool_document(request: Value) -> ApiResult<UserPoolType> {
    let Value::Object(mut map) = request else {
        return Err(ApiError::internal("request is not an object"));
    };
    for (from, to) in [("PoolName", "Name"), ("Schema", "SchemaAttributes")] {
        if let Some(v) = map.remove(from) {
            map.insert(to.to_string(), v);
        }
    }
    map.remove("UserPoolId");
    serde_json::from_value(Value::Object(map)).map_err(ApiError::internal)
}

fn check_username_settings(c: &UserPoolType) -> ApiResult<()> {
    if c.username_attributes.as_ref().is_some_and(|u| !u.is_empty())
        && c.alias_attributes.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(api_error!(
            InvalidParameterException,
            "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool."
        ));
    }
    Ok(())
}

async fn save(ctx: &Ctx, pool: &UserPoolType, created_at: Option<i64>) -> ApiResult<()> {
    let id = pool.id.clone().unwrap_or_default();
    let name = pool.name.clone().unwrap_or_default();
    let now = ctx.clock.now_ms();
    let config = serde_json::to_string(pool).map_err(ApiError::internal)?;
    match created_at {
        Some(created_at) => {
            ctx.store.create_pool(&DocumentRow { id, name, created_at, updated_at: now, config }).await?
        }
        None => {
            if !ctx.store.update_pool(&id, &name, now, &config).await? {
                return Err(api_error!(ResourceNotFoundException, "User pool {id} does not exist."));
            }
        }
    }
    Ok(())
}

async fn described(ctx: &Ctx, id: &str) -> ApiResult<UserPoolType> {
    let mut pool = pools::load(ctx, id).await?.config;
    pool.estimated_number_of_users = Some(i32::try_from(ctx.store.count_users(id).await?).unwrap_or(i32::MAX));
    Ok(pool)
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
pub(super) async fn create_user_pool(ctx: &Ctx, req: CreateUserPoolRequest) -> ApiResult<CreateUserPoolResponse> {
    let schema = build_schema(req.schema.as_deref())?;
    let mut pool = as_pool_document(serde_json::to_value(&req).map_err(ApiError::internal)?)?;
    check_username_settings(&pool)?;
    let id = ids::user_pool_id(&ctx.settings.region);
    pool.arn = Some(format!("arn:aws:cognito-idp:{}:{}:userpool/{id}", ctx.settings.region, ctx.settings.account_id));
    pool.id = Some(id.clone());
    pool.schema_attributes = Some(schema);
    fill_defaults(&mut pool);
    save(ctx, &pool, Some(ctx.clock.now_ms())).await?;
    Ok(CreateUserPoolResponse { user_pool: Some(described(ctx, &id).await?) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeUserPool.html
pub(super) async fn describe_user_pool(ctx: &Ctx, req: DescribeUserPoolRequest) -> ApiResult<DescribeUserPoolResponse> {
    Ok(DescribeUserPoolResponse { user_pool: Some(described(ctx, &req.user_pool_id).await?) })
}

/// Settings UpdateUserPool leaves alone: identity, sign-in names and schema are fixed at creation.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html
pub(super) async fn update_user_pool(ctx: &Ctx, req: UpdateUserPoolRequest) -> ApiResult<UpdateUserPoolResponse> {
    let old = pools::load(ctx, &req.user_pool_id).await?.config;
    let mut pool = as_pool_document(serde_json::to_value(&req).map_err(ApiError::internal)?)?;
    pool.id = old.id;
    pool.arn = old.arn;
    pool.name = pool.name.or(old.name);
    pool.schema_attributes = old.schema_attributes;
    pool.alias_attributes = old.alias_attributes;
    pool.username_attributes = old.username_attributes;
    pool.username_configuration = old.username_configuration;
    pool.domain = old.domain;
    pool.custom_domain = old.custom_domain;
    fill_defaults(&mut pool);
    save(ctx, &pool, None).await?;
    Ok(UpdateUserPoolResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteUserPool.html
pub(super) async fn delete_user_pool(ctx: &Ctx, req: DeleteUserPoolRequest) -> ApiResult<()> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    if pool.config.deletion_protection == Some(DeletionProtectionType::Active) {
        return Err(api_error!(
            InvalidParameterException,
            "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first."
        ));
    }
    if !ctx.store.delete_pool(&pool.id).await? {
        return Err(api_error!(ResourceNotFoundException, "User pool {} does not exist.", pool.id));
    }
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUserPools.html
pub(super) async fn list_user_pools(ctx: &Ctx, req: ListUserPoolsRequest) -> ApiResult<ListUserPoolsResponse> {
    let after = decode_token(req.next_token.as_deref())?;
    let limit = i64::from(req.max_results);
    let mut rows = ctx.store.list_pools(after.as_deref(), limit + 1).await?;
    let next_token = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|r| encode_token(&r.id))
    } else {
        None
    };
    let user_pools = rows
        .into_iter()
        .map(|r| {
            let config: UserPoolType = serde_json::from_str(&r.config)?;
            Ok(UserPoolDescriptionType {
                id: Some(r.id),
                name: Some(r.name),
                lambda_config: config.lambda_config,
                status: None,
                last_modified_date: Some(epoch_seconds(r.updated_at)),
                creation_date: Some(epoch_seconds(r.created_at)),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(ApiError::internal)?;
    Ok(ListUserPoolsResponse { user_pools: Some(user_pools), next_token })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AddCustomAttributes.html
pub(super) async fn add_custom_attributes(
    ctx: &Ctx,
    req: AddCustomAttributesRequest,
) -> ApiResult<AddCustomAttributesResponse> {
    let mut pool = pools::load(ctx, &req.user_pool_id).await?.config;
    let schema = pool.schema_attributes.get_or_insert_with(Vec::new);
    for attribute in &req.custom_attributes {
        add_custom(schema, attribute)?;
    }
    save(ctx, &pool, None).await?;
    Ok(AddCustomAttributesResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_map_onto_the_pool_document() {
        let pool =
            as_pool_document(json!({"PoolName": "p", "Schema": [{"Name": "team"}], "MfaConfiguration": "OPTIONAL"}))
                .unwrap();
        assert_eq!(pool.name.as_deref(), Some("p"));
        assert_eq!(pool.schema_attributes.unwrap()[0].name.as_deref(), Some("team"));
        assert_eq!(pool.mfa_configuration, Some(UserPoolMfaType::Optional));
    }

    #[test]
    fn defaults_fill_what_is_missing() {
        let mut pool = UserPoolType::default();
        fill_defaults(&mut pool);
        let p = pool.policies.unwrap().password_policy.unwrap();
        assert_eq!(
            (p.minimum_length, p.require_symbols, p.temporary_password_validity_days),
            (Some(8), Some(true), Some(7))
        );
        assert_eq!(pool.deletion_protection, Some(DeletionProtectionType::Inactive));
        assert_eq!(pool.user_pool_tier, Some(UserPoolTierType::Essentials));
        assert_eq!(pool.admin_create_user_config.unwrap().unused_account_validity_days, Some(7));
    }
}
