//! ID and access tokens: RS256 JWTs under per-pool keys (ID and access tokens under different
//! kids, docs/cognito-facts.md#tokens), the JWKS that verifies them, and opaque refresh tokens stored as hashes.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html

use crate::ctx::Ctx;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::keys::{RETIRED_KEY_KEPT_MS, SigningKey, TokenUse};
use crate::sealing;
use crate::services::{clients, pools, users};
use crate::store::{KeyRow, NewRefreshToken, UserRow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use userpool_model::types::{AuthenticationResultType, TimeUnitsType, UserPoolClientType};

/// Replaces the pool's active ID and access keys with new ones. Tokens signed under the old keys
/// keep verifying: the old keys stay in the JWKS for `RETIRED_KEY_KEPT_MS`.
pub async fn rotate_keys(ctx: &Ctx, pool_id: &str) -> ApiResult<()> {
    pools::load(ctx, pool_id).await?;
    let rows = ctx.hasher.run(|| [TokenUse::Id, TokenUse::Access].map(SigningKey::generate)).await?;
    let rows = rows.into_iter().map(|row| row.map(|row| sealed(ctx, pool_id, row))).collect::<ApiResult<Vec<_>>>()?;
    let now = ctx.clock.now_ms();
    ctx.store.rotate_signing_keys(pool_id, &rows, now, now - RETIRED_KEY_KEPT_MS).await?;
    ctx.keys.forget_pool(pool_id);
    Ok(())
}

/// A new key's row as it is stored: sealed under the master key, when one is configured.
fn sealed(ctx: &Ctx, pool_id: &str, row: KeyRow) -> KeyRow {
    let purpose = sealing::signing_key_purpose(pool_id, &row.kid);
    KeyRow { private_key: ctx.sealer.seal(&purpose, &row.private_key), ..row }
}

/// A stored key, opened and parsed.
fn opened(ctx: &Ctx, pool_id: &str, row: &KeyRow) -> ApiResult<SigningKey> {
    let purpose = sealing::signing_key_purpose(pool_id, &row.kid);
    let private_key = ctx.sealer.open(&purpose, &row.private_key).map_err(ApiError::internal)?;
    SigningKey::parse(&KeyRow { private_key, ..row.clone() })
}

/// The pool's active key for a token use, created on first use. RSA key generation is slow
/// (tens of milliseconds), so it runs on the hashing threads.
pub async fn active_key(ctx: &Ctx, pool_id: &str, token_use: TokenUse) -> ApiResult<Arc<SigningKey>> {
    if let Some(key) = ctx.keys.get(pool_id, token_use, ctx.clock.now_ms()) {
        return Ok(key);
    }
    let find = |rows: Vec<KeyRow>| rows.into_iter().find(|k| k.active && k.token_use == token_use.as_str());
    let row = match find(ctx.store.signing_keys(pool_id).await?) {
        Some(row) => row,
        None => {
            let row = sealed(ctx, pool_id, ctx.hasher.run(move || SigningKey::generate(token_use)).await??);
            ctx.store.add_signing_key(pool_id, &row, ctx.clock.now_ms()).await?;
            // Another node may have inserted first; the stored key wins.
            find(ctx.store.signing_keys(pool_id).await?).ok_or_else(|| ApiError::internal("signing key vanished"))?
        }
    };
    let key = Arc::new(opened(ctx, pool_id, &row)?);
    ctx.keys.insert(pool_id, token_use, Arc::clone(&key), ctx.clock.now_ms());
    Ok(key)
}

/// The JWKS document of a pool: every key, active or kept for verification.
pub async fn jwks(ctx: &Ctx, pool_id: &str) -> ApiResult<Value> {
    active_key(ctx, pool_id, TokenUse::Id).await?;
    active_key(ctx, pool_id, TokenUse::Access).await?;
    let keys: Vec<Value> = ctx
        .store
        .signing_keys(pool_id)
        .await?
        .iter()
        .map(|row| Ok(opened(ctx, pool_id, row)?.jwk()))
        .collect::<ApiResult<_>>()?;
    Ok(json!({ "keys": keys }))
}

/// The claims of a token of the `expected` kind this server signed for the pool, if its signature
/// verifies under one of the pool's keys for that kind and it has not expired. An ID token is
/// never accepted where an access token is expected, nor the other way round.
pub async fn verify(
    ctx: &Ctx,
    pool_id: &str,
    token: &str,
    expected: TokenUse,
) -> ApiResult<Option<Map<String, Value>>> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let decode_json = |s: &str| URL_SAFE_NO_PAD.decode(s).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let (Some(header), Some(Value::Object(claims)), Ok(signature)) =
        (decode_json(header), decode_json(payload), URL_SAFE_NO_PAD.decode(signature))
    else {
        return Ok(None);
    };
    if header["alg"] != "RS256" {
        return Ok(None);
    }
    let kid = header["kid"].as_str();
    // The active key is cached; only a token signed under an older key reads the store.
    let key = match ctx.keys.get(pool_id, expected, ctx.clock.now_ms()).filter(|k| Some(k.kid.as_str()) == kid) {
        Some(key) => key,
        None => {
            let found = ctx
                .store
                .signing_keys(pool_id)
                .await?
                .into_iter()
                .find(|k| Some(k.kid.as_str()) == kid && k.token_use == expected.as_str());
            match found {
                Some(row) => Arc::new(opened(ctx, pool_id, &row)?),
                None => return Ok(None),
            }
        }
    };
    let signed =
        format!("{}.{}", token.split('.').next().unwrap_or_default(), token.split('.').nth(1).unwrap_or_default());
    if !key.verifies(signed.as_bytes(), &signature) {
        return Ok(None);
    }
    let now = ctx.clock.now_ms() / 1000;
    if claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp <= now)
        || claims.get("token_use").and_then(Value::as_str) != Some(expected.as_str())
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Seconds in one unit of a client's token validity settings.
pub const fn unit_seconds(unit: TimeUnitsType) -> i64 {
    match unit {
        TimeUnitsType::Seconds => 1,
        TimeUnitsType::Minutes => 60,
        TimeUnitsType::Hours => 3600,
        TimeUnitsType::Days => 86_400,
    }
}

