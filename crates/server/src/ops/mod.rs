//! Operation dispatch: one line per implemented operation. Each handler is a plain
//! `async fn(&Ctx, <Op>Request) -> Result<<Op>Response, ApiError>` next to its AWS reference link.

mod account;
mod auth;
mod clients;
mod groups;
mod recovery;
mod signup;
mod user_pools;
mod users_admin;

use crate::app::Ctx;
use crate::delivery::Message;
use crate::domain::ids::pool_name_of;
use crate::domain::pools::Pool;
use crate::domain::{codes, password_policy};
use crate::error::{ApiError, ApiResult};
use crate::hashing::PasswordHasher;
use crate::store::{PasswordRecord, StoredCode, UserRow};
use crate::triggers::{self, Caller, Event, Trigger};
use crate::{api_error, srp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use userpool_model::Operation;
use userpool_model::types::{CodeDeliveryDetailsType, DeliveryMediumType, UserPoolClientType};

/// What an operation may need to know about the HTTP request it came in.
#[derive(Clone, Default)]
pub struct Origin {
    /// The base of token issuers: configured, or the URL the request was sent to.
    pub issuer_base: String,
    /// A sign-in's ClientMetadata, for the triggers Cognito hands it to: InitiateAuth's reaches
    /// PreAuthentication and UserMigration as `validationData`, RespondToAuthChallenge's reaches
    /// PostAuthentication and PreTokenGeneration as `clientMetadata`.
    /// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    pub validation_data: Option<BTreeMap<String, String>>,
    pub client_metadata: Option<BTreeMap<String, String>>,
}

/// Runs a validated request. Operations not implemented yet answer `NotImplementedException`.
pub async fn dispatch(ctx: &Ctx, operation: Operation, input: Value, origin: &Origin) -> ApiResult<Value> {
    use Operation as O;
    match operation {
        O::InitiateAuth => run_at(ctx, origin, input, auth::initiate_auth).await,
        O::AdminInitiateAuth => run_at(ctx, origin, input, auth::admin_initiate_auth).await,
        O::RespondToAuthChallenge => run_at(ctx, origin, input, auth::respond_to_auth_challenge).await,
        O::AdminRespondToAuthChallenge => run_at(ctx, origin, input, auth::admin_respond_to_auth_challenge).await,
        O::CreateUserPool => run(ctx, input, user_pools::create_user_pool).await,
        O::DescribeUserPool => run(ctx, input, user_pools::describe_user_pool).await,
        O::UpdateUserPool => run(ctx, input, user_pools::update_user_pool).await,
        O::DeleteUserPool => run(ctx, input, user_pools::delete_user_pool).await,
        O::ListUserPools => run(ctx, input, user_pools::list_user_pools).await,
        O::AddCustomAttributes => run(ctx, input, user_pools::add_custom_attributes).await,
        O::CreateUserPoolClient => run(ctx, input, clients::create_user_pool_client).await,
        O::DescribeUserPoolClient => run(ctx, input, clients::describe_user_pool_client).await,
        O::UpdateUserPoolClient => run(ctx, input, clients::update_user_pool_client).await,
        O::DeleteUserPoolClient => run(ctx, input, clients::delete_user_pool_client).await,
        O::ListUserPoolClients => run(ctx, input, clients::list_user_pool_clients).await,
        O::AdminCreateUser => run(ctx, input, users_admin::admin_create_user).await,
        O::AdminGetUser => run(ctx, input, users_admin::admin_get_user).await,
        O::AdminDeleteUser => run(ctx, input, users_admin::admin_delete_user).await,
        O::AdminUpdateUserAttributes => run(ctx, input, users_admin::admin_update_user_attributes).await,
        O::AdminDeleteUserAttributes => run(ctx, input, users_admin::admin_delete_user_attributes).await,
        O::AdminSetUserPassword => run(ctx, input, users_admin::admin_set_user_password).await,
        O::AdminEnableUser => run(ctx, input, users_admin::admin_enable_user).await,
        O::AdminDisableUser => run(ctx, input, users_admin::admin_disable_user).await,
        O::AdminConfirmSignUp => run(ctx, input, users_admin::admin_confirm_sign_up).await,
        O::ListUsers => run(ctx, input, users_admin::list_users).await,
        O::SignUp => run(ctx, input, signup::sign_up).await,
        O::ConfirmSignUp => run(ctx, input, signup::confirm_sign_up).await,
        O::ResendConfirmationCode => run(ctx, input, signup::resend_confirmation_code).await,
        O::ForgotPassword => run(ctx, input, recovery::forgot_password).await,
        O::GetUser => run(ctx, input, account::get_user).await,
        O::UpdateUserAttributes => run(ctx, input, account::update_user_attributes).await,
        O::DeleteUserAttributes => run(ctx, input, account::delete_user_attributes).await,
        O::GetUserAttributeVerificationCode => run(ctx, input, account::get_user_attribute_verification_code).await,
        O::VerifyUserAttribute => run(ctx, input, account::verify_user_attribute).await,
        O::DeleteUser => run(ctx, input, account::delete_user).await,
        O::CreateGroup => run(ctx, input, groups::create_group).await,
        O::GetGroup => run(ctx, input, groups::get_group).await,
        O::UpdateGroup => run(ctx, input, groups::update_group).await,
        O::DeleteGroup => run(ctx, input, groups::delete_group).await,
        O::ListGroups => run(ctx, input, groups::list_groups).await,
        O::AdminAddUserToGroup => run(ctx, input, groups::admin_add_user_to_group).await,
        O::AdminRemoveUserFromGroup => run(ctx, input, groups::admin_remove_user_from_group).await,
        O::AdminListGroupsForUser => run(ctx, input, groups::admin_list_groups_for_user).await,
        O::ListUsersInGroup => run(ctx, input, groups::list_users_in_group).await,
        O::ChangePassword => run(ctx, input, account::change_password).await,
        O::GlobalSignOut => run(ctx, input, account::global_sign_out).await,
        O::AdminUserGlobalSignOut => run(ctx, input, account::admin_user_global_sign_out).await,
        O::RevokeToken => run(ctx, input, account::revoke_token).await,
        O::GetTokensFromRefreshToken => run_at(ctx, origin, input, auth::get_tokens_from_refresh_token).await,
        O::AdminResetUserPassword => run(ctx, input, recovery::admin_reset_user_password).await,
        O::ConfirmForgotPassword => run(ctx, input, recovery::confirm_forgot_password).await,
        other => Err(api_error!(
            NotImplementedException,
            "userpool does not implement {} yet; the request was valid. See the README for the implemented operations.",
            other.name()
        )),
    }
}

fn decode<Req: DeserializeOwned>(input: Value) -> ApiResult<Req> {
    // The validator has checked types and required members, so this only fails on a gap
    // between the validator and the generated types: a SerializationException, not a crash.
    serde_json::from_value(input).map_err(|e| api_error!(SerializationException, "Invalid request body: {e}"))
}

fn encode<Resp: Serialize>(response: Resp) -> ApiResult<Value> {
    // Operations the model gives no output answer `{}` (handlers return `()`).
    match serde_json::to_value(response).map_err(ApiError::internal)? {
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        output => Ok(output),
    }
}

async fn run<Req, Resp>(
    ctx: &Ctx,
    input: Value,
    handler: impl AsyncFnOnce(&Ctx, Req) -> ApiResult<Resp>,
) -> ApiResult<Value>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    encode(handler(ctx, decode(input)?).await?)
}

