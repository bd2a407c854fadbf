//! Account recovery: the flows of ForgotPassword, AdminResetUserPassword and ConfirmForgotPassword,
//! evaluated in the order of docs/cognito-facts.md#confirmforgotpassword-evaluation-order, with
//! the outcomes of docs/cognito-facts.md#preventuserexistenceerrors (docs/recovery.md).

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::codes;
use crate::domain::password_policy::Wording;
use crate::domain::pools::Pool;
use crate::domain::recovery::{Channel, channel, is_admin_only, simulated_delivery};
use crate::error::{ApiError, ApiResult};
use crate::services::clients::{check_secret_hash, secret_hash_names};
use crate::services::codes::{HOUR_MS, attempts_exceeded, check_code, code_expired, code_mismatch};
use crate::services::existence::{bump_unknown_name, hides_users};
use crate::services::messages::{CodeToSend, deliver_code};
use crate::services::passwords::new_password_for;
use crate::services::{triggers, users};
use crate::store::{RecoveryEvent, UserRow};
use crate::triggers::Caller;
use std::collections::BTreeMap;
use std::net::IpAddr;
use userpool_model::types::*;

/// ForgotPassword and AdminResetUserPassword codes share one slot: the newest wins.
const RESET_CODE_SLOT: &str = "PasswordReset";
const CONFIRM_ATTEMPTS: &str = "confirm-forgot-password";
const RESET_REQUESTS: &str = "forgot-password";
const DEFAULT_RESET_BODY: &str = "Your password reset code is {####}.";

fn user_not_found() -> ApiError {
    api_error!(UserNotFoundException, "Username/client id combination not found.")
}

fn cannot_reset() -> ApiError {
    api_error!(NotAuthorizedException, "User password cannot be reset in the current state.")
}

fn no_channel() -> ApiError {
    api_error!(
        InvalidParameterException,
        "Cannot reset password for the user as there is no registered/verified email or phone_number"
    )
}

/// Admin-created users who never chose a password and federated users cannot reset (docs/cognito-facts.md#user-status-transitions).
fn can_reset(user: &UserRow) -> bool {
    user.status != UserStatusType::ForceChangePassword.as_str()
        && user.status != UserStatusType::ExternalProvider.as_str()
}

/// The IP address of UserContextData, refused when malformed (docs/cognito-facts.md#threat-protection-and-usercontextdata).
fn context_ip(data: Option<&UserContextDataType>) -> ApiResult<Option<String>> {
    match data.and_then(|d| d.ip_address.as_deref()) {
        None => Ok(None),
        Some(ip) => match ip.parse::<IpAddr>() {
            Ok(parsed) => Ok(Some(parsed.to_string())),
            Err(_) => {
                Err(api_error!(InvalidParameterException, "UserContextData.IpAddress is not a valid IP address."))
            }
        },
    }
}

/// A reset code for the channel, on behalf of `purpose`; ForgotPassword and AdminResetUserPassword
/// share its slot, so the newest code wins.
fn reset_code<'a>(
    ctx: &Ctx,
    purpose: &'static str,
    (attribute, medium, destination): (&'static str, DeliveryMediumType, String),
    caller: Caller<'a>,
) -> CodeToSend<'a> {
    CodeToSend {
        slot: RESET_CODE_SLOT,
        purpose,
        ttl_ms: ctx.settings.recovery.code_validity_ms,
        attribute,
        medium,
        destination,
        default_body: DEFAULT_RESET_BODY,
        pending_value: None,
        caller,
    }
}

/// A recovery request made through an app client (ForgotPassword, ConfirmForgotPassword).
pub struct PublicRequest<'a> {
    pub pool: &'a Pool,
    pub client: &'a UserPoolClientType,
    pub client_id: &'a str,
    /// The name given: a username, an alias or a sub.
    pub username: &'a str,
    pub secret_hash: Option<&'a str>,
    pub user_context_data: Option<&'a UserContextDataType>,
    pub analytics_metadata: Option<&'a AnalyticsMetadataType>,
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

impl PublicRequest<'_> {
    fn caller(&self) -> Caller<'_> {
        Caller { client_id: Some(self.client_id), client_metadata: self.client_metadata }
    }

    fn context(&self) -> ApiResult<Context<'_>> {
        Ok(Context {
            client: self.client,
            ip_address: context_ip(self.user_context_data)?,
            analytics_endpoint_id: self.analytics_metadata.and_then(|a| a.analytics_endpoint_id.as_deref()),
        })
    }
}

struct Context<'a> {
    client: &'a UserPoolClientType,
    ip_address: Option<String>,
    analytics_endpoint_id: Option<&'a str>,
}

