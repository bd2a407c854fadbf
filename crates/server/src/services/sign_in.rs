//! Sign-in flows: password sign-in (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH,
//! ADMIN_NO_SRP_AUTH), USER_SRP_AUTH and its PASSWORD_VERIFIER challenge, NEW_PASSWORD_REQUIRED,
//! and refresh tokens. Status gates and errors follow docs/sign-in-and-tokens.md and
//! docs/cognito-facts.md.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::ids::pool_name_of;
use crate::domain::password_policy::Wording;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::hashing::PasswordHasher;
use crate::services::Origin;
use crate::services::clients::{check_secret_hash, secret_hash_names};
use crate::services::existence::{bump_unknown_name, hides_users};
use crate::services::passwords::new_password_for;
use crate::services::tokens::{self, Issue, RefreshGrant};
use crate::services::users;
use crate::srp;
use crate::store::{RefreshTokenRow, UserRow};
use crate::triggers::{
    self, AuthenticationRequest, Caller, Invocation, PostAuthenticationRequest, PreAuthenticationRequest, Trigger,
};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use userpool_model::types::*;

/// Wrong passwords a user may enter within the window before `Password attempts exceeded`.
const SIGN_IN_FAILURES_ALLOWED: i64 = 5;
const SIGN_IN_WINDOW_MS: i64 = 15 * 60 * 1000;
const SIGN_IN_FAILURES: &str = "sign-in-failures";

fn incorrect() -> ApiError {
    api_error!(NotAuthorizedException, "Incorrect username or password.")
}

/// What a sign-in step answers: tokens, or a challenge with its session.
#[derive(Default)]
pub struct Outcome {
    pub challenge_name: Option<ChallengeNameType>,
    pub session: Option<String>,
    pub challenge_parameters: BTreeMap<String, String>,
    pub authentication_result: Option<AuthenticationResultType>,
}

/// The state a challenge session carries, signed with the server's code key.
#[derive(Serialize, Deserialize)]
struct SessionState {
    pool: String,
    sub: String,
    client: String,
    challenge: String,
    expires_at: i64,
}

/// HMAC-SHA256 under the server's key, domain-separated by `label`.
fn keyed(ctx: &Ctx, label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.code_key).expect("HMAC takes keys of any length");
    mac.update(label.as_bytes());
    for part in parts {
        mac.update(&[0]);
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn session_mac(ctx: &Ctx, payload: &str) -> Vec<u8> {
    keyed(ctx, "auth-session", &[payload.as_bytes()]).to_vec()
}

fn new_session(
    ctx: &Ctx,
    client: &UserPoolClientType,
    pool: &Pool,
    user: &UserRow,
    challenge: ChallengeNameType,
) -> String {
    let minutes = i64::from(client.auth_session_validity.unwrap_or(3));
    let state = SessionState {
        pool: pool.id.clone(),
        sub: user.sub.clone(),
        client: client.client_id.as_deref().cloned().unwrap_or_default(),
        challenge: challenge.as_str().into(),
        expires_at: ctx.clock.now_ms() + minutes * 60_000,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&state).unwrap_or_default());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(session_mac(ctx, &payload)))
}

fn read_session(
    ctx: &Ctx,
    session: Option<&str>,
    client_id: &str,
    challenge: ChallengeNameType,
) -> ApiResult<SessionState> {
    let invalid = || api_error!(NotAuthorizedException, "Invalid session for the user, session is expired.");
    let (payload, mac) = session.and_then(|s| s.split_once('.')).ok_or_else(invalid)?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| invalid())?;
    if !bool::from(session_mac(ctx, payload).ct_eq(&mac)) {
        return Err(invalid());
    }
    let state: SessionState =
        URL_SAFE_NO_PAD.decode(payload).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(invalid)?;
    if state.client != client_id || state.challenge != challenge.as_str() || state.expires_at <= ctx.clock.now_ms() {
        return Err(invalid());
    }
    Ok(state)
}

