//! Checking a one-time code a user typed: the live code, the wrong-guess budget, the comparison.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::codes;
use crate::error::{ApiError, ApiResult};
use crate::store::StoredCode;

pub fn code_mismatch() -> ApiError {
    api_error!(CodeMismatchException, "Invalid verification code provided, please try again.")
}

pub fn code_expired() -> ApiError {
    api_error!(ExpiredCodeException, "Invalid code provided, please request a code again.")
}

pub fn attempts_exceeded() -> ApiError {
    api_error!(LimitExceededException, "Attempt limit exceeded, please try after some time.")
}

pub const HOUR_MS: i64 = 3_600_000;

/// Checks a code the user typed against the live code in `slot`. With no live code there is
/// nothing to guess and nothing is counted (otherwise anyone could spend a user's budget before
/// a code exists). Every guess at a live code takes a unit of the hourly `budget` under
/// `counter` before it is compared, so concurrent guesses never get more than the budget
/// compared. The caller consumes the returned code.
pub async fn check_code(
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
