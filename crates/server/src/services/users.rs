//! Users: finding them by any name Cognito accepts, creating their identity, changing their
//! attributes, and the groups their tokens list.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::attributes::{check_required, check_writable, looks_like_email, looks_like_phone};
use crate::domain::calendar::epoch_seconds;
use crate::domain::ids;
use crate::domain::pools::Pool;
use crate::domain::users::aliases;
use crate::error::{ApiError, ApiResult};
use crate::services::{passwords, pools};
use crate::store::{AliasKind, AttributeChange, DocumentRow, NewUser, StoreError, UserRow};
use crate::triggers::{self, Invocation, PreSignUpRequest};
use std::collections::BTreeMap;
use userpool_model::types::{AttributeType, GroupType, UserStatusType};

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
    let pool = pools::load(ctx, pool_id).await?;
    Ok(find(ctx, &pool, name).await?.map(|u| (pool, u)))
}

/// A disabled user, wherever a flow meets one (sign-in, tokens, recovery).
pub fn user_disabled() -> ApiError {
    api_error!(NotAuthorizedException, "User is disabled.")
}

pub async fn existing_user(ctx: &Ctx, pool: &Pool, username: &str) -> ApiResult<UserRow> {
    find(ctx, pool, username).await?.ok_or_else(|| api_error!(UserNotFoundException, "User does not exist."))
}

/// A new user's `sub`, internal username and first attributes.
pub struct Identity {
    pub sub: String,
    pub username: String,
    pub attributes: Vec<(String, String)>,
}

/// AdminCreateUser's RESEND: a new temporary password for a user who has not signed in yet.
pub async fn reset_temporary_password(ctx: &Ctx, pool: &Pool, username: &str, password: &str) -> ApiResult<UserRow> {
    let user = existing_user(ctx, pool, username).await?;
    if user.status != UserStatusType::ForceChangePassword.as_str() {
        return Err(api_error!(
            UnsupportedUserStateException,
            "Resend not possible. {} status is not FORCE_CHANGE_PASSWORD",
            user.username
        ));
    }
    let earlier = user.password_hash.iter().cloned().collect();
    let (record, _) = passwords::password_record(ctx, pool, &user.username, password, earlier).await?;
    ctx.store.replace_password(&pool.id, &user.sub, &record, None, None, None, ctx.clock.now_ms()).await?;
    Ok(user)
}

/// A user an administrator creates (AdminCreateUser).
pub struct Invited<'a> {
    pub username: &'a str,
    pub attributes: &'a [AttributeType],
    pub validation_data: Option<&'a [AttributeType]>,
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
    pub temporary_password: &'a str,
    pub force_alias_creation: bool,
}

/// Creates an invited user in FORCE_CHANGE_PASSWORD with the temporary password, once the
/// schema and PreSignUp_AdminCreateUser allow it (the function may refuse the user; its answer's
/// flags do not apply here).
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html
pub async fn create_invited(ctx: &Ctx, pool: &Pool, invited: Invited<'_>) -> ApiResult<UserRow> {
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    check_writable(&schema, invited.attributes, true)?;
    let Identity { sub, username, attributes } = new_identity(pool, invited.username, invited.attributes)?;
    check_required(&schema, &attributes)?;
    let request = PreSignUpRequest {
        user_attributes: triggers::attribute_map(invited.attributes),
        validation_data: invited.validation_data.map(triggers::attribute_map),
        client_metadata: invited.client_metadata,
    };
    let call = Invocation { source: "PreSignUp_AdminCreateUser", user_name: &username, client_id: None };
    ctx.triggers.pre_sign_up(pool, call, &request).await?;
    let (record, _) = passwords::password_record(ctx, pool, &username, invited.temporary_password, Vec::new()).await?;
    let new = NewUser {
        pool_id: pool.id.clone(),
        sub: sub.clone(),
        username: username.clone(),
        username_key: pool.key(&username),
        status: UserStatusType::ForceChangePassword.as_str().into(),
        enabled: true,
        created_at: ctx.clock.now_ms(),
        password: Some(record),
        aliases: aliases(pool, &attributes).into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect(),
        attributes,
        force_aliases: invited.force_alias_creation,
    };
    ctx.store.create_user(&new).await.map_err(|e| conflict(pool, e, "User account already exists"))?;
    ctx.store.find_user_by_sub(&pool.id, &sub).await?.ok_or_else(|| ApiError::internal("created user vanished"))
}

/// The internal username and the attributes a new user starts with. In pools whose
/// UsernameAttributes include email or phone_number, the username given is that attribute and
/// the internal username is the `sub` (docs/cognito-facts.md#which-user-is-addressed).
pub fn new_identity(pool: &Pool, username: &str, given: &[AttributeType]) -> ApiResult<Identity> {
    let sub = ids::sub();
    let mut attributes: Vec<(String, String)> = vec![("sub".into(), sub.clone())];
    for a in given {
        let value = a.value.as_deref().cloned().unwrap_or_default();
        attributes.retain(|(n, _)| n != &a.name);
        attributes.push((a.name.clone(), value));
    }
    let (email, phone) = (pool.has_username_attribute("email"), pool.has_username_attribute("phone_number"));
    let internal = if email || phone {
        let attribute = if email && looks_like_email(username) {
            "email"
        } else if phone && looks_like_phone(username) {
            "phone_number"
        } else {
            let expected = match (email, phone) {
                (true, true) => "Username should be either an email or a phone number.",
                (true, false) => "Username should be an email.",
                _ => "Username should be a phone number.",
            };
            return Err(api_error!(InvalidParameterException, "{expected}"));
        };
        attributes.retain(|(n, _)| n != attribute);
        attributes.push((attribute.to_string(), username.to_string()));
        sub.clone()
    } else {
        if pool.has_alias_attribute("email") && looks_like_email(username) {
            return Err(api_error!(
                InvalidParameterException,
                "Username cannot be of email format, since user pool is configured for email alias."
            ));
        }
        if pool.has_alias_attribute("phone_number") && looks_like_phone(username) {
            return Err(api_error!(
                InvalidParameterException,
                "Username cannot be of phone number format, since user pool is configured for phone number alias."
            ));
        }
        username.to_string()
    };
    Ok(Identity { sub, username: internal, attributes })
}