/// Explicit auth flows; a client created without them allows SRP, refresh and custom auth.
pub fn allows(client: &UserPoolClientType, flows: &[ExplicitAuthFlowsType]) -> bool {
    client.explicit_auth_flows.as_ref().is_some_and(|allowed| allowed.iter().any(|f| flows.contains(f)))
}

fn parameter<'a>(params: &'a BTreeMap<String, String>, name: &str) -> ApiResult<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| api_error!(InvalidParameterException, "Missing required parameter {name}"))
}

/// SECRET_HASH inside AuthParameters or ChallengeResponses (docs/cognito-facts.md#exact-error-strings: a different message when
/// it is missing than the top-level SecretHash has).
fn check_secret_hash_parameter(
    client: &UserPoolClientType,
    params: &BTreeMap<String, String>,
    names: &[&str],
) -> ApiResult<()> {
    if client.client_secret.is_some() && !params.contains_key("SECRET_HASH") {
        let id = client.client_id.as_deref().map_or("", String::as_str);
        return Err(api_error!(
            NotAuthorizedException,
            "Client {id} is configured with secret but SECRET_HASH was not received"
        ));
    }
    check_secret_hash(client, names, params.get("SECRET_HASH").map(String::as_str))
}

pub async fn password_sign_in(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    params: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    let username = parameter(params, "USERNAME")?;
    let password = parameter(params, "PASSWORD")?;
    let user = users::find(ctx, pool, username).await?;
    check_secret_hash_parameter(client, params, &secret_hash_names(username, user.as_ref()))?;
    // An unknown user may be one the pool's UserMigration function knows (after the client has
    // proven itself with its SECRET_HASH).
    let user = match user {
        Some(user) => Some(user),
        None if triggers::configured(pool, Trigger::UserMigration) => {
            // Each call is a password tried against the old store: the sign-in budget applies.
            let tries = bump_unknown_name(ctx, pool, username, "migration-attempts", SIGN_IN_WINDOW_MS).await?;
            if tries > SIGN_IN_FAILURES_ALLOWED {
                return Err(api_error!(NotAuthorizedException, "Password attempts exceeded"));
            }
            let caller = Caller { client_id: client.client_id.as_deref().map(String::as_str), client_metadata: None };
            crate::services::triggers::migrate_user(
                ctx,
                pool,
                username,
                Some(password),
                origin.validation_data.as_ref(),
                caller,
            )
            .await?
        }
        None => None,
    };
    let hide = hides_users(client);
    let Some(user) = user else {
        if hide {
            // Spend what a wrong password costs, so timing does not tell.
            let params = ctx.hasher.params();
            let password = password.to_string();
            ctx.hasher.run(move || PasswordHasher::hash_blocking(params, &password)).await??;
            let failures = bump_unknown_name(ctx, pool, username, SIGN_IN_FAILURES, SIGN_IN_WINDOW_MS).await?;
            if failures > SIGN_IN_FAILURES_ALLOWED {
                return Err(api_error!(NotAuthorizedException, "Password attempts exceeded"));
            }
            return Err(incorrect());
        }
        return Err(api_error!(UserNotFoundException, "User does not exist."));
    };
    if !user.enabled {
        return Err(users::user_disabled());
    }
    if user.status == UserStatusType::ResetRequired.as_str() {
        return Err(api_error!(PasswordResetRequiredException, "Password reset required for the user"));
    }
    let no_data = BTreeMap::new();
    authentication_trigger(ctx, pool, client, &user, &pre_authentication(origin, &user, &no_data)).await?;
    // Each attempt takes a unit of the failure budget before the password is checked, so
    // concurrent guesses cannot get past it; a success gives it back.
    let now = ctx.clock.now_ms();
    let attempts = ctx.store.bump_counter(&pool.id, &user.sub, SIGN_IN_FAILURES, now, SIGN_IN_WINDOW_MS).await?;
    if attempts > SIGN_IN_FAILURES_ALLOWED {
        return Err(api_error!(NotAuthorizedException, "Password attempts exceeded"));
    }
    let Some(stored) = user.password_hash.as_deref() else {
        return Err(incorrect());
    };
    if !ctx.hasher.verify(password, stored).await? {
        return Err(incorrect());
    }
    ctx.store.reset_counter(&pool.id, &user.sub, SIGN_IN_FAILURES).await?;
    if user.status == UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(UserNotConfirmedException, "User is not confirmed."));
    }
    if user.status == UserStatusType::ForceChangePassword.as_str() {
        // 0 means the default of 7 days (PasswordPolicyType).
        let days = i64::from(pool.password_policy().temporary_password_validity_days.filter(|d| *d > 0).unwrap_or(7));
        if user.password_set_at.is_some_and(|set| set + days * 86_400_000 < now) {
            return Err(api_error!(
                NotAuthorizedException,
                "Temporary password has expired and must be reset by an administrator."
            ));
        }
        return Ok(new_password_challenge(ctx, pool, client, &user));
    }
    signed_in(ctx, origin, pool, client, &user, "TokenGeneration_Authentication").await
}