async fn record(ctx: &Ctx, pool: &Pool, sub: &str, event: &str, c: &Context<'_>) -> ApiResult<()> {
    // AnalyticsMetadata is kept only for clients with an AnalyticsConfiguration (docs/cognito-facts.md#threat-protection-and-usercontextdata).
    let analytics = c.analytics_endpoint_id.filter(|_| c.client.analytics_configuration.is_some());
    ctx.store
        .record_recovery_event(&RecoveryEvent {
            pool_id: &pool.id,
            sub,
            client_id: c.client.client_id.as_deref().map(String::as_str),
            event,
            ip_address: c.ip_address.as_deref(),
            analytics_endpoint_id: analytics,
            created_at: ctx.clock.now_ms(),
        })
        .await?;
    Ok(())
}

/// ForgotPassword: a reset code to the user's recovery channel, or with PreventUserExistenceErrors
/// the same answer for a name that cannot get one.
pub async fn send_reset_code(ctx: &Ctx, req: PublicRequest<'_>) -> ApiResult<CodeDeliveryDetailsType> {
    let PublicRequest { pool, client, .. } = req;
    ctx.recovery_quota.check(&pool.id, ctx.clock.now_ms())?;
    let user = users::find(ctx, pool, req.username).await?;
    check_secret_hash(client, &secret_hash_names(req.username, user.as_ref()), req.secret_hash)?;
    let context = req.context()?;
    // A pool setting, answered alike for every name (answering it only for real users would
    // tell them apart).
    if is_admin_only(pool) {
        return Err(api_error!(NotAuthorizedException, "Contact administrator to reset password."));
    }
    let hide = hides_users(client);
    // Nothing is sent; the request is recorded (two writes; a real send makes four, docs/recovery.md).
    let simulated = async |sub: &str| -> ApiResult<CodeDeliveryDetailsType> {
        // Counted like a real send, so that only real users meeting the limit does not tell.
        let sent = if sub.is_empty() {
            bump_unknown_name(ctx, pool, req.username, RESET_REQUESTS, HOUR_MS).await?
        } else {
            ctx.store.bump_counter(&pool.id, sub, RESET_REQUESTS, ctx.clock.now_ms(), HOUR_MS).await?
        };
        if sent > i64::from(ctx.settings.recovery.forgot_password_per_hour) {
            return Err(attempts_exceeded());
        }
        record(ctx, pool, sub, "ForgotPassword:not-sent", &context).await?;
        Ok(simulated_delivery(&ctx.code_key, pool, req.username))
    };
    let user = match user {
        Some(user) => Some(user),
        None => triggers::migrate_user(ctx, pool, req.username, None, None, req.caller()).await?,
    };
    let Some(user) = user else {
        return if hide { simulated("").await } else { Err(user_not_found()) };
    };
    if !user.enabled {
        return if hide { simulated(&user.sub).await } else { Err(users::user_disabled()) };
    }
    if !can_reset(&user) {
        return Err(cannot_reset());
    }
    let (attribute, medium, destination) = match channel(pool, &user) {
        Channel::Send { attribute, medium, destination } => (attribute, medium, destination),
        Channel::AdminOnly => {
            return Err(api_error!(NotAuthorizedException, "Contact administrator to reset password."));
        }
        Channel::NoVerifiedChannel => return if hide { simulated(&user.sub).await } else { Err(no_channel()) },
    };
    let now = ctx.clock.now_ms();
    let sent = ctx.store.bump_counter(&pool.id, &user.sub, RESET_REQUESTS, now, HOUR_MS).await?;
    if sent > i64::from(ctx.settings.recovery.forgot_password_per_hour) {
        return Err(attempts_exceeded());
    }
    let code = reset_code(ctx, "ForgotPassword", (attribute, medium, destination), req.caller());
    let details = deliver_code(ctx, pool, &user, code).await?;
    record(ctx, pool, &user.sub, "ForgotPassword", &context).await?;
    Ok(details)
}

/// AdminResetUserPassword: a reset code, and the current password stops working.
pub async fn admin_reset(
    ctx: &Ctx,
    pool: &Pool,
    username: &str,
    client_metadata: Option<&BTreeMap<String, String>>,
) -> ApiResult<()> {
    ctx.recovery_quota.check(&pool.id, ctx.clock.now_ms())?;
    let user = users::existing_user(ctx, pool, username).await?;
    if !user.enabled {
        return Err(users::user_disabled());
    }
    if !can_reset(&user) {
        return Err(cannot_reset());
    }
    let (attribute, medium, destination) = match channel(pool, &user) {
        Channel::Send { attribute, medium, destination } => (attribute, medium, destination),
        // The operation needs self-service recovery configured (API reference).
        Channel::AdminOnly => {
            return Err(api_error!(
                InvalidParameterException,
                "AdminResetUserPassword needs self-service account recovery; the user pool's AccountRecoverySetting is admin_only."
            ));
        }
        Channel::NoVerifiedChannel => return Err(no_channel()),
    };
    let caller = Caller { client_id: None, client_metadata };
    let code = reset_code(ctx, "AdminResetUserPassword", (attribute, medium, destination), caller);
    // The code first: if sending fails, the user keeps a working password.
    deliver_code(ctx, pool, &user, code).await?;
    // The current password stops working at once: sign-in checks the status.
    ctx.store.set_user_status(&pool.id, &user.sub, UserStatusType::ResetRequired.as_str(), ctx.clock.now_ms()).await?;
    Ok(())
}