/// For the operations that need the request's origin (those that issue tokens).
async fn run_at<Req, Resp>(
    ctx: &Ctx,
    origin: &Origin,
    input: Value,
    handler: impl AsyncFnOnce(&Ctx, &Origin, Req) -> ApiResult<Resp>,
) -> ApiResult<Value>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    encode(handler(ctx, origin, decode(input)?).await?)
}

// ---- helpers shared by several operations ----

/// An app client of any pool, for the public operations that name only a client id.
pub(crate) async fn load_client(ctx: &Ctx, client_id: &str) -> ApiResult<(Pool, UserPoolClientType)> {
    let (pool_id, row) = ctx
        .store
        .find_client(None, client_id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool client {client_id} does not exist."))?;
    let pool = Pool::load(ctx, &pool_id).await?;
    let client: UserPoolClientType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    Ok((pool, client))
}

/// An app client of the given pool, for the admin operations that name both (the pool's own
/// error first, then the client's).
pub(crate) async fn load_pool_client(
    ctx: &Ctx,
    pool_id: &str,
    client_id: &str,
) -> ApiResult<(Pool, UserPoolClientType)> {
    let pool = Pool::load(ctx, pool_id).await?;
    let (_, row) = ctx
        .store
        .find_client(Some(pool_id), client_id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool client {client_id} does not exist."))?;
    let client: UserPoolClientType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    Ok((pool, client))
}

/// `SecretHash = Base64(HMAC-SHA256(client secret, username + client id))`; required when the
/// client has a secret, ignored otherwise (spec §5).
/// https://docs.aws.amazon.com/cognito/latest/developerguide/signing-up-users-in-your-app.html#cognito-user-pools-computing-secret-hash
pub(crate) fn check_secret_hash(client: &UserPoolClientType, usernames: &[&str], given: Option<&str>) -> ApiResult<()> {
    let Some(secret) = client.client_secret.as_deref() else {
        return Ok(());
    };
    let client_id = client.client_id.as_deref().map_or("", String::as_str);
    let fail = || api_error!(NotAuthorizedException, "Unable to verify secret hash for client {client_id}");
    let given = given.ok_or_else(fail)?;
    let ok = usernames.iter().any(|username| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(username.as_bytes());
        mac.update(client_id.as_bytes());
        bool::from(STANDARD.encode(mac.finalize().into_bytes()).as_bytes().ct_eq(given.as_bytes()))
    });
    if ok { Ok(()) } else { Err(fail()) }
}

/// Hashes a new password and derives the SRP salt and verifier USER_SRP_AUTH needs, in one
/// blocking task. `earlier` holds the user's current hash first, then older ones: the new hash
/// reuses the current one's salt, and the answer says whether the password equals any of them
/// (one argon2 computation however long the history; README, "Password history").
pub(crate) async fn password_record(
    ctx: &Ctx,
    pool: &Pool,
    user_id_for_srp: &str,
    password: &str,
    earlier: Vec<String>,
) -> ApiResult<(PasswordRecord, bool)> {
    let params = ctx.hasher.params();
    let (pool_name, user_id, password) =
        (pool_name_of(&pool.id).to_string(), user_id_for_srp.to_string(), password.to_string());
    ctx.hasher
        .run(move || {
            let hash = match earlier.first().and_then(|h| PasswordHasher::salt_of(h)) {
                Some(salt) => PasswordHasher::hash_with_salt(params, &password, &salt)?,
                None => PasswordHasher::hash_blocking(params, &password)?,
            };
            let reused = earlier.iter().any(|h| bool::from(h.as_bytes().ct_eq(hash.as_bytes())));
            let srp_salt: [u8; 16] = rand::random();
            let verifier = srp::verifier(&pool_name, &user_id, &password, &srp_salt);
            Ok((PasswordRecord { hash, srp_salt: hex::encode(srp_salt), srp_verifier: hex::encode(verifier) }, reused))
        })
        .await?
}

/// The hashes a new password must differ from: the current one and, with PasswordHistorySize n,
/// the n − 1 before it. The current hash comes first (its salt is reused).
pub(crate) async fn earlier_hashes(ctx: &Ctx, pool: &Pool, user: &UserRow) -> ApiResult<Vec<String>> {
    let mut earlier: Vec<String> = user.password_hash.iter().cloned().collect();
    let size = i64::from(pool.password_policy().password_history_size.unwrap_or(0));
    if size > 1 {
        earlier.extend(ctx.store.password_history(&pool.id, &user.sub, size - 1).await?);
    }
    Ok(earlier)
}

/// Checks a new password against the pool's policy and history and hashes it: the one path for
/// every operation that replaces a user's password.
pub(crate) async fn new_password_for(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    password: &str,
    wording: password_policy::Wording,
) -> ApiResult<PasswordRecord> {
    password_policy::check(&pool.password_policy(), password, wording)?;
    let earlier = earlier_hashes(ctx, pool, user).await?;
    let (record, reused) = password_record(ctx, pool, &user.username, password, earlier).await?;
    if reused && enforces_history(pool) {
        return Err(password_reused());
    }
    Ok(record)
}

/// Cognito does not publish this message (spec §14); this is userpool's wording.
pub(crate) fn password_reused() -> ApiError {
    api_error!(
        PasswordHistoryPolicyViolationException,
        "The password has been used recently; choose one that is not among the last passwords of this user."
    )
}

/// PasswordHistorySize ≥ 1: a new password may equal none of the last n (the current included).
pub(crate) fn enforces_history(pool: &Pool) -> bool {
    pool.password_policy().password_history_size.unwrap_or(0) > 0
}

pub(crate) use groups::group_names;

pub(crate) fn code_mismatch() -> ApiError {
    api_error!(CodeMismatchException, "Invalid verification code provided, please try again.")
}

pub(crate) fn code_expired() -> ApiError {
    api_error!(ExpiredCodeException, "Invalid code provided, please request a code again.")
}

pub(crate) fn attempts_exceeded() -> ApiError {
    api_error!(LimitExceededException, "Attempt limit exceeded, please try after some time.")
}

pub(crate) const HOUR_MS: i64 = 3_600_000;

/// Checks a code the user typed against the live code in `slot`. With no live code there is
/// nothing to guess and nothing is counted (otherwise anyone could spend a user's budget before
/// a code exists). Every guess at a live code takes a unit of the hourly `budget` under
/// `counter` before it is compared, so concurrent guesses never get more than the budget
/// compared. The caller consumes the returned code.
pub(crate) async fn check_code(
    ctx: &Ctx,
    pool_id: &str,
    sub: &str,
    slot: &str,
    given: &str,
    (counter, budget): (&str, i64),
) -> ApiResult<StoredCode> {
    let now = ctx.clock.now_ms();
    let stored =
        ctx.store.find_code(pool_id, sub, slot).await?.filter(|c| c.expires_at > now).ok_or_else(code_expired)?;
    if ctx.store.bump_counter(pool_id, sub, counter, now, HOUR_MS).await? > budget {
        return Err(attempts_exceeded());
    }
    if !codes::matches(&ctx.code_key, pool_id, sub, given, &stored.code_hash) {
        return Err(code_mismatch());
    }
    Ok(stored)
}

/// PreventUserExistenceErrors ENABLED: unknown and disabled users get the answers real ones get.
pub(crate) fn hides_users(client: &UserPoolClientType) -> bool {
    client.prevent_user_existence_errors == Some(userpool_model::types::PreventUserExistenceErrorTypes::Enabled)
}

/// Counts an event for a name that is no user's in the pool (PreventUserExistenceErrors
/// ENABLED), so that it meets the limits a real user would; returns the count in the window.
pub(crate) async fn bump_unknown_name(
    ctx: &Ctx,
    pool: &Pool,
    name: &str,
    counter: &str,
    window_ms: i64,
) -> ApiResult<i64> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.code_key).expect("HMAC takes keys of any length");
    for part in ["unknown-name", pool.id.as_str(), pool.key(name).as_str()] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    let key = hex::encode(mac.finalize().into_bytes());
    Ok(ctx.store.bump_name_counter(&pool.id, &key, counter, ctx.clock.now_ms(), window_ms).await?)
}