/// Runs PreAuthentication or PostAuthentication for a user (`<Trigger>_Authentication`).
async fn authentication_trigger(
    ctx: &Ctx,
    pool: &Pool,
    client: &UserPoolClientType,
    user: &UserRow,
    request: &impl AuthenticationRequest,
) -> ApiResult<()> {
    let source = match request.trigger() {
        Trigger::PreAuthentication => "PreAuthentication_Authentication",
        _ => "PostAuthentication_Authentication",
    };
    let client_id = client.client_id.as_deref().map(String::as_str);
    ctx.triggers.authentication(pool, Invocation { source, user_name: &user.username, client_id }, request).await
}

/// PreAuthentication's request: InitiateAuth's ClientMetadata is its `validationData`.
fn pre_authentication<'a>(
    origin: &'a Origin,
    user: &UserRow,
    no_data: &'a BTreeMap<String, String>,
) -> PreAuthenticationRequest<'a> {
    PreAuthenticationRequest {
        user_attributes: triggers::user_attributes(user),
        validation_data: origin.validation_data.as_ref().unwrap_or(no_data),
    }
}

fn new_password_challenge(ctx: &Ctx, pool: &Pool, client: &UserPoolClientType, user: &UserRow) -> Outcome {
    let attributes: serde_json::Map<String, serde_json::Value> = user
        .attributes
        .iter()
        .filter(|(n, _)| n != "sub" && crate::services::clients::can_read(client, n))
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let mut challenge_parameters = BTreeMap::new();
    challenge_parameters.insert("USER_ID_FOR_SRP".to_string(), user.username.clone());
    challenge_parameters.insert("requiredAttributes".to_string(), "[]".to_string());
    challenge_parameters.insert("userAttributes".to_string(), serde_json::Value::Object(attributes).to_string());
    Outcome {
        challenge_name: Some(ChallengeNameType::NewPasswordRequired),
        session: Some(new_session(ctx, client, pool, user, ChallengeNameType::NewPasswordRequired)),
        challenge_parameters,
        authentication_result: None,
    }
}

/// A successful sign-in: the PostAuthentication trigger, then tokens (with PreTokenGeneration's
/// `source`).
async fn signed_in(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    user: &UserRow,
    source: &'static str,
) -> ApiResult<Outcome> {
    let request = PostAuthenticationRequest {
        user_attributes: triggers::user_attributes(user),
        new_device_used: false,
        client_metadata: origin.client_metadata.as_ref(),
    };
    authentication_trigger(ctx, pool, client, user, &request).await?;
    let result = tokens::issue(
        ctx,
        Issue {
            issuer: tokens::issuer(&origin.issuer_base, &pool.id),
            pool,
            source,
            client_metadata: origin.client_metadata.as_ref(),
            client,
            user,
            auth_time: ctx.clock.now_ms() / 1000,
            refresh_token: RefreshGrant::NewFamily,
        },
    )
    .await?;
    Ok(Outcome { authentication_result: Some(result), ..Outcome::default() })
}

