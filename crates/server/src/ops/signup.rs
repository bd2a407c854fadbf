//! Self-service sign-up: SignUp, ConfirmSignUp, ResendConfirmationCode.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::attributes::{check_required, check_writable};
use crate::domain::password_policy::{self, Wording};
use crate::domain::pools::Pool;
use crate::domain::users;
use crate::error::{ApiError, ApiResult};
use crate::services::clients::{check_client_writes, check_secret_hash, load_client};
use crate::services::codes::{HOUR_MS, attempts_exceeded, check_code, code_expired};
use crate::services::messages::{CodeToSend, deliver_code};
use crate::services::passwords::password_record;
use crate::services::users::{Identity, change_attributes, conflict, new_identity};
use crate::store::{NewUser, UserRow};
use crate::triggers::{self, Caller, PreSignUpRequest};
use userpool_model::types::*;

/// Sign-up and attribute codes are valid 24 hours (docs/cognito-facts.md#reset-code-properties).
const SIGN_UP_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
const CODE_PURPOSE: &str = "SignUp";
/// Cognito's code-security quotas (docs/cognito-facts.md#quotas): 15 ConfirmSignUp and 5 ResendConfirmationCode per
/// user per hour.
const CONFIRM_SIGN_UP_PER_HOUR: i64 = 15;
const RESEND_CODE_PER_HOUR: i64 = 5;

/// Where a verification code goes: a phone number the pool auto-verifies, else an email.
fn verification_channel(pool: &Pool, user: &UserRow) -> Option<(&'static str, DeliveryMediumType, String)> {
    [("phone_number", DeliveryMediumType::Sms), ("email", DeliveryMediumType::Email)].into_iter().find_map(
        |(attribute, medium)| {
            let value = user.attribute(attribute).filter(|_| pool.auto_verifies(attribute))?;
            Some((attribute, medium, value.to_string()))
        },
    )
}

/// Generates, stores and sends a confirmation code; returns what CodeDeliveryDetails shows.
async fn send_code(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    purpose: &'static str,
    caller: Caller<'_>,
) -> ApiResult<Option<CodeDeliveryDetailsType>> {
    let Some((attribute, medium, destination)) = verification_channel(pool, user) else {
        return Ok(None);
    };
    let code = CodeToSend {
        slot: CODE_PURPOSE,
        purpose,
        ttl_ms: SIGN_UP_CODE_TTL_MS,
        attribute,
        medium,
        destination,
        default_body: "Your verification code is {####}. ",
        pending_value: None,
        caller,
    };
    Ok(Some(deliver_code(ctx, pool, user, code).await?))
}

/// The user a public operation names, with the errors LEGACY clients see (docs/cognito-facts.md#preventuserexistenceerrors).
async fn public_user(ctx: &Ctx, pool: &Pool, username: &str) -> ApiResult<UserRow> {
    crate::services::users::find(ctx, pool, username)
        .await?
        .ok_or_else(|| api_error!(UserNotFoundException, "Username/client id combination not found."))
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
pub(super) async fn sign_up(ctx: &Ctx, req: SignUpRequest) -> ApiResult<SignUpResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    check_secret_hash(&client, &[&req.username], req.secret_hash.as_deref().map(String::as_str))?;
    if pool.config.admin_create_user_config.as_ref().and_then(|c| c.allow_admin_create_user_only) == Some(true) {
        return Err(api_error!(NotAuthorizedException, "SignUp is not permitted for this user pool"));
    }
    let Some(password) = req.password.as_deref() else {
        return Err(api_error!(InvalidParameterException, "Password is required for sign-up with this user pool."));
    };
    password_policy::check(&pool.password_policy(), password, Wording::DidNotConform)?;
    let given = req.user_attributes.clone().unwrap_or_default();
    // The client's WriteAttributes; never a developer-only attribute or a verified flag (a public
    // caller cannot verify its own email or phone number: that is what the code is for).
    check_client_writes(&client, &given.iter().map(|a| a.name.as_str()).collect::<Vec<_>>())?;
    let schema = pool.config.schema_attributes.clone().unwrap_or_default();
    check_writable(&schema, &given, true)?;
    let Identity { sub, username: internal, mut attributes } = new_identity(&pool, &req.username, &given)?;
    check_required(&schema, &attributes)?;
    // SignUp records an unverified email or phone number as such (AdminCreateUser does not).
    for (attribute, flag) in [("email", "email_verified"), ("phone_number", "phone_number_verified")] {
        if attributes.iter().any(|(n, _)| n == attribute) && !attributes.iter().any(|(n, _)| n == flag) {
            attributes.push((flag.to_string(), "false".to_string()));
        }
    }
    let caller = Caller { client_id: Some(&req.client_id), client_metadata: req.client_metadata.as_ref() };
    let confirmed =
        pre_sign_up(ctx, &pool, &internal, &given, req.validation_data.as_deref(), caller, &mut attributes).await?;
    let (record, _) = password_record(ctx, &pool, &internal, password, Vec::new()).await?;
    let status = if confirmed { UserStatusType::Confirmed } else { UserStatusType::Unconfirmed };
    let new = NewUser {
        pool_id: pool.id.clone(),
        sub: sub.clone(),
        username: internal.clone(),
        username_key: pool.key(&internal),
        status: status.as_str().into(),
        enabled: true,
        created_at: ctx.clock.now_ms(),
        password: Some(record),
        // Unconfirmed users hold no aliases: only verified values are sign-in names.
        aliases: users::aliases(&pool, &attributes)
            .into_iter()
            .filter(|(kind, _)| confirmed || pool.has_username_attribute(kind.attribute()))
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        attributes,
        force_aliases: false,
    };
    ctx.store.create_user(&new).await.map_err(|e| conflict(&pool, e, "User already exists"))?;
    let user =
        ctx.store.find_user_by_sub(&pool.id, &sub).await?.ok_or_else(|| ApiError::internal("created user vanished"))?;
    // A user the PreSignUp trigger confirmed needs no code.
    let code_delivery_details = if confirmed { None } else { send_code(ctx, &pool, &user, "SignUp", caller).await? };
    Ok(SignUpResponse { user_confirmed: confirmed, code_delivery_details, user_sub: sub, session: None })
}