/// A one-time code to generate, store (as an HMAC) and send.
pub(crate) struct CodeToSend<'a> {
    /// The user's code slot: a newer code in the same slot voids the older one.
    pub slot: &'static str,
    /// The operation sending it (the message's Purpose).
    pub purpose: &'static str,
    pub ttl_ms: i64,
    pub attribute: &'static str,
    pub medium: DeliveryMediumType,
    pub destination: String,
    /// The body when the pool's VerificationMessageTemplate has none.
    pub default_body: &'static str,
    /// An attribute value that takes effect only once this code is confirmed.
    pub pending_value: Option<String>,
    /// For the CustomMessage trigger.
    pub caller: Caller<'a>,
}

/// Runs PostConfirmation with the user as they are after the confirmation or the reset.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html
pub(crate) async fn post_confirmation(
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
    let request = json!({"userAttributes": triggers::user_attributes(&user)});
    let event = Event {
        trigger: Trigger::PostConfirmation,
        source,
        user_name: &user.username,
        client_id: caller.client_id,
        request: triggers::with_client_metadata(request, caller.client_metadata),
    };
    triggers::run(ctx, pool, event).await?;
    Ok(())
}

/// A user the pool does not know, asked of its UserMigration function: the user it created, or
/// None without a function. With `password` (sign-in) the user keeps it and is CONFIRMED unless
/// the function says RESET_REQUIRED; without (ForgotPassword) the user must reset.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html
pub(crate) async fn migrate_user(
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
    let mut request = json!({"validationData": validation_data.cloned().unwrap_or_default()});
    if let Some(p) = password {
        request["password"] = json!(p);
    }
    let source = if password.is_some() { "UserMigration_Authentication" } else { "UserMigration_ForgotPassword" };
    let event = Event {
        trigger: Trigger::UserMigration,
        source,
        user_name: username,
        client_id: caller.client_id,
        request: triggers::with_client_metadata(request, caller.client_metadata),
    };
    let Some(response) = triggers::run(ctx, pool, event).await? else { return Ok(None) };
    let invalid = || api_error!(InvalidLambdaResponseException, "Invalid lambda function output : Invalid JSON");
    let Some(Value::Object(given)) = response.get("userAttributes") else {
        return Err(invalid());
    };
    // Only string values, checked against the schema as AdminCreateUser's are.
    let given: Vec<userpool_model::types::AttributeType> = given
        .iter()
        .filter(|(name, _)| name.as_str() != "sub" && !name.starts_with("cognito:"))
        .filter_map(|(name, value)| {
            let value = value.as_str()?;
            Some(userpool_model::types::AttributeType { name: name.clone(), value: Some(value.to_string().into()) })
        })
        .collect();
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    crate::domain::attributes::check_writable(&schema, &given, true)?;
    let (sub, internal, attributes) = users_admin::new_identity(pool, username, &given)?;
    crate::domain::attributes::check_required(&schema, &attributes)?;
    let reset = password.is_none() || response.get("finalUserStatus").and_then(Value::as_str) == Some("RESET_REQUIRED");
    let status = if reset { "RESET_REQUIRED" } else { "CONFIRMED" };
    let record = match password {
        Some(p) => Some(password_record(ctx, pool, &internal, p, Vec::new()).await?.0),
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
        force_aliases: response.get("forceAliasCreation").and_then(Value::as_bool) == Some(true),
    };
    match ctx.store.create_user(&new).await {
        Ok(()) => {
            tracing::info!(trigger = "UserMigration", source, "user migrated");
            Ok(ctx.store.find_user_by_sub(&pool.id, &sub).await?)
        }
        // Two requests migrated the same user at once: the first one's user is the user.
        Err(crate::store::StoreError::Conflict(what)) if what == "username" => {
            Ok(crate::domain::users::find(ctx, pool, username).await?)
        }
        Err(e) => Err(users_admin::conflict(pool, e, "User account already exists")),
    }
}