async fn new_password(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    session: Option<&str>,
    responses: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    let client_id = client.client_id.as_deref().map_or("", String::as_str);
    let state = read_session(ctx, session, client_id, ChallengeNameType::NewPasswordRequired)?;
    let new = parameter(responses, "NEW_PASSWORD")?;
    let user = ctx.store.find_user_by_sub(&pool.id, &state.sub).await?.ok_or_else(incorrect)?;
    let username = responses.get("USERNAME").map_or(user.username.as_str(), String::as_str);
    check_secret_hash_parameter(client, responses, &[username, &user.username])?;
    if state.pool != pool.id || user.status != UserStatusType::ForceChangePassword.as_str() {
        return Err(api_error!(NotAuthorizedException, "Invalid session for the user, session is expired."));
    }
    if !user.enabled {
        return Err(users::user_disabled());
    }
    let record = new_password_for(ctx, pool, &user, new, Wording::DoesNotConform).await?;
    // Only from FORCE_CHANGE_PASSWORD: of two answers to one challenge, one sets the password.
    let changed = ctx
        .store
        .replace_password(
            &pool.id,
            &user.sub,
            &record,
            Some(UserStatusType::ForceChangePassword.as_str()),
            Some(UserStatusType::Confirmed.as_str()),
            user.password_hash.as_deref(),
            ctx.clock.now_ms(),
        )
        .await?;
    if !changed {
        return Err(api_error!(NotAuthorizedException, "Invalid session for the user, session is expired."));
    }
    let user = ctx.store.find_user_by_sub(&pool.id, &user.sub).await?.ok_or_else(incorrect)?;
    signed_in(ctx, origin, pool, client, &user, "TokenGeneration_NewPasswordChallenge").await
}

// ---- USER_SRP_AUTH (docs/cognito-facts.md#srp-constants) ----

/// What a SECRET_BLOCK carries: the server's half of the exchange, sealed with AES-256-GCM under
/// a key derived from the server key, so the client can hold it but neither read nor change it.
#[derive(Serialize, Deserialize)]
struct SrpState {
    id: String,
    pool: String,
    client: String,
    sub: String,
    user_id_for_srp: String,
    /// Hex: the server secret b, B and the client's A.
    b: String,
    big_b: String,
    a: String,
    issued_at: i64,
    /// A challenge for a user who does not exist (PreventUserExistenceErrors ENABLED).
    fake: bool,
}

fn block_key(ctx: &Ctx) -> LessSafeKey {
    let key = keyed(ctx, "srp-secret-block", &[]);
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32-byte AES-256 key"))
}

const BLOCK_AAD: &[u8] = b"userpool srp secret block v1";

fn seal_block(ctx: &Ctx, state: &SrpState) -> ApiResult<String> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut data = serde_json::to_vec(state).map_err(ApiError::internal)?;
    block_key(ctx)
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(BLOCK_AAD), &mut data)
        .map_err(|_| ApiError::internal("sealing the SRP secret block failed"))?;
    Ok(STANDARD.encode([nonce.as_slice(), &data].concat()))
}

fn open_block(ctx: &Ctx, block: &str) -> Option<(SrpState, Vec<u8>)> {
    let raw = STANDARD.decode(block).ok()?;
    if raw.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    let mut data = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = block_key(ctx).open_in_place(nonce, Aad::from(BLOCK_AAD), &mut data).ok()?;
    Some((serde_json::from_slice(plain).ok()?, raw))
}

