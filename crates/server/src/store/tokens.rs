//! Signing keys and refresh tokens.

use super::{Store, StoreResult};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct RefreshTokenRow {
    pub pool_id: String,
    pub sub: String,
    pub client_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

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

    /// A refresh token by its hash: (pool, sub, client id, auth time, expires at, revoked).
    pub async fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
        let row = sqlx::query(
            "SELECT pool_id, sub, client_id, auth_time, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(RefreshTokenRow {
                pool_id: r.try_get("pool_id")?,
                sub: r.try_get("sub")?,
                client_id: r.try_get("client_id")?,
                auth_time: r.try_get("auth_time")?,
                expires_at: r.try_get("expires_at")?,
                revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Revokes one refresh token (RevokeToken); false if it is unknown or of another client.
    pub async fn revoke_refresh_token(&self, token_hash: &str, client_id: &str, at: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE token_hash = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(client_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// GlobalSignOut: every refresh token of the user is revoked, and access and ID tokens issued
    /// up to now are refused from now on.
    pub async fn sign_out_everywhere(&self, pool_id: &str, sub: &str, at_ms: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $3 WHERE pool_id = $1 AND sub = $2 AND revoked_at IS NULL")
            .bind(pool_id)
            .bind(sub)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET tokens_revoked_at = $3 WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .bind(at_ms / 1000)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
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
