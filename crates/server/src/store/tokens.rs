//! Signing keys and refresh tokens.

use super::{Store, StoreResult};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub token_use: String,
    pub private_key: String,
    pub active: bool,
}

impl Store {
    /// Keys of a pool, active first.
    pub async fn signing_keys(&self, pool_id: &str) -> StoreResult<Vec<KeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, token_use, private_key, active FROM signing_keys WHERE pool_id = $1 \
             ORDER BY active DESC, created_at DESC",
        )
        .bind(pool_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    kid: r.try_get("kid")?,
                    token_use: r.try_get("token_use")?,
                    private_key: r.try_get("private_key")?,
                    active: r.try_get::<i64, _>("active")? == 1,
                })
            })
            .collect()
    }

    /// Adds an active key unless one exists for that use (another node may have won the race).
    pub async fn add_signing_key(&self, pool_id: &str, key: &KeyRow, at: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (pool_id, kid, token_use, private_key, active, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT DO NOTHING",
        )
        .bind(pool_id)
        .bind(&key.kid)
        .bind(&key.token_use)
        .bind(&key.private_key)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an SRP secret block used; false if it was used before (a replay). Expired marks
    /// are pruned on the way.
    pub async fn use_secret_block(&self, id: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        sqlx::query("DELETE FROM used_secret_blocks WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        let done =
            sqlx::query("INSERT INTO used_secret_blocks (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    #[allow(clippy::too_many_arguments, reason = "the columns of one row")]
    pub async fn add_refresh_token(
        &self,
        token_hash: &str,
        pool_id: &str,
        sub: &str,
        client_id: &str,
        auth_time: i64,
        created_at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, pool_id, sub, client_id, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(pool_id)
        .bind(sub)
        .bind(client_id)
        .bind(auth_time)
        .bind(created_at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