/// Seconds of a client's token validity: a value without a unit is in hours for access and ID
/// tokens and in days for refresh tokens (TokenValidityUnitsType's defaults); no value at all
/// is one hour and thirty days.
fn validity_seconds(value: Option<i32>, unit: Option<TimeUnitsType>, default_unit: TimeUnitsType, default: i64) -> i64 {
    value.map_or(default, |v| i64::from(v).saturating_mul(unit_seconds(unit.unwrap_or(default_unit))))
}

/// Everything a sign-in's tokens say.
pub struct Issue<'a> {
    pub issuer: String,
    pub pool: &'a Pool,
    /// The PreTokenGeneration triggerSource: `TokenGeneration_Authentication`, `_RefreshTokens`,
    /// `_NewPasswordChallenge`.
    pub source: &'static str,
    /// RespondToAuthChallenge's ClientMetadata, for PreTokenGeneration.
    pub client_metadata: Option<&'a std::collections::BTreeMap<String, String>>,
    pub client: &'a UserPoolClientType,
    pub user: &'a UserRow,
    /// Epoch seconds of the original sign-in (kept on refresh).
    pub auth_time: i64,
    pub refresh_token: RefreshGrant<'a>,
}

/// Whether tokens come with a refresh token.
pub enum RefreshGrant<'a> {
    /// A refresh without rotation returns ID and access tokens only.
    None,
    /// A sign-in starts a new family of refresh tokens.
    NewFamily,
    /// A rotation (GetTokensFromRefreshToken) replaces a token of this family; a revocation of
    /// the family or a GlobalSignOut after `began_at` voids it.
    Rotation { family: &'a str, began_at: i64 },
}

impl RefreshGrant<'_> {
    /// The family a new refresh token joins, and the moment after which a GlobalSignOut voids it.
    fn family_since(&self, issuing_from: i64) -> Option<(Option<&str>, i64)> {
        match *self {
            RefreshGrant::None => None,
            RefreshGrant::NewFamily => Some((None, issuing_from)),
            RefreshGrant::Rotation { family, began_at } => Some((Some(family), began_at)),
        }
    }
}