/// The CustomMessage triggerSource of a message sent on behalf of an operation.
fn custom_message_source(purpose: &str) -> &'static str {
    match purpose {
        "SignUp" => "CustomMessage_SignUp",
        "ResendConfirmationCode" => "CustomMessage_ResendCode",
        "ForgotPassword" | "AdminResetUserPassword" => "CustomMessage_ForgotPassword",
        "UpdateUserAttributes" | "AdminUpdateUserAttributes" => "CustomMessage_UpdateUserAttribute",
        _ => "CustomMessage_VerifyUserAttribute",
    }
}

/// Generates, stores and sends a code with the pool's verification template (Cognito has no
/// separate reset template, spec §4.4); returns the masked CodeDeliveryDetails.
pub(crate) async fn deliver_code(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    c: CodeToSend<'_>,
) -> ApiResult<CodeDeliveryDetailsType> {
    let template = pool.config.verification_message_template.clone().unwrap_or_default();
    let (mut subject, mut body) = match c.medium {
        DeliveryMediumType::Email => (
            Some(template.email_subject.unwrap_or_else(|| "Your verification code".into())),
            template.email_message.unwrap_or_else(|| c.default_body.into()),
        ),
        DeliveryMediumType::Sms => (None, template.sms_message.unwrap_or_else(|| c.default_body.into())),
    };
    // CustomMessage runs before the code is stored: if it fails, the previous code stays valid.
    // https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-custom-message.html
    let request = json!({
        "userAttributes": triggers::user_attributes(user),
        "codeParameter": "{####}",
        "linkParameter": "{##Click Here##}",
        "usernameParameter": null,
    });
    let event = Event {
        trigger: Trigger::CustomMessage,
        source: custom_message_source(c.purpose),
        user_name: &user.username,
        client_id: c.caller.client_id,
        request: triggers::with_client_metadata(request, c.caller.client_metadata),
    };
    if let Some(response) = triggers::run(ctx, pool, event).await? {
        // A message without the code could never be answered: the template's stands.
        let text = |key: &str| {
            let value = response.get(key).and_then(Value::as_str).map(str::to_string);
            if key != "emailSubject" && value.as_deref().is_some_and(|v| !v.contains("{####}")) {
                tracing::warn!(trigger = "CustomMessage", key, "the custom message has no {{####}}: not used");
                return None;
            }
            value
        };
        match c.medium {
            DeliveryMediumType::Email => {
                body = text("emailMessage").unwrap_or(body);
                subject = text("emailSubject").or(subject);
            }
            DeliveryMediumType::Sms => body = text("smsMessage").unwrap_or(body),
        }
    }
    let code = codes::generate();
    let now = ctx.clock.now_ms();
    let digest = codes::digest(&ctx.code_key, &pool.id, &user.sub, &code);
    ctx.store.put_code(&pool.id, &user.sub, c.slot, &digest, now, now + c.ttl_ms, c.pending_value.as_deref()).await?;
    let masked = codes::mask_destination(c.attribute, &c.destination);
    ctx.delivery
        .send(Message {
            pool_id: pool.id.clone(),
            username: user.username.clone(),
            purpose: c.purpose,
            medium: c.medium,
            destination: c.destination,
            subject,
            body: body.replace("{####}", &code),
            code: Some(code),
            from: pool.email_from(),
            reply_to: pool.email_reply_to(),
        })
        .await?;
    Ok(CodeDeliveryDetailsType {
        destination: Some(masked),
        delivery_medium: Some(c.medium),
        attribute_name: Some(c.attribute.to_string()),
    })
}