/// ConfirmForgotPassword: the code, then the new password, in the order of
/// docs/cognito-facts.md#confirmforgotpassword-evaluation-order.
pub async fn confirm_reset(ctx: &Ctx, req: PublicRequest<'_>, code: &str, new_password: &str) -> ApiResult<()> {
    let PublicRequest { pool, client, .. } = req;
    ctx.recovery_quota.check(&pool.id, ctx.clock.now_ms())?;
    let user = users::find(ctx, pool, req.username).await?;
    check_secret_hash(client, &secret_hash_names(req.username, user.as_ref()), req.secret_hash)?;
    let context = req.context()?;
    let hide = hides_users(client);
    let user = match user {
        Some(u) if u.enabled => u,
        other => {
            if !hide {
                return Err(if other.is_some() { users::user_disabled() } else { user_not_found() });
            }
            // As a wrong code for a real user: one counter write, one HMAC, the same budget.
            let attempts = match &other {
                Some(u) => {
                    ctx.store.bump_counter(&pool.id, &u.sub, CONFIRM_ATTEMPTS, ctx.clock.now_ms(), HOUR_MS).await?
                }
                None => bump_unknown_name(ctx, pool, req.username, CONFIRM_ATTEMPTS, HOUR_MS).await?,
            };
            let sub = other.as_ref().map_or("", |u| u.sub.as_str());
            let _ = codes::digest(&ctx.code_key, &pool.id, sub, code);
            if attempts > i64::from(ctx.settings.recovery.confirm_attempts_per_hour) {
                return Err(attempts_exceeded());
            }
            return Err(code_mismatch());
        }
    };
    if !can_reset(&user) {
        return Err(cannot_reset());
    }
    if user.status == UserStatusType::Unconfirmed.as_str() {
        return Err(api_error!(UserNotConfirmedException, "User is not confirmed."));
    }
    // The right code clears the count of wrong ones.
    let budget = (CONFIRM_ATTEMPTS, i64::from(ctx.settings.recovery.confirm_attempts_per_hour));
    let stored = check_code(ctx, &pool.id, &user.sub, RESET_CODE_SLOT, code, budget).await?;
    ctx.store.reset_counter(&pool.id, &user.sub, CONFIRM_ATTEMPTS).await?;
    // The code is checked before the password (docs/cognito-facts.md#confirmforgotpassword-evaluation-order, step 12): a right code with a weak
    // password leaves the code usable.
    let password = new_password_for(ctx, pool, &user, new_password, Wording::DoesNotConform).await?;
    let done = ctx
        .store
        .complete_password_reset(
            &pool.id,
            &user.sub,
            RESET_CODE_SLOT,
            &stored.code_hash,
            &password,
            user.password_hash.as_deref(),
            CONFIRM_ATTEMPTS,
            ctx.clock.now_ms(),
        )
        .await?;
    if !done {
        // Another request consumed or replaced the code while this one was hashing.
        return Err(code_expired());
    }
    ctx.store.reset_counter(&pool.id, &user.sub, RESET_REQUESTS).await?;
    record(ctx, pool, &user.sub, "ConfirmForgotPassword", &context).await?;
    // The new password stands even if the trigger fails: the code is spent and the user told
    // the error (docs/cognito-facts.md#trigger-failure-mapping recommends keeping it; docs/triggers.md#failures).
    triggers::post_confirmation(ctx, pool, &user.sub, "PostConfirmation_ConfirmForgotPassword", req.caller()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_ip_addresses() {
        let data = |ip: &str| UserContextDataType { ip_address: Some(ip.into()), encoded_data: None };
        assert_eq!(context_ip(Some(&data("192.0.2.1"))).unwrap().as_deref(), Some("192.0.2.1"));
        assert_eq!(context_ip(Some(&data("2001:db8::1"))).unwrap().as_deref(), Some("2001:db8::1"));
        assert_eq!(context_ip(Some(&data("300.1.1.1"))).unwrap_err().code().as_str(), "InvalidParameterException");
        assert_eq!(context_ip(None).unwrap(), None);
    }
}
