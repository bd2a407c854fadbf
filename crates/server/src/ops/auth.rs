//! Sign-in with a password: InitiateAuth (USER_PASSWORD_AUTH), AdminInitiateAuth
//! (ADMIN_USER_PASSWORD_AUTH, ADMIN_NO_SRP_AUTH), and the NEW_PASSWORD_REQUIRED challenge of
//! RespondToAuthChallenge and AdminRespondToAuthChallenge. Status gates and errors follow
//! ../shared/spec/cognito-recovery.md §0 and §3.

use super::{
    Origin, check_secret_hash, earlier_hashes, enforces_history, load_client, password_record, password_reused,
};
use crate::api_error;
use crate::app::Ctx;
use crate::domain::password_policy::{self, Wording};
use crate::domain::pools::Pool;
use crate::domain::users;
use crate::error::{ApiError, ApiResult};
use crate::hashing::PasswordHasher;
use crate::store::UserRow;
use crate::tokens::{self, Issue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use userpool_model::Sensitive;
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
struct Outcome {
    challenge_name: Option<ChallengeNameType>,
    session: Option<String>,
    challenge_parameters: BTreeMap<String, String>,
    authentication_result: Option<AuthenticationResultType>,
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

fn session_mac(ctx: &Ctx, payload: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.code_key).expect("HMAC takes keys of any length");
    mac.update(b"auth-session\0");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
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
fn allows(client: &UserPoolClientType, flows: &[ExplicitAuthFlowsType]) -> bool {
    client.explicit_auth_flows.as_ref().is_some_and(|allowed| allowed.iter().any(|f| flows.contains(f)))
}

fn parameter<'a>(params: &'a BTreeMap<String, String>, name: &str) -> ApiResult<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| api_error!(InvalidParameterException, "Missing required parameter {name}"))
}

/// SECRET_HASH inside AuthParameters or ChallengeResponses (spec §0: a different message when
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

async fn password_sign_in(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    params: &BTreeMap<String, String>,
) -> ApiResult<Outcome> {
    let username = parameter(params, "USERNAME")?;
    let password = parameter(params, "PASSWORD")?;
    let user = users::find(ctx, pool, username).await?;
    let mut names = vec![username];
    if let Some(u) = &user {
        names.push(&u.username);
    }
    check_secret_hash_parameter(client, params, &names)?;
    let hide = client.prevent_user_existence_errors == Some(PreventUserExistenceErrorTypes::Enabled);
    let Some(user) = user else {
        if hide {
            // Spend what a wrong password costs, so timing does not tell.
            let params = ctx.hasher.params();
            let password = password.to_string();
            ctx.hasher.run(move || PasswordHasher::hash_blocking(params, &password)).await??;
            return Err(incorrect());
        }
        return Err(api_error!(UserNotFoundException, "User does not exist."));
    };
    if !user.enabled {
        return Err(api_error!(NotAuthorizedException, "User is disabled."));
    }
    if user.status == UserStatusType::ResetRequired.as_str() {
        return Err(api_error!(PasswordResetRequiredException, "Password reset required for the user"));
    }
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
        let days = i64::from(pool.password_policy().temporary_password_validity_days.unwrap_or(7).max(1));
        if user.password_set_at.is_some_and(|set| set + days * 86_400_000 < now) {
            return Err(api_error!(
                NotAuthorizedException,
                "Temporary password has expired and must be reset by an administrator."
            ));
        }
        return Ok(new_password_challenge(ctx, pool, client, &user));
    }
    signed_in(ctx, origin, pool, client, &user).await
}

fn new_password_challenge(ctx: &Ctx, pool: &Pool, client: &UserPoolClientType, user: &UserRow) -> Outcome {
    let attributes: serde_json::Map<String, serde_json::Value> = user
        .attributes
        .iter()
        .filter(|(n, _)| n != "sub")
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

async fn signed_in(
    ctx: &Ctx,
    origin: &Origin,
    pool: &Pool,
    client: &UserPoolClientType,
    user: &UserRow,
) -> ApiResult<Outcome> {
    let result = tokens::issue(
        ctx,
        Issue {
            issuer: tokens::issuer(&origin.issuer_base, &pool.id),
            pool_id: &pool.id,
            client,
            user,
            auth_time: ctx.clock.now_ms() / 1000,
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
    password_policy::check(&pool.password_policy(), new, Wording::DoesNotConform)?;
    let earlier = earlier_hashes(ctx, pool, &user).await?;
    let (record, reused) = password_record(ctx, pool, &user.username, new, earlier).await?;
    if reused && enforces_history(pool) {
        return Err(password_reused());
    }
    let now = ctx.clock.now_ms();
    ctx.store.set_password(&pool.id, &user.sub, &record, Some(UserStatusType::Confirmed.as_str()), now).await?;
    if let Some(previous) = &user.password_hash {
        ctx.store.append_password_history(&pool.id, &user.sub, previous, now).await?;
    }
    let user = ctx.store.find_user_by_sub(&pool.id, &user.sub).await?.ok_or_else(incorrect)?;
    signed_in(ctx, origin, pool, client, &user).await
}

fn flow_not_enabled(flow: AuthFlowType) -> ApiError {
    api_error!(InvalidParameterException, "{} flow not enabled for this client", flow.as_str())
}

fn not_implemented(what: &str) -> ApiError {
    api_error!(NotImplementedException, "userpool does not implement {what} yet")
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
pub(super) async fn initiate_auth(
    ctx: &Ctx,
    origin: &Origin,
    req: InitiateAuthRequest,
) -> ApiResult<InitiateAuthResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
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
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let (client_pool, client) = load_client(ctx, &req.client_id).await?;
    if client_pool.id != pool.id {
        return Err(api_error!(
            ResourceNotFoundException,
            "User pool client {} does not exist.",
            req.client_id.as_str()
        ));
    }
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
    let responses = req.challenge_responses.map(Sensitive::into_inner).unwrap_or_default();
    let outcome = match req.challenge_name {
        ChallengeNameType::NewPasswordRequired => {
            new_password(ctx, origin, &pool, &client, req.session.as_deref().map(String::as_str), &responses).await?
        }
        other => return Err(not_implemented(&format!("the {} challenge", other.as_str()))),
    };
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
    let pool = Pool::load(ctx, &req.user_pool_id).await?;
    let (client_pool, client) = load_client(ctx, &req.client_id).await?;
    if client_pool.id != pool.id {
        return Err(api_error!(
            ResourceNotFoundException,
            "User pool client {} does not exist.",
            req.client_id.as_str()
        ));
    }
    let responses = req.challenge_responses.map(Sensitive::into_inner).unwrap_or_default();
    let outcome = match req.challenge_name {
        ChallengeNameType::NewPasswordRequired => {
            new_password(ctx, origin, &pool, &client, req.session.as_deref().map(String::as_str), &responses).await?
        }
        other => return Err(not_implemented(&format!("the {} challenge", other.as_str()))),
    };
    Ok(AdminRespondToAuthChallengeResponse {
        challenge_name: outcome.challenge_name,
        session: outcome.session.map(Into::into),
        challenge_parameters: Some(outcome.challenge_parameters),
        authentication_result: outcome.authentication_result,
    })
}
