//! Users, through the IAM-authorised admin operations, and ListUsers.

use super::{decode_token, encode_token, new_password_for, password_record};
use crate::api_error;
use crate::app::Ctx;
use crate::clock::epoch_seconds;
use crate::delivery::Message;
use crate::domain::attributes::{check_required, check_writable, looks_like_email, looks_like_phone};
use crate::domain::filter::{self, FilterError};
use crate::domain::ids;
use crate::domain::password_policy::{self, Wording};
use crate::domain::pools::Pool;
use crate::domain::users::{self, aliases, attribute_types, status, user_type};
use crate::error::{ApiError, ApiResult};
use crate::store::{NewUser, StoreError, UserRow};
use crate::triggers::{self, Event, Trigger};
use rand::seq::SliceRandom;
use serde_json::json;
use userpool_model::types::*;

pub(crate) async fn existing_user(ctx: &Ctx, pool: &Pool, username: &str) -> ApiResult<UserRow> {
    users::find(ctx, pool, username).await?.ok_or_else(|| api_error!(UserNotFoundException, "User does not exist."))
}

/// The internal username and the attributes a new user starts with. In pools whose
/// UsernameAttributes include email or phone_number, the username given is that attribute and
/// the internal username is the `sub` (spec §2.5).
pub(crate) fn new_identity(
    pool: &Pool,
    username: &str,
    given: &[AttributeType],
) -> ApiResult<(String, String, Vec<(String, String)>)> {
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
    Ok((sub, internal, attributes))
}