/// Maps a unique-key conflict from `create_user`/`update_user_attributes`.
/// In pools whose usernames are emails or phone numbers, a taken one is a taken username.
pub fn conflict(pool: &Pool, e: StoreError, username_message: &'static str) -> ApiError {
    match e {
        StoreError::Conflict(what) if what == "username" => {
            api_error!(UsernameExistsException, "{username_message}")
        }
        StoreError::Conflict(what) => {
            let attribute = what.strip_prefix("alias:").unwrap_or(&what);
            let spoken = attribute.replace("phone_number", "phone number");
            if pool.has_username_attribute(attribute) {
                api_error!(UsernameExistsException, "An account with the given {spoken} already exists.")
            } else {
                api_error!(AliasExistsException, "An account with the given {spoken} already exists.")
            }
        }
        other => other.into(),
    }
}

/// The code slot of an email or phone number verification.
pub fn verification_slot(attribute: &str) -> &'static str {
    if attribute == "email" { "Verify:email" } else { "Verify:phone_number" }
}

/// Attribute changes with what follows from them, given the user's `current` attributes (read in
/// the transaction that writes, under the user's row lock): a changed email or phone number is
/// unverified unless the same request verifies it, the aliases are recomputed, and a code sent
/// for the old value is void (docs/recovery.md).
pub fn attribute_change(
    pool: &Pool,
    current: &[(String, String)],
    set: Vec<(String, String)>,
    remove: Vec<String>,
    at: i64,
) -> AttributeChange {
    let now = |name: &str| current.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut set = set;
    let mut void_codes = Vec::new();
    for (attribute, flag) in [("email", "email_verified"), ("phone_number", "phone_number_verified")] {
        let changed = set.iter().any(|(n, v)| n == attribute && now(attribute) != Some(v.as_str()));
        if changed && !set.iter().any(|(n, _)| n == flag) {
            set.push((flag.to_string(), "false".to_string()));
        }
        if changed || remove.iter().any(|n| n == attribute) {
            void_codes.push(verification_slot(attribute));
        }
    }
    let mut after: Vec<(String, String)> = current.iter().filter(|(n, _)| !remove.contains(n)).cloned().collect();
    for (n, v) in &set {
        after.retain(|(k, _)| k != n);
        after.push((n.clone(), v.clone()));
    }
    let aliases = aliases(pool, &after);
    AttributeChange { set, remove, aliases, void_codes, updated_at: at }
}

/// Applies attribute changes (see `attribute_change`).
pub async fn change_attributes(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> ApiResult<()> {
    let at = ctx.clock.now_ms();
    ctx.store
        .update_user_attributes(&pool.id, &user.sub, |current| attribute_change(pool, current, set, remove, at))
        .await
        .map_err(|e| conflict(pool, e, "User account already exists"))
}

/// Only optional, mutable attributes of the schema can be deleted.
pub fn check_deletable(pool: &Pool, names: &[String]) -> ApiResult<()> {
    let schema = pool.config.schema_attributes.as_deref().unwrap_or_default();
    for name in names {
        let def = schema.iter().find(|s| s.name.as_deref() == Some(name.as_str()));
        match def {
            None => {
                return Err(api_error!(
                    InvalidParameterException,
                    "Attributes did not conform to the schema: {name}: Attribute does not exist in the schema.\n"
                ));
            }
            Some(d) if d.required == Some(true) || name == "sub" => {
                return Err(api_error!(
                    InvalidParameterException,
                    "Attributes did not conform to the schema: {name}: The attribute is required\n"
                ));
            }
            Some(d) if d.mutable == Some(false) => {
                return Err(api_error!(InvalidParameterException, "Cannot modify the non-mutable attribute {name}"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub fn group_of(row: &DocumentRow) -> ApiResult<GroupType> {
    let mut group: GroupType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    group.creation_date = Some(epoch_seconds(row.created_at));
    group.last_modified_date = Some(epoch_seconds(row.updated_at));
    Ok(group)
}

/// The user's group names for `cognito:groups`, by precedence (lowest first), then name.
pub async fn group_names(ctx: &Ctx, pool_id: &str, sub: &str) -> ApiResult<Vec<String>> {
    let mut groups: Vec<(i64, String)> = ctx
        .store
        .member_groups(pool_id, sub)
        .await?
        .into_iter()
        .map(|(name, precedence)| (precedence.unwrap_or(i64::from(i32::MAX)), name))
        .collect();
    groups.sort();
    Ok(groups.into_iter().map(|(_, name)| name).collect())
}
