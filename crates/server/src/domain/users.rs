//! Finding users by any name Cognito accepts, their aliases, and their wire form.

use crate::app::Ctx;
use crate::clock::epoch_seconds;
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use crate::store::{AliasKind, UserRow};
use userpool_model::types::{AttributeType, UserStatusType, UserType};

/// A user by username, alias or `sub`, in that order (the `Username` member's documentation:
/// "the username …, any of their alias attributes, or the sub").
pub async fn find(ctx: &Ctx, pool: &Pool, name: &str) -> ApiResult<Option<UserRow>> {
    let key = pool.key(name);
    if let Some(u) = ctx.store.find_user_by_username(&pool.id, &key).await? {
        return Ok(Some(u));
    }
    for kind in AliasKind::ALL {
        let usable = pool.has_alias_attribute(kind.attribute()) || pool.has_username_attribute(kind.attribute());
        if usable && let Some(u) = ctx.store.find_user_by_alias(&pool.id, kind, &key).await? {
            return Ok(Some(u));
        }
    }
    if uuid::Uuid::parse_str(name).is_ok() {
        return Ok(ctx.store.find_user_by_sub(&pool.id, name).await?);
    }
    Ok(None)
}

/// The same, for callers that have only the pool id.
pub async fn find_user(ctx: &Ctx, pool_id: &str, name: &str) -> ApiResult<Option<(Pool, UserRow)>> {
    let pool = Pool::load(ctx, pool_id).await?;
    Ok(find(ctx, &pool, name).await?.map(|u| (pool, u)))
}

/// The sign-in names a user's attributes give in this pool: an email or phone number used as
/// the username (verified or not), and verified aliases (preferred_username needs no verification).
pub fn aliases(pool: &Pool, attributes: &[(String, String)]) -> Vec<(AliasKind, Option<String>)> {
    let get = |n: &str| attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    AliasKind::ALL
        .into_iter()
        .filter(|k| pool.has_username_attribute(k.attribute()) || pool.has_alias_attribute(k.attribute()))
        .map(|kind| {
            let attribute = kind.attribute();
            let verified = match kind {
                AliasKind::Email => get("email_verified") == Some("true"),
                AliasKind::PhoneNumber => get("phone_number_verified") == Some("true"),
                AliasKind::PreferredUsername => true,
            };
            let usable = pool.has_username_attribute(attribute) || verified;
            (kind, get(attribute).filter(|_| usable).map(|v| pool.key(v)))
        })
        .collect()
}

pub fn status(user: &UserRow) -> UserStatusType {
    UserStatusType::from_wire(&user.status).unwrap_or(UserStatusType::Unknown)
}

pub fn attribute_types(user: &UserRow, only: Option<&[String]>) -> Vec<AttributeType> {
    user.attributes
        .iter()
        .filter(|(n, _)| only.is_none_or(|names| names.iter().any(|x| x == n)))
        .map(|(n, v)| AttributeType { name: n.clone(), value: Some(v.clone().into()) })
        .collect()
}

/// The `UserType` of AdminCreateUser and ListUsers.
pub fn user_type(user: &UserRow, only: Option<&[String]>) -> UserType {
    UserType {
        username: Some(user.username.clone().into()),
        attributes: Some(attribute_types(user, only)),
        user_create_date: Some(epoch_seconds(user.created_at)),
        user_last_modified_date: Some(epoch_seconds(user.updated_at)),
        enabled: Some(user.enabled),
        user_status: Some(status(user)),
        mfa_options: None,
    }
}