/// Maps a unique-key conflict from `create_user`/`update_user_attributes`.
/// In pools whose usernames are emails or phone numbers, a taken one is a taken username.
pub(crate) fn conflict(pool: &Pool, e: StoreError, username_message: &'static str) -> ApiError {
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

/// A temporary password that satisfies the pool's policy.
fn temporary_password(policy: &PasswordPolicyType) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let sets: [&[u8]; 4] =
        [b"abcdefghijkmnopqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"^$*.[]{}()?!@#%&/,><:;|_~=+-"];
    let len = usize::try_from(policy.minimum_length.unwrap_or(8)).unwrap_or(8).max(12);
    let mut chars: Vec<u8> = sets.iter().map(|s| s[rng.random_range(0..s.len())]).collect();
    let all: Vec<u8> = sets.concat();
    while chars.len() < len {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

async fn send_invitation(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    display_username: &str,
    password: &str,
    mediums: &[DeliveryMediumType],
    client_metadata: Option<&std::collections::BTreeMap<String, String>>,
) -> ApiResult<()> {
    let template = pool
        .config
        .admin_create_user_config
        .as_ref()
        .and_then(|c| c.invite_message_template.clone())
        .unwrap_or_default();
    // CustomMessage_AdminCreateUser may write the invitation (once, for every medium).
    let request = json!({
        "userAttributes": triggers::user_attributes(user),
        "codeParameter": "{####}",
        "usernameParameter": "{username}",
        "linkParameter": "{##Click Here##}",
    });
    let event = Event {
        trigger: Trigger::CustomMessage,
        source: "CustomMessage_AdminCreateUser",
        user_name: &user.username,
        client_id: None,
        request: triggers::with_client_metadata(request, client_metadata),
    };
    let custom = triggers::run(ctx, pool, event).await?.unwrap_or_default();
    // An invitation without the temporary password could never be used: the template's stands.
    let text = |key: &str| {
        let value = custom.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
        value.filter(|v| key == "emailSubject" || v.contains("{####}"))
    };
    for medium in mediums {
        let (attribute, subject, body) = match medium {
            DeliveryMediumType::Email => (
                "email",
                Some(template.email_subject.clone().unwrap_or_else(|| "Your temporary password".into())),
                template
                    .email_message
                    .clone()
                    .unwrap_or_else(|| "Your username is {username} and temporary password is {####}.".into()),
            ),
            DeliveryMediumType::Sms => (
                "phone_number",
                None,
                template
                    .sms_message
                    .clone()
                    .unwrap_or_else(|| "Your username is {username} and temporary password is {####}.".into()),
            ),
        };
        let Some(destination) = user.attribute(attribute) else {
            continue;
        };
        let (subject, body) = match medium {
            DeliveryMediumType::Email => (text("emailSubject").or(subject), text("emailMessage").unwrap_or(body)),
            DeliveryMediumType::Sms => (subject, text("smsMessage").unwrap_or(body)),
        };
        ctx.delivery
            .send(Message {
                pool_id: pool.id.clone(),
                username: user.username.clone(),
                purpose: "AdminCreateUser",
                medium: *medium,
                destination: destination.to_string(),
                subject,
                body: body.replace("{username}", display_username).replace("{####}", password),
                code: Some(password.to_string()),
                from: pool.email_from(),
                reply_to: pool.email_reply_to(),
            })
            .await?;
    }
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
pub(super) async fn admin_create_user(ctx: &Ctx, req: AdminCreateUserRequest) -> ApiResult<AdminCreateUserResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let policy = pool.password_policy();
    let password = match &req.temporary_password {
        Some(p) => {
            password_policy::check(&policy, p, Wording::DidNotConform)?;
            p.as_str().to_string()
        }
        None => temporary_password(&policy),
    };
    let mediums = req.desired_delivery_mediums.clone().unwrap_or_else(|| vec![DeliveryMediumType::Sms]);
    if req.message_action == Some(MessageActionType::Resend) {
        let user = existing_user(ctx, &pool, &req.username).await?;
        if user.status != UserStatusType::ForceChangePassword.as_str() {
            return Err(api_error!(
                UnsupportedUserStateException,
                "Resend not possible. {} status is not FORCE_CHANGE_PASSWORD",
                user.username
            ));
        }
        let (record, _) =
            password_record(ctx, &pool, &user.username, &password, user.password_hash.iter().cloned().collect())
                .await?;
        ctx.store.set_password(&pool.id, &user.sub, &record, None, ctx.clock.now_ms()).await?;
        send_invitation(ctx, &pool, &user, &req.username, &password, &mediums, req.client_metadata.as_ref()).await?;
        return Ok(AdminCreateUserResponse { user: Some(user_type(&user, None)) });
    }
    let given = req.user_attributes.clone().unwrap_or_default();
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    check_writable(&schema, &given, true)?;
    let (sub, internal, attributes) = new_identity(&pool, &req.username, &given)?;
    check_required(&schema, &attributes)?;
    // PreSignUp_AdminCreateUser may refuse the user; its answer's flags do not apply here.
    // https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html
    let mut request = json!({"userAttributes": triggers::attribute_map(&given)});
    if let Some(data) = &req.validation_data {
        request["validationData"] = triggers::attribute_map(data);
    }
    let event = Event {
        trigger: Trigger::PreSignUp,
        source: "PreSignUp_AdminCreateUser",
        user_name: &internal,
        client_id: None,
        request: triggers::with_client_metadata(request, req.client_metadata.as_ref()),
    };
    triggers::run(ctx, &pool, event).await?;
    let (record, _) = password_record(ctx, &pool, &internal, &password, Vec::new()).await?;
    let new = NewUser {
        pool_id: pool.id.clone(),
        sub: sub.clone(),
        username: internal.clone(),
        username_key: pool.key(&internal),
        status: UserStatusType::ForceChangePassword.as_str().into(),
        enabled: true,
        created_at: ctx.clock.now_ms(),
        password: Some(record),
        aliases: aliases(&pool, &attributes).into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect(),
        attributes,
        force_aliases: req.force_alias_creation == Some(true),
    };
    ctx.store.create_user(&new).await.map_err(|e| conflict(&pool, e, "User account already exists"))?;
    let user =
        ctx.store.find_user_by_sub(&pool.id, &sub).await?.ok_or_else(|| ApiError::internal("created user vanished"))?;
    if req.message_action != Some(MessageActionType::Suppress) {
        send_invitation(ctx, &pool, &user, &req.username, &password, &mediums, req.client_metadata.as_ref()).await?;
    }
    Ok(AdminCreateUserResponse { user: Some(user_type(&user, None)) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html
pub(super) async fn admin_get_user(ctx: &Ctx, req: AdminGetUserRequest) -> ApiResult<AdminGetUserResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
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
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.delete_user(&pool.id, &user.sub).await?;
    Ok(())
}

/// The code slot of an email or phone number verification.
pub(crate) fn verification_slot(attribute: &str) -> &'static str {
    if attribute == "email" { "Verify:email" } else { "Verify:phone_number" }
}

/// Applies attribute changes and recomputes the user's aliases. A changed email or phone number
/// is unverified unless the same request verifies it, and a code sent for its old value is void.
pub(crate) async fn change_attributes(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> ApiResult<()> {
    let mut set = set;
    for (attribute, flag) in [("email", "email_verified"), ("phone_number", "phone_number_verified")] {
        let changed = set.iter().any(|(n, v)| n == attribute && user.attribute(attribute) != Some(v.as_str()));
        if changed && !set.iter().any(|(n, _)| n == flag) {
            set.push((flag.to_string(), "false".to_string()));
        }
    }
    let mut after: Vec<(String, String)> =
        user.attributes.iter().filter(|(n, _)| !remove.contains(n)).cloned().collect();
    for (n, v) in &set {
        after.retain(|(k, _)| k != n);
        after.push((n.clone(), v.clone()));
    }
    let aliases = aliases(pool, &after);
    ctx.store
        .update_user_attributes(&pool.id, &user.sub, &set, &remove, &aliases, ctx.clock.now_ms())
        .await
        .map_err(|e| conflict(pool, e, "User account already exists"))?;
    for attribute in ["email", "phone_number"] {
        let changed = set.iter().any(|(n, v)| n == attribute && user.attribute(attribute) != Some(v.as_str()));
        if changed || remove.iter().any(|n| n == attribute) {
            ctx.store.delete_code(&pool.id, &user.sub, verification_slot(attribute)).await?;
        }
    }
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUpdateUserAttributes.html
pub(super) async fn admin_update_user_attributes(
    ctx: &Ctx,
    req: AdminUpdateUserAttributesRequest,
) -> ApiResult<AdminUpdateUserAttributesResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
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
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    check_deletable(&pool, &req.user_attribute_names)?;
    change_attributes(ctx, &pool, &user, Vec::new(), req.user_attribute_names.clone()).await?;
    Ok(AdminDeleteUserAttributesResponse {})
}

/// Only optional, mutable attributes of the schema can be deleted.
pub(crate) fn check_deletable(pool: &Pool, names: &[String]) -> ApiResult<()> {
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

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminSetUserPassword.html
pub(super) async fn admin_set_user_password(
    ctx: &Ctx,
    req: AdminSetUserPasswordRequest,
) -> ApiResult<AdminSetUserPasswordResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
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
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.set_user_enabled(&pool.id, &user.sub, true, ctx.clock.now_ms()).await?;
    Ok(AdminEnableUserResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDisableUser.html
pub(super) async fn admin_disable_user(ctx: &Ctx, req: AdminDisableUserRequest) -> ApiResult<AdminDisableUserResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    ctx.store.set_user_enabled(&pool.id, &user.sub, false, ctx.clock.now_ms()).await?;
    Ok(AdminDisableUserResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminConfirmSignUp.html
pub(super) async fn admin_confirm_sign_up(
    ctx: &Ctx,
    req: AdminConfirmSignUpRequest,
) -> ApiResult<AdminConfirmSignUpResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    if user.status != UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(NotAuthorizedException, "User cannot be confirmed. Current status is {}", user.status));
    }
    ctx.store.set_user_status(&pool.id, &user.sub, UserStatusType::Confirmed.as_str(), ctx.clock.now_ms()).await?;
    let caller = crate::triggers::Caller { client_id: None, client_metadata: req.client_metadata.as_ref() };
    super::post_confirmation(ctx, &pool, &user.sub, "PostConfirmation_ConfirmSignUp", caller).await?;
    Ok(AdminConfirmSignUpResponse {})
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
pub(super) async fn list_users(ctx: &Ctx, req: ListUsersRequest) -> ApiResult<ListUsersResponse> {
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
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
            let p = temporary_password(&strict);
            assert_eq!(first_violation(&strict, &p), None, "{p}");
            assert!(p.len() >= 20);
        }
    }
}