/// The PASSWORD_VERIFIER challenge. For an unknown user whose existence the client hides, the
/// salt and USER_ID_FOR_SRP are derived from the name (the same every time, RFC 5054 §2.5.1.3)
/// and the verifier from nothing anyone knows, so the proof can only fail, at the next step.
pub async fn srp_challenge(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    params: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    let username = parameter(params, "USERNAME")?;
    let a_hex = parameter(params, "SRP_A")?;
    let a = srp::parse_public_a(a_hex)
        .ok_or_else(|| api_error!(InvalidParameterException, "SRP_A is not a valid SRP public value."))?;
    let user = users::find(ctx, pool, username).await?;
    check_secret_hash_parameter(client, params, &secret_hash_names(username, user.as_ref()))?;
    let hide = hides_users(client);
    let pool_name = pool_name_of(&pool.id).to_string();
    let (sub, user_id, salt, verifier, fake) = match &user {
        Some(u) => {
            if !u.enabled {
                return Err(users::user_disabled());
            }
            if u.status == UserStatusType::ResetRequired.as_str() {
                return Err(api_error!(PasswordResetRequiredException, "Password reset required for the user"));
            }
            if u.status == UserStatusType::Unconfirmed.as_str() {
                return Err(api_error!(UserNotConfirmedException, "User is not confirmed."));
            }
            let no_data = BTreeMap::new();
            authentication_trigger(ctx, pool, client, u, &pre_authentication(origin, u, &no_data)).await?;
            let (Some(salt), Some(verifier)) = (u.srp_salt.as_deref(), u.srp_verifier.as_deref()) else {
                return Err(incorrect());
            };
            let salt = hex::decode(salt).map_err(ApiError::internal)?;
            let verifier = hex::decode(verifier).map_err(ApiError::internal)?;
            (u.sub.clone(), u.username.clone(), salt, verifier, false)
        }
        None if hide => {
            let seed = keyed(ctx, "srp-fake-user", &[pool.id.as_bytes(), pool.key(username).as_bytes()]);
            let user_id =
                uuid::Builder::from_random_bytes(seed[..16].try_into().expect("16 bytes")).into_uuid().to_string();
            let salt = seed[16..].to_vec();
            let secret: [u8; 32] = rand::random();
            let (pool_name, user_id_for_verifier, salt_for_verifier) =
                (pool_name.clone(), user_id.clone(), salt.clone());
            let verifier = ctx
                .hasher
                .run(move || srp::verifier(&pool_name, &user_id_for_verifier, &hex::encode(secret), &salt_for_verifier))
                .await?;
            (String::new(), user_id, salt, verifier, true)
        }
        None => return Err(api_error!(UserNotFoundException, "User does not exist.")),
    };
    let b_random: [u8; 32] = rand::random();
    let challenge = ctx
        .hasher
        .run(move || srp::server_challenge(&verifier, &b_random))
        .await?
        .ok_or_else(|| ApiError::internal("degenerate SRP challenge"))?;
    let state = SrpState {
        id: uuid::Uuid::new_v4().to_string(),
        pool: pool.id.clone(),
        client: client.client_id.as_deref().cloned().unwrap_or_default(),
        sub,
        user_id_for_srp: user_id.clone(),
        b: hex::encode(&challenge.b),
        big_b: hex::encode(&challenge.big_b),
        a: hex::encode(&a),
        issued_at: ctx.clock.now_ms(),
        fake,
    };
    let mut challenge_parameters = BTreeMap::new();
    challenge_parameters.insert("SALT".to_string(), srp::hex_of(&salt));
    challenge_parameters.insert("SECRET_BLOCK".to_string(), seal_block(ctx, &state)?);
    challenge_parameters.insert("SRP_B".to_string(), srp::hex_of(&challenge.big_b));
    challenge_parameters.insert("USERNAME".to_string(), user_id.clone());
    challenge_parameters.insert("USER_ID_FOR_SRP".to_string(), user_id);
    // No Session: the secret block carries the state (docs/cognito-facts.md#srp-initiateauth).
    Ok(Outcome {
        challenge_name: Some(ChallengeNameType::PasswordVerifier),
        challenge_parameters,
        ..Outcome::default()
    })
}

/// How far the client's TIMESTAMP may be from the server's clock (docs/cognito-facts.md#srp-respondtoauthchallenge recommends 5 minutes).
const SRP_TIMESTAMP_SKEW_S: i64 = 300;