/// The ID, access and refresh tokens of a successful sign-in.
pub async fn issue(ctx: &Ctx, t: Issue<'_>) -> ApiResult<AuthenticationResultType> {
    let pool_id = t.pool.id.as_str();
    let client_id = t.client.client_id.as_deref().map_or("", String::as_str);
    let units = t.client.token_validity_units.clone().unwrap_or_default();
    let access_ttl = validity_seconds(t.client.access_token_validity, units.access_token, TimeUnitsType::Hours, 3600);
    let id_ttl = validity_seconds(t.client.id_token_validity, units.id_token, TimeUnitsType::Hours, 3600);
    let refresh_ttl =
        validity_seconds(t.client.refresh_token_validity, units.refresh_token, TimeUnitsType::Days, 30 * 86_400);
    let now_ms = ctx.clock.now_ms();
    let now = now_ms / 1000;
    let origin_jti = uuid::Uuid::new_v4().to_string();
    let event_id = uuid::Uuid::new_v4().to_string();

    let mut id_claims = Map::new();
    // Only the attributes the client may read (its ReadAttributes).
    for (name, value) in t.user.attributes.iter().filter(|(name, _)| clients::can_read(t.client, name)) {
        let claim = match name.as_str() {
            // Booleans are JSON booleans in ID tokens; custom attributes stay strings.
            "email_verified" | "phone_number_verified" => Value::Bool(value == "true"),
            "updated_at" => value.parse::<i64>().map_or_else(|_| Value::String(value.clone()), Value::from),
            _ => Value::String(value.clone()),
        };
        id_claims.insert(name.clone(), claim);
    }
    for (k, v) in [
        ("sub", json!(t.user.sub)),
        ("iss", json!(t.issuer)),
        ("cognito:username", json!(t.user.username)),
        ("origin_jti", json!(origin_jti)),
        ("aud", json!(client_id)),
        ("event_id", json!(event_id)),
        ("token_use", json!("id")),
        ("auth_time", json!(t.auth_time)),
        ("exp", json!(now + id_ttl)),
        ("iat", json!(now)),
        ("jti", json!(token_id(now_ms))),
    ] {
        id_claims.insert(k.to_string(), v);
    }
    // Both tokens list the user's groups, as Cognito's do, when there are any.
    let groups = crate::services::users::group_names(ctx, pool_id, &t.user.sub).await?;
    if !groups.is_empty() {
        id_claims.insert("cognito:groups".to_string(), json!(groups));
    }
    let mut access_claims = json!({
        "sub": t.user.sub, "iss": t.issuer, "client_id": client_id, "origin_jti": origin_jti, "event_id": event_id,
        "token_use": "access", "scope": USER_ADMIN_SCOPE, "auth_time": t.auth_time,
        "exp": now + access_ttl, "iat": now, "jti": token_id(now_ms), "username": t.user.username,
    });
    if !groups.is_empty() {
        access_claims["cognito:groups"] = json!(groups);
    }
    let Value::Object(mut access_claims) = access_claims else { unreachable!("a JSON object literal") };
    pre_token_generation(ctx, &t, client_id, &groups, &mut id_claims, &mut access_claims).await?;
    let id_token = active_key(ctx, pool_id, TokenUse::Id).await?.sign(&Value::Object(id_claims))?;
    let access_token = active_key(ctx, pool_id, TokenUse::Access).await?.sign(&Value::Object(access_claims))?;

    let refresh_token = if let Some((family, since)) = t.refresh_token.family_since(now_ms) {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 48]>());
        let hash = refresh_token_hash(&token);
        let new = NewRefreshToken {
            token_hash: &hash,
            pool_id,
            sub: &t.user.sub,
            client_id,
            auth_time: t.auth_time,
            created_at: now * 1000,
            expires_at: (now + refresh_ttl) * 1000,
        };
        if !ctx.store.add_refresh_token(&new, family, since).await? {
            // Signed out or revoked while the tokens were made (PreTokenGeneration may take
            // seconds): the ID and access tokens, issued as of `now_ms`, are refused as well.
            return Err(match family {
                Some(_) => crate::api_error!(NotAuthorizedException, "Refresh Token has been revoked"),
                None => crate::api_error!(NotAuthorizedException, "Access Token has been revoked"),
            });
        }
        Some(token.into())
    } else {
        None
    };
    Ok(AuthenticationResultType {
        access_token: Some(access_token.into()),
        expires_in: Some(i32::try_from(access_ttl).unwrap_or(i32::MAX)),
        token_type: Some("Bearer".into()),
        refresh_token,
        id_token: Some(id_token.into()),
        new_device_metadata: None,
    })
}

