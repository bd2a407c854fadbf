//! Account recovery: attempt counters, password history, and the one transaction that completes
//! a reset.

use super::users::write_password;
use super::{Store, StoreResult, take_code};
use crate::domain::records::PasswordRecord;
// The counter SQL splices only constant table and column names.
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

async fn append_history(
    tx: &mut Transaction<'_, Any>,
    pool_id: &str,
    sub: &str,
    digest: &str,
    at: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO password_history (pool_id, sub, digest, created_at) VALUES ($1, $2, $3, $4)")
        .bind(pool_id)
        .bind(sub)
        .bind(digest)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A recovery request as recorded for audit.
#[derive(Debug, Clone)]
pub struct RecoveryEvent<'a> {
    pub pool_id: &'a str,
    pub sub: &'a str,
    pub client_id: Option<&'a str>,
    pub event: &'a str,
    pub ip_address: Option<&'a str>,
    pub analytics_endpoint_id: Option<&'a str>,
    pub created_at: i64,
}

impl Store {
    /// Counts one more event in the user's current window of `window_ms` and returns the count,
    /// the window included. One statement, so concurrent callers each see a distinct count.
    pub async fn bump_counter(
        &self,
        pool_id: &str,
        sub: &str,
        name: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<i64> {
        self.bump("user_counters", "sub", pool_id, sub, name, now, window_ms).await
    }

    /// The same for a name that is no user's (`name_key` is an HMAC of pool and name).
    pub async fn bump_name_counter(
        &self,
        pool_id: &str,
        name_key: &str,
        name: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<i64> {
        self.bump("name_counters", "name_key", pool_id, name_key, name, now, window_ms).await
    }

    #[allow(clippy::too_many_arguments, reason = "the key columns and the window")]
    async fn bump(
        &self,
        table: &'static str,
        key_column: &'static str,
        pool_id: &str,
        key: &str,
        name: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} (pool_id, {key_column}, name, window_start, count) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (pool_id, {key_column}, name) DO UPDATE SET \
             count = CASE WHEN {table}.window_start <= $5 THEN 1 ELSE {table}.count + 1 END, \
             window_start = CASE WHEN {table}.window_start <= $5 THEN $4 ELSE {table}.window_start END \
             RETURNING count"
        )))
        .bind(pool_id)
        .bind(key)
        .bind(name)
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("count")?)
    }

    /// Drops the counters of unknown names whose window started before `before`: nothing else
    /// ever deletes them, and each unknown name an attacker tries adds one. Returns how many.
    pub async fn prune_name_counters(&self, before: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM name_counters WHERE window_start < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub async fn reset_counter(&self, pool_id: &str, sub: &str, name: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_counters WHERE pool_id = $1 AND sub = $2 AND name = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's most recent earlier password hashes, newest first.
    pub async fn password_history(&self, pool_id: &str, sub: &str, limit: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT digest FROM password_history WHERE pool_id = $1 AND sub = $2 ORDER BY created_at DESC LIMIT $3",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("digest")?)).collect()
    }

    /// Completes a reset in one transaction: consumes the code if it is still the stored one,
    /// sets the new password with status CONFIRMED, moves the old hash into the history and
    /// clears the user's `counter`. False (and nothing changed) if the code was already used or
    /// replaced, which is how concurrent confirms of one code get exactly one success.
    #[allow(clippy::too_many_arguments, reason = "one use case, one transaction")]
    pub async fn complete_password_reset(
        &self,
        pool_id: &str,
        sub: &str,
        code_purpose: &str,
        code_hash: &str,
        password: &PasswordRecord,
        previous_hash: Option<&str>,
        counter: &str,
        at: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if !take_code(&mut *tx, pool_id, sub, code_purpose, code_hash).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        write_password(&mut tx, pool_id, sub, password, (None, Some("CONFIRMED")), at).await?;
        if let Some(previous) = previous_hash {
            append_history(&mut tx, pool_id, sub, previous, at).await?;
        }
        sqlx::query("DELETE FROM user_counters WHERE pool_id = $1 AND sub = $2 AND name = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(counter)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a new password outside a reset, in one transaction: only while the user's status is
    /// `only_from` (when given), moving to `status` (when given), with the replaced hash appended
    /// to the history. False, and nothing changed, if the status did not match.
    #[allow(clippy::too_many_arguments, reason = "one use case, one transaction")]
    pub async fn replace_password(
        &self,
        pool_id: &str,
        sub: &str,
        password: &PasswordRecord,
        only_from: Option<&str>,
        status: Option<&str>,
        previous_hash: Option<&str>,
        at: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if !write_password(&mut tx, pool_id, sub, password, (only_from, status), at).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(previous) = previous_hash {
            append_history(&mut tx, pool_id, sub, previous, at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn record_recovery_event(&self, e: &RecoveryEvent<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO recovery_events (id, pool_id, sub, client_id, event, ip_address, analytics_endpoint_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(e.pool_id)
        .bind(e.sub)
        .bind(e.client_id)
        .bind(e.event)
        .bind(e.ip_address)
        .bind(e.analytics_endpoint_id)
        .bind(e.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Recorded recovery events of a user, oldest first: (event, ip address, analytics endpoint id).
    pub async fn recovery_events(
        &self,
        pool_id: &str,
        sub: &str,
    ) -> StoreResult<Vec<(String, Option<String>, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT event, ip_address, analytics_endpoint_id FROM recovery_events WHERE pool_id = $1 AND sub = $2 \
             ORDER BY created_at, id",
        )
        .bind(pool_id)
        .bind(sub)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("event")?, r.try_get("ip_address")?, r.try_get("analytics_endpoint_id")?)))
            .collect()
    }
}
