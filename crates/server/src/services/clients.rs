//! App clients: loading them, and client authentication (SECRET_HASH or the secret itself).

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::services::pools;
use crate::store::UserRow;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use userpool_model::types::UserPoolClientType;

/// An app client of any pool, for the public operations that name only a client id.
pub async fn load_client(ctx: &Ctx, client_id: &str) -> ApiResult<(Pool, UserPoolClientType)> {
    let (pool_id, row) = ctx
        .store
        .find_client(None, client_id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool client {client_id} does not exist."))?;
    let pool = pools::load(ctx, &pool_id).await?;
    let client: UserPoolClientType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    Ok((pool, client))
}

/// An app client of the given pool, for the admin operations that name both (the pool's own
/// error first, then the client's).
pub async fn load_pool_client(ctx: &Ctx, pool_id: &str, client_id: &str) -> ApiResult<(Pool, UserPoolClientType)> {
    let pool = pools::load(ctx, pool_id).await?;
    let (_, row) = ctx
        .store
        .find_client(Some(pool_id), client_id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool client {client_id} does not exist."))?;
    let client: UserPoolClientType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    Ok((pool, client))
}

/// `SecretHash = Base64(HMAC-SHA256(client secret, username + client id))`; required when the
/// client has a secret, ignored otherwise (docs/cognito-facts.md#secrethash).
/// https://docs.aws.amazon.com/cognito/latest/developerguide/signing-up-users-in-your-app.html#cognito-user-pools-computing-secret-hash
pub fn check_secret_hash(client: &UserPoolClientType, usernames: &[&str], given: Option<&str>) -> ApiResult<()> {
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

/// The SecretHash may be computed over the name as sent or over the internal username (docs/cognito-facts.md#secrethash:
/// which one Cognito uses for an alias or sub is not known, so both are accepted).
pub fn secret_hash_names<'a>(sent: &'a str, user: Option<&'a UserRow>) -> Vec<&'a str> {
    let mut names = vec![sent];
    if let Some(u) = user.filter(|u| u.username != sent) {
        names.push(&u.username);
    }
    names
}

/// The attributes a caller without IAM credentials (SignUp, an access token) may write: never a
/// developer-only attribute (`dev:custom:…`, for the admin operations only), never the verified
/// flags (the codes are for that), and only the client's WriteAttributes when it lists them.
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html
pub fn check_client_writes(client: &UserPoolClientType, names: &[&str]) -> ApiResult<()> {
    let allowed = client.write_attributes.as_deref().filter(|a| !a.is_empty());
    let refused = names.iter().any(|name| {
        name.starts_with("dev:")
            || matches!(*name, "email_verified" | "phone_number_verified")
            || allowed.is_some_and(|allowed| !allowed.iter().any(|a| a == name))
    });
    if refused {
        return Err(api_error!(NotAuthorizedException, "A client attempted to write unauthorized attribute"));
    }
    Ok(())
}

/// Whether the client may read an attribute: all when it lists no ReadAttributes; `sub`, which
/// identifies the user, always.
pub fn can_read(client: &UserPoolClientType, name: &str) -> bool {
    name == "sub"
        || client
            .read_attributes
            .as_deref()
            .filter(|a| !a.is_empty())
            .is_none_or(|allowed| allowed.iter().any(|a| a == name))
}

/// The client secret itself, as RevokeToken and GetTokensFromRefreshToken take it (where other
/// operations take a SECRET_HASH), compared in constant time.
pub fn check_client_secret(client: &UserPoolClientType, given: Option<&str>) -> ApiResult<()> {
    if let Some(secret) = client.client_secret.as_deref()
        && !bool::from(secret.as_bytes().ct_eq(given.unwrap_or_default().as_bytes()))
    {
        return Err(api_error!(NotAuthorizedException, "Client authentication failed."));
    }
    Ok(())
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
}