/// Claims a PreTokenGeneration function may not add, change or suppress; attempts are ignored
/// (whether Cognito ignores them or fails is not documented).
/// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
fn protected_claim(name: &str) -> bool {
    const FIXED: [&str; 22] = [
        "sub",
        "username",
        "identities",
        "device_key",
        "version",
        "aud",
        "client_id",
        "event_id",
        "acr",
        "amr",
        "at_hash",
        "auth_time",
        "azp",
        "exp",
        "iat",
        "iss",
        "jti",
        "nbf",
        "nonce",
        "origin_jti",
        "token_use",
        "scope",
    ];
    FIXED.contains(&name)
        || (name.starts_with("cognito:")
            && !matches!(name, "cognito:groups" | "cognito:roles" | "cognito:preferred_role"))
}

/// Applies one token's `claimsToAddOrOverride` then `claimsToSuppress` (suppression wins).
fn override_claims(claims: &mut Map<String, Value>, details: Option<&Value>, strings_only: bool) {
    let Some(details) = details else { return };
    if let Some(Value::Object(add)) = details.get("claimsToAddOrOverride") {
        for (name, value) in add {
            if !protected_claim(name) && (!strings_only || value.is_string()) {
                claims.insert(name.clone(), value.clone());
            }
        }
    }
    if let Some(Value::Array(names)) = details.get("claimsToSuppress") {
        for name in names.iter().filter_map(Value::as_str).filter(|n| !protected_claim(n)) {
            claims.remove(name);
            if name == "cognito:groups" {
                claims.remove("cognito:roles");
                claims.remove("cognito:preferred_role");
            }
        }
    }
}

