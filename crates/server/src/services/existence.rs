//! PreventUserExistenceErrors: with ENABLED, an unknown name meets what a real user meets.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html

use crate::ctx::Ctx;
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use userpool_model::types::UserPoolClientType;

/// PreventUserExistenceErrors ENABLED: unknown and disabled users get the answers real ones get.
pub fn hides_users(client: &UserPoolClientType) -> bool {
    client.prevent_user_existence_errors == Some(userpool_model::types::PreventUserExistenceErrorTypes::Enabled)
}

/// Counts an event for a name that is no user's in the pool (PreventUserExistenceErrors
/// ENABLED), so that it meets the limits a real user would; returns the count in the window.
pub async fn bump_unknown_name(ctx: &Ctx, pool: &Pool, name: &str, counter: &str, window_ms: i64) -> ApiResult<i64> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&ctx.code_key).expect("HMAC takes keys of any length");
    for part in ["unknown-name", pool.id.as_str(), pool.key(name).as_str()] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    let key = hex::encode(mac.finalize().into_bytes());
    Ok(ctx.store.bump_name_counter(&pool.id, &key, counter, ctx.clock.now_ms(), window_ms).await?)
}
