//! Operation dispatch: one line per implemented operation. Each handler is a plain
//! `async fn(&Ctx, <Op>Request) -> Result<<Op>Response, ApiError>` next to its AWS reference link.

mod clients;
mod signup;
mod user_pools;
mod users_admin;

use crate::app::Ctx;
use crate::domain::ids::pool_name_of;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::hashing::PasswordHasher;
use crate::store::PasswordRecord;
use crate::{api_error, srp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use userpool_model::Operation;
use userpool_model::types::UserPoolClientType;

/// Runs a validated request. Operations not implemented yet answer `NotImplementedException`.
pub async fn dispatch(ctx: &Ctx, operation: Operation, input: Value) -> ApiResult<Value> {
    use Operation as O;
    match operation {
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
        other => Err(api_error!(
            NotImplementedException,
            "userpool does not implement {} yet; the request was valid. See the README for the implemented operations.",
            other.name()
        )),
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
    // The validator has checked types and required members, so this only fails on a gap
    // between the validator and the generated types: a SerializationException, not a crash.
    let request: Req =
        serde_json::from_value(input).map_err(|e| api_error!(SerializationException, "Invalid request body: {e}"))?;
    let response = handler(ctx, request).await?;
    // Operations the model gives no output answer `{}` (handlers return `()`).
    match serde_json::to_value(response).map_err(ApiError::internal)? {
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        output => Ok(output),
    }
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
/// blocking task.
pub(crate) async fn password_record(
    ctx: &Ctx,
    pool: &Pool,
    user_id_for_srp: &str,
    password: &str,
) -> ApiResult<PasswordRecord> {
    let params = ctx.hasher.params();
    let (pool_name, user_id, password) =
        (pool_name_of(&pool.id).to_string(), user_id_for_srp.to_string(), password.to_string());
    ctx.hasher
        .run(move || {
            let hash = PasswordHasher::hash_blocking(params, &password)?;
            let salt: [u8; 16] = rand::random();
            let verifier = srp::verifier(&pool_name, &user_id, &password, &salt);
            Ok(PasswordRecord { hash, srp_salt: hex::encode(salt), srp_verifier: hex::encode(verifier) })
        })
        .await?
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