async fn srp_verify(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    responses: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    let block = parameter(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
    let claimed = parameter(responses, "PASSWORD_CLAIM_SIGNATURE")?;
    let timestamp = parameter(responses, "TIMESTAMP")?;
    let when = srp::parse_timestamp(timestamp).ok_or_else(|| {
        api_error!(InvalidParameterException, "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.")
    })?;
    let client_id = client.client_id.as_deref().map_or("", String::as_str);
    let Some((state, block_bytes)) = open_block(ctx, block) else {
        return Err(incorrect());
    };
    if state.pool != pool.id || state.client != client_id {
        return Err(incorrect());
    }
    let username = responses.get("USERNAME").map_or(state.user_id_for_srp.as_str(), String::as_str);
    check_secret_hash_parameter(client, responses, &[username, &state.user_id_for_srp])?;
    let now = ctx.clock.now_ms();
    let validity_ms = i64::from(client.auth_session_validity.unwrap_or(3)) * 60_000;
    if now - state.issued_at > validity_ms {
        return Err(api_error!(NotAuthorizedException, "Invalid session for the user, session is expired."));
    }
    if state.fake {
        // The fake user's failures are counted like a real user's (keyed by the derived id).
        let failures =
            bump_unknown_name(ctx, pool, &state.user_id_for_srp, SIGN_IN_FAILURES, SIGN_IN_WINDOW_MS).await?;
        if failures > SIGN_IN_FAILURES_ALLOWED {
            return Err(api_error!(NotAuthorizedException, "Password attempts exceeded"));
        }
        return Err(incorrect());
    }
    if (when - now / 1000).abs() > SRP_TIMESTAMP_SKEW_S {
        return Err(incorrect());
    }
    let user = ctx.store.find_user_by_sub(&pool.id, &state.sub).await?.ok_or_else(incorrect)?;
    if !user.enabled {
        return Err(users::user_disabled());
    }
    if user.status == UserStatusType::ResetRequired.as_str() {
        return Err(api_error!(PasswordResetRequiredException, "Password reset required for the user"));
    }
    let attempts = ctx.store.bump_counter(&pool.id, &user.sub, SIGN_IN_FAILURES, now, SIGN_IN_WINDOW_MS).await?;
    if attempts > SIGN_IN_FAILURES_ALLOWED {
        return Err(api_error!(NotAuthorizedException, "Password attempts exceeded"));
    }
    // One answer per block: a replay, even of a right proof, is refused.
    if !ctx.store.use_secret_block(&state.id, state.issued_at + validity_ms, now).await? {
        return Err(incorrect());
    }
    let verifier = user.srp_verifier.as_deref().and_then(|v| hex::decode(v).ok()).ok_or_else(incorrect)?;
    let decode = |h: &str| hex::decode(h).map_err(ApiError::internal);
    let (a, big_b, b) = (decode(&state.a)?, decode(&state.big_b)?, decode(&state.b)?);
    // The signature is over the timestamp as the server formats it: a zero-padded day or a
    // wrong weekday parses but does not verify (docs/cognito-facts.md#srp-respondtoauthchallenge).
    let (pool_name, user_id, canonical) =
        (pool_name_of(&pool.id).to_string(), state.user_id_for_srp.clone(), srp::format_timestamp(when));
    let claimed = claimed.to_string();
    let matches = ctx
        .hasher
        .run(move || {
            srp::password_claim_key(&a, &big_b, &b, &verifier).is_some_and(|key| {
                let expected = srp::expected_signature(&key, &pool_name, &user_id, &block_bytes, &canonical);
                srp::signature_matches(&expected, &claimed)
            })
        })
        .await?;
    if !matches {
        return Err(incorrect());
    }
    ctx.store.reset_counter(&pool.id, &user.sub, SIGN_IN_FAILURES).await?;
    if user.status == UserStatusType::ForceChangePassword.as_str() {
        return Ok(new_password_challenge(ctx, pool, client, &user));
    }
    signed_in(ctx, origin, pool, client, &user, "TokenGeneration_Authentication").await
}

// ---- REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken ----

pub fn rotates(client: &UserPoolClientType) -> bool {
    client.refresh_token_rotation.as_ref().is_some_and(|r| r.feature == FeatureType::Enabled)
}

/// The live refresh token a client presents and its user: `Invalid Refresh Token` unless it was
/// issued to this client and is neither revoked, expired, nor rotated out past its grace period.
pub async fn live_refresh_token(
    ctx: &Ctx,
    pool: &Pool,
    client: &UserPoolClientType,
    token: &str,
) -> ApiResult<(String, RefreshTokenRow, UserRow)> {
    let invalid = || api_error!(NotAuthorizedException, "Invalid Refresh Token");
    let hash = tokens::refresh_token_hash(token);
    let row = ctx.store.find_refresh_token(&hash).await?.ok_or_else(invalid)?;
    let client_id = client.client_id.as_deref().map_or("", String::as_str);
    if row.pool_id != pool.id || row.client_id != client_id {
        return Err(invalid());
    }
    if row.revoked {
        return Err(api_error!(NotAuthorizedException, "Refresh Token has been revoked"));
    }
    let now = ctx.clock.now_ms();
    if row.expires_at <= now {
        return Err(api_error!(NotAuthorizedException, "Refresh Token has expired"));
    }
    if let Some(rotated_at) = row.rotated_at {
        let grace = client.refresh_token_rotation.as_ref().and_then(|r| r.retry_grace_period_seconds).unwrap_or(0);
        // The grace period is half-open: with a grace of 0 a rotated token is spent at once.
        if now >= rotated_at + i64::from(grace) * 1000 {
            return Err(reused());
        }
    }
    let user = ctx.store.find_user_by_sub(&pool.id, &row.sub).await?.ok_or_else(invalid)?;
    if !user.enabled {
        return Err(users::user_disabled());
    }
    Ok((hash, row, user))
}

/// A refresh token that a rotation replaced, presented after the grace period (our wording).
fn reused() -> ApiError {
    api_error!(RefreshTokenReuseException, "Refresh token has been rotated and is no longer valid.")
}

/// New ID and access tokens for a refresh token, with the original auth_time and no new refresh
/// token. A client with refresh-token rotation must refresh through GetTokensFromRefreshToken
/// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RefreshTokenRotationType.html),
/// so REFRESH_TOKEN_AUTH answers as if the flow were not enabled.
pub async fn refresh(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    flow: AuthFlowType,
    params: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    // A client created without ExplicitAuthFlows allows refresh.
    let flow_allowed =
        client.explicit_auth_flows.is_none() || allows(client, &[ExplicitAuthFlowsType::AllowRefreshTokenAuth]);
    if !flow_allowed || rotates(client) {
        return Err(flow_not_enabled(flow));
    }
    let (_, row, user) = live_refresh_token(ctx, pool, client, parameter(params, "REFRESH_TOKEN")?).await?;
    // The hash may be over the username or the sub: refresh requests carry neither.
    let mut names = vec![user.username.as_str(), user.sub.as_str()];
    if let Some(given) = params.get("USERNAME") {
        names.push(given);
    }
    check_secret_hash_parameter(client, params, &names)?;
    let result = tokens::issue(
        ctx,
        Issue {
            issuer: tokens::issuer(&origin.issuer_base, &pool.id),
            pool,
            source: "TokenGeneration_RefreshTokens",
            client_metadata: None,
            client,
            user: &user,
            auth_time: row.auth_time,
            refresh_token: RefreshGrant::None,
        },
    )
    .await?;
    Ok(Outcome { authentication_result: Some(result), ..Outcome::default() })
}

/// RespondToAuthChallenge and AdminRespondToAuthChallenge answer the same challenges.
pub async fn answer_challenge(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    challenge: ChallengeNameType,
    session: Option<&str>,
    responses: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    match challenge {
        ChallengeNameType::NewPasswordRequired => new_password(ctx, origin, pool, client, session, responses).await,
        ChallengeNameType::PasswordVerifier => srp_verify(ctx, origin, pool, client, responses).await,
        other => Err(not_implemented(&format!("the {} challenge", other.as_str()))),
    }
}

pub fn flow_not_enabled(flow: AuthFlowType) -> ApiError {
    api_error!(InvalidParameterException, "{} flow not enabled for this client", flow.as_str())
}

pub fn not_implemented(what: &str) -> ApiError {
    api_error!(NotImplementedException, "userpool does not implement {what} yet")
}
