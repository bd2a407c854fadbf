//! The triggers that stand for a step of a flow: PostConfirmation after a confirmation or a
//! reset, UserMigration for a user the pool does not know.

use crate::ctx::Ctx;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::services::{passwords, users};
use crate::store::UserRow;
use crate::triggers::{self, Caller, PostConfirmationRequest, Trigger, UserMigrationRequest};
use std::collections::BTreeMap;

/// Runs PostConfirmation with the user as they are after the confirmation or the reset.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html
pub async fn post_confirmation(
    ctx: &Ctx,
    pool: &Pool,
    sub: &str,
    source: &'static str,
    caller: Caller<'_>,
) -> ApiResult<()> {
    if !triggers::configured(pool, Trigger::PostConfirmation) {
        return Ok(());
    }
    let user = ctx.store.find_user_by_sub(&pool.id, sub).await?.ok_or_else(|| ApiError::internal("user vanished"))?;
    let request = PostConfirmationRequest {
        user_attributes: triggers::user_attributes(&user),
        client_metadata: caller.client_metadata,
    };
    ctx.triggers.post_confirmation(pool, caller.invocation(source, &user.username), &request).await
}

/// A user the pool does not know, asked of its UserMigration function: the user it created, or
/// None without a function. With `password` (sign-in) the user keeps it and is CONFIRMED unless
/// the function says RESET_REQUIRED; without (ForgotPassword) the user must reset.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html
pub async fn migrate_user(
    ctx: &Ctx,
    pool: &Pool,
    username: &str,
    password: Option<&str>,
    validation_data: Option<&BTreeMap<String, String>>,
    caller: Caller<'_>,
) -> ApiResult<Option<UserRow>> {
    if !triggers::configured(pool, Trigger::UserMigration) {
        return Ok(None);
    }
    let no_data = BTreeMap::new();
    let request = UserMigrationRequest {
        password,
        validation_data: validation_data.unwrap_or(&no_data),
        client_metadata: caller.client_metadata,
    };
    let source = if password.is_some() { "UserMigration_Authentication" } else { "UserMigration_ForgotPassword" };
    let call = caller.invocation(source, username);
    let Some(response) = ctx.triggers.user_migration(pool, call, &request).await? else { return Ok(None) };
    // Checked against the schema as AdminCreateUser's attributes are.
    let given: Vec<userpool_model::types::AttributeType> = response
        .user_attributes
        .into_iter()
        .filter(|(name, _)| name.as_str() != "sub" && !name.starts_with("cognito:"))
        .map(|(name, value)| userpool_model::types::AttributeType { name, value: Some(value.into()) })
        .collect();
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    crate::domain::attributes::check_writable(&schema, &given, true)?;
    let users::Identity { sub, username: internal, attributes } = users::new_identity(pool, username, &given)?;
    crate::domain::attributes::check_required(&schema, &attributes)?;
    let reset = password.is_none() || response.final_user_status.as_deref() == Some("RESET_REQUIRED");
    let status = if reset { "RESET_REQUIRED" } else { "CONFIRMED" };
    let record = match password {
        Some(p) => Some(passwords::password_record(ctx, pool, &internal, p, Vec::new()).await?.0),
        None => None,
    };
    let new = crate::store::NewUser {
        pool_id: pool.id.clone(),
        sub: sub.clone(),
        username: internal.clone(),
        username_key: pool.key(&internal),
        status: status.into(),
        enabled: true,
        created_at: ctx.clock.now_ms(),
        password: record,
        aliases: crate::domain::users::aliases(pool, &attributes)
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        attributes,
        force_aliases: response.force_alias_creation,
    };
    match ctx.store.create_user(&new).await {
        Ok(()) => {
            tracing::info!(trigger = "UserMigration", source, "user migrated");
            Ok(ctx.store.find_user_by_sub(&pool.id, &sub).await?)
        }
        // Two requests migrated the same user at once: the first one's user is the user.
        Err(crate::store::StoreError::Conflict(what)) if what == "username" => {
            Ok(crate::services::users::find(ctx, pool, username).await?)
        }
        Err(e) => Err(users::conflict(pool, e, "User account already exists")),
    }
}