/// The client secret itself, as RevokeToken and GetTokensFromRefreshToken take it (where other
/// operations take a SECRET_HASH), compared in constant time.
pub(crate) fn check_client_secret(client: &UserPoolClientType, given: Option<&str>) -> ApiResult<()> {
    if let Some(secret) = client.client_secret.as_deref() {
        if !bool::from(secret.as_bytes().ct_eq(given.unwrap_or_default().as_bytes())) {
            return Err(api_error!(NotAuthorizedException, "Client authentication failed."));
        }
    }
    Ok(())
}

/// Reads and writes `NextToken`/`PaginationToken`: the last key of the previous page, base64.
pub(crate) fn decode_token(token: Option<&str>) -> ApiResult<Option<String>> {
    token
        .map(|t| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| api_error!(InvalidParameterException, "Invalid pagination token"))
        })
        .transpose()
}

pub(crate) fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_matches_the_spec_vector() {
        let client = UserPoolClientType {
            client_id: Some("1example23456789".to_string().into()),
            client_secret: Some("secret123".to_string().into()),
            ..Default::default()
        };
        assert!(check_secret_hash(&client, &["alice"], Some("ZPWNNR8hNprrYD0cVewTv1CNnDuK6KgdJLAXQCHwsMQ=")).is_ok());
        let e = check_secret_hash(&client, &["bob"], Some("ZPWNNR8hNprrYD0cVewTv1CNnDuK6KgdJLAXQCHwsMQ=")).unwrap_err();
        assert_eq!(e.message(), "Unable to verify secret hash for client 1example23456789");
        assert!(check_secret_hash(&client, &["alice"], None).is_err());
        let no_secret = UserPoolClientType { client_secret: None, ..client };
        assert!(check_secret_hash(&no_secret, &["alice"], None).is_ok());
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode_token(Some(&encode_token("us-east-1_x"))).unwrap().as_deref(), Some("us-east-1_x"));
        assert!(decode_token(Some("!!")).is_err());
    }
}