/// Runs PreSignUp_SignUp and applies its answer: `autoVerifyEmail` and `autoVerifyPhone` mark
/// the attribute verified (when the user has it), `autoConfirmUser` is returned.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html
async fn pre_sign_up(
    ctx: &Ctx,
    pool: &Pool,
    username: &str,
    given: &[AttributeType],
    validation_data: Option<&[AttributeType]>,
    caller: Caller<'_>,
    attributes: &mut Vec<(String, String)>,
) -> ApiResult<bool> {
    let request = PreSignUpRequest {
        user_attributes: triggers::attribute_map(given),
        validation_data: validation_data.map(triggers::attribute_map),
        client_metadata: caller.client_metadata,
    };
    let call = caller.invocation("PreSignUp_SignUp", username);
    let Some(answer) = ctx.triggers.pre_sign_up(pool, call, &request).await? else { return Ok(false) };
    for (verify, attribute, verified) in [
        (answer.auto_verify_email, "email", "email_verified"),
        (answer.auto_verify_phone, "phone_number", "phone_number_verified"),
    ] {
        if verify && attributes.iter().any(|(n, _)| n == attribute) {
            attributes.retain(|(n, _)| n != verified);
            attributes.push((verified.to_string(), "true".to_string()));
        }
    }
    Ok(answer.auto_confirm_user)
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmSignUp.html
pub(super) async fn confirm_sign_up(ctx: &Ctx, req: ConfirmSignUpRequest) -> ApiResult<ConfirmSignUpResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    check_secret_hash(&client, &[&req.username], req.secret_hash.as_deref().map(String::as_str))?;
    let user = public_user(ctx, &pool, &req.username).await?;
    if user.status != UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(NotAuthorizedException, "User cannot be confirmed. Current status is {}", user.status));
    }
    let budget = ("confirm-sign-up", CONFIRM_SIGN_UP_PER_HOUR);
    let stored = check_code(ctx, &pool.id, &user.sub, CODE_PURPOSE, &req.confirmation_code, budget).await?;
    // The code went to the channel it verifies. Verified first: if the value is now another
    // user's alias (AliasExistsException), the user stays unconfirmed and the code usable.
    if let Some((attribute, _, _)) = verification_channel(&pool, &user) {
        let flag = if attribute == "email" { "email_verified" } else { "phone_number_verified" };
        change_attributes(ctx, &pool, &user, vec![(flag.to_string(), "true".to_string())], Vec::new()).await?;
    }
    if !ctx.store.consume_code(&pool.id, &user.sub, CODE_PURPOSE, &stored.code_hash).await? {
        return Err(code_expired());
    }
    ctx.store.set_user_status(&pool.id, &user.sub, UserStatusType::Confirmed.as_str(), ctx.clock.now_ms()).await?;
    let caller = Caller { client_id: Some(&req.client_id), client_metadata: req.client_metadata.as_ref() };
    crate::services::triggers::post_confirmation(ctx, &pool, &user.sub, "PostConfirmation_ConfirmSignUp", caller)
        .await?;
    Ok(ConfirmSignUpResponse { session: None })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ResendConfirmationCode.html
pub(super) async fn resend_confirmation_code(
    ctx: &Ctx,
    req: ResendConfirmationCodeRequest,
) -> ApiResult<ResendConfirmationCodeResponse> {
    let (pool, client) = load_client(ctx, &req.client_id).await?;
    check_secret_hash(&client, &[&req.username], req.secret_hash.as_deref().map(String::as_str))?;
    let user = public_user(ctx, &pool, &req.username).await?;
    if user.status != UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(InvalidParameterException, "User is already confirmed."));
    }
    let now = ctx.clock.now_ms();
    if ctx.store.bump_counter(&pool.id, &user.sub, "resend-code", now, HOUR_MS).await? > RESEND_CODE_PER_HOUR {
        return Err(attempts_exceeded());
    }
    let caller = Caller { client_id: Some(&req.client_id), client_metadata: req.client_metadata.as_ref() };
    let details = send_code(ctx, &pool, &user, "ResendConfirmationCode", caller).await?;
    if details.is_none() {
        return Err(api_error!(InvalidParameterException, "Auto verification not turned on."));
    }
    Ok(ResendConfirmationCodeResponse { code_delivery_details: details })
}