/// Runs the pool's PreTokenGeneration function, if any, and applies its answer: version 1 changes
/// the ID token's claims and both tokens' groups; versions 2 and 3 change each token's claims and
/// the access token's scopes.
async fn pre_token_generation(
    ctx: &Ctx,
    t: &Issue<'_>,
    client_id: &str,
    groups: &[String],
    id_claims: &mut Map<String, Value>,
    access_claims: &mut Map<String, Value>,
) -> ApiResult<()> {
    use crate::triggers::{self, GroupConfiguration, Invocation, PreTokenGenerationRequest, Trigger};
    if !triggers::configured(t.pool, Trigger::PreTokenGeneration) {
        return Ok(());
    }
    let version = triggers::pre_token_version(t.pool);
    let request = PreTokenGenerationRequest {
        user_attributes: triggers::user_attributes(t.user),
        group_configuration: GroupConfiguration {
            groups_to_override: groups,
            iam_roles_to_override: [],
            preferred_role: None,
        },
        scopes: (version != "1").then(|| vec![USER_ADMIN_SCOPE]),
        client_metadata: t.client_metadata,
    };
    let call = Invocation { source: t.source, user_name: &t.user.username, client_id: Some(client_id) };
    let Some(response) = ctx.triggers.pre_token_generation(t.pool, call, &request).await? else { return Ok(()) };
    let group_details = if version == "1" {
        let details = response.claims_override_details.as_ref();
        override_claims(id_claims, details, true);
        details.and_then(|d| d.get("groupOverrideDetails"))
    } else {
        let details = response.claims_and_scope_override_details.as_ref();
        override_claims(id_claims, details.and_then(|d| d.get("idTokenGeneration")), false);
        let access = details.and_then(|d| d.get("accessTokenGeneration"));
        override_claims(access_claims, access, false);
        if let Some(access) = access {
            let mut scopes: Vec<String> = access_claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let list = |key: &str| -> Vec<String> {
                access.get(key).and_then(Value::as_array).map_or_else(Vec::new, |a| {
                    a.iter().filter_map(Value::as_str).filter(|s| !s.contains(' ')).map(str::to_string).collect()
                })
            };
            for scope in list("scopesToAdd") {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            let suppressed = list("scopesToSuppress");
            scopes.retain(|s| !suppressed.contains(s));
            access_claims.insert("scope".into(), Value::String(scopes.join(" ")));
        }
        details.and_then(|d| d.get("groupOverrideDetails"))
    };
    // groupOverrideDetails replaces the groups of both tokens; an empty list removes them.
    if let Some(Value::Object(group_details)) = group_details {
        let overridden: Vec<Value> = group_details
            .get("groupsToOverride")
            .and_then(Value::as_array)
            .map(|groups| groups.iter().filter(|g| g.is_string()).cloned().collect())
            .unwrap_or_default();
        for claims in [&mut *id_claims, &mut *access_claims] {
            if overridden.is_empty() {
                claims.remove("cognito:groups");
            } else {
                claims.insert("cognito:groups".into(), Value::Array(overridden.clone()));
            }
        }
    }
    Ok(())
}

/// The scope of the access tokens a sign-in issues, which the self-service operations require.
const USER_ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// The pool, user and claims behind an access token sent to a token-bearing operation
/// (GetUser, ChangePassword, GlobalSignOut, ...). `Invalid Access Token` unless it is an access
/// token this server signed, unexpired, issued after the user's last GlobalSignOut.
pub async fn access_token_user(ctx: &Ctx, token: &str) -> ApiResult<TokenUser> {
    let invalid = || crate::api_error!(NotAuthorizedException, "Invalid Access Token");
    // The pool is the last segment of the issuer; the signature is checked against its keys.
    let pool_id = unverified_pool_id(token).ok_or_else(invalid)?;
    let pool = match pools::load(ctx, &pool_id).await {
        Ok(pool) => pool,
        Err(e) if e.code() == userpool_model::ErrorCode::ResourceNotFoundException => return Err(invalid()),
        Err(e) => return Err(e),
    };
    let claims = verify(ctx, &pool.id, token, TokenUse::Access).await?.ok_or_else(invalid)?;
    // The self-service operations need the scope Cognito gives them; a PreTokenGeneration
    // function may have taken it away.
    let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
    if !scopes.split(' ').any(|s| s == USER_ADMIN_SCOPE) {
        return Err(crate::api_error!(NotAuthorizedException, "Access Token does not have required scopes"));
    }
    let sub = claims.get("sub").and_then(Value::as_str).ok_or_else(invalid)?;
    let user = ctx.store.find_user_by_sub(&pool.id, sub).await?.ok_or_else(invalid)?;
    if user.tokens_revoked_at.is_some_and(|revoked| issued_ms(&claims) <= revoked) {
        return Err(crate::api_error!(NotAuthorizedException, "Access Token has been revoked"));
    }
    if !user.enabled {
        return Err(users::user_disabled());
    }
    // The token's client decides what its bearer may read and write: a token whose client was
    // deleted is refused, not served with no limits.
    let client_id = claims.get("client_id").and_then(Value::as_str).unwrap_or_default();
    let client = match ctx.store.find_client(Some(&pool.id), client_id).await? {
        Some((_, row)) => serde_json::from_str(&row.config).map_err(ApiError::internal)?,
        None => return Err(invalid()),
    };
    Ok(TokenUser { pool, user, claims, client })
}

/// The pool, user, claims and app client behind an access token.
pub struct TokenUser {
    pub pool: Pool,
    pub user: UserRow,
    pub claims: Map<String, Value>,
    pub client: UserPoolClientType,
}

/// A token's `jti`: a UUIDv7, whose first 48 bits are the millisecond it was issued, so that a
/// GlobalSignOut refuses exactly the tokens issued up to it (`iat` has whole seconds only).
fn token_id(now_ms: i64) -> String {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &rand::random::<[u8; 10]>()).into_uuid().to_string()
}

/// The millisecond a token was issued: from its UUIDv7 `jti`, or (tokens from before) the start of
/// its `iat` second, which refuses them as before.
fn issued_ms(claims: &Map<String, Value>) -> i64 {
    let from_jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .and_then(|jti| uuid::Uuid::parse_str(jti).ok())
        .filter(|id| id.get_version_num() == 7)
        .and_then(|id| id.get_timestamp())
        .map(|t| {
            let (seconds, nanos) = t.to_unix();
            i64::try_from(seconds).unwrap_or(i64::MAX).saturating_mul(1000) + i64::from(nanos / 1_000_000)
        });
    from_jti.unwrap_or_else(|| claims.get("iat").and_then(Value::as_i64).unwrap_or(0).saturating_mul(1000))
}

/// The pool an access token says it is from (the last segment of `iss`), before any check.
pub fn unverified_pool_id(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["iss"].as_str()?.rsplit('/').next().map(str::to_string)
}

/// Refresh tokens are kept only as this hash.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `iss`: the issuer base (configured, or the URL the request came to) and the pool id.
pub fn issuer(base: &str, pool_id: &str) -> String {
    format!("{}/{pool_id}", base.trim_end_matches('/'))
}
