//! Setting a password: the pool's policy, the history (PasswordHistorySize), and the argon2 hash
//! with the SRP verifier that every password set stores.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::ids::pool_name_of;
use crate::domain::password_policy;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::hashing::PasswordHasher;
use crate::srp;
use crate::store::{PasswordRecord, UserRow};
use subtle::ConstantTimeEq;

/// Hashes a new password and derives the SRP salt and verifier USER_SRP_AUTH needs, in one
/// blocking task. `earlier` holds the user's current hash first, then older ones: the new hash
/// reuses the current one's salt, and the answer says whether the password equals any of them
/// (one argon2 computation however long the history; docs/recovery.md#password-policy-and-history).
pub async fn password_record(
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
pub async fn earlier_hashes(ctx: &Ctx, pool: &Pool, user: &UserRow) -> ApiResult<Vec<String>> {
    let mut earlier: Vec<String> = user.password_hash.iter().cloned().collect();
    let size = i64::from(pool.password_policy().password_history_size.unwrap_or(0));
    if size > 1 {
        earlier.extend(ctx.store.password_history(&pool.id, &user.sub, size - 1).await?);
    }
    Ok(earlier)
}

/// Checks a new password against the pool's policy and history and hashes it: the one path for
/// every operation that replaces a user's password.
pub async fn new_password_for(
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

/// Cognito does not publish this message (docs/cognito-facts.md#open-questions); this is userpool's wording.
pub fn password_reused() -> ApiError {
    api_error!(
        PasswordHistoryPolicyViolationException,
        "The password has been used recently; choose one that is not among the last passwords of this user."
    )
}

/// PasswordHistorySize ≥ 1: a new password may equal none of the last n (the current included).
pub fn enforces_history(pool: &Pool) -> bool {
    pool.password_policy().password_history_size.unwrap_or(0) > 0
}
