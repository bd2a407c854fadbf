//! Signing keys and refresh tokens.

use super::{Store, StoreResult, lock_user};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct RefreshTokenRow {
    pub pool_id: String,
    pub sub: String,
    pub client_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub revoked: bool,
    /// The hash of the sign-in's refresh token that this one descends from by rotation.
    pub family: String,
    /// When a rotation replaced this token (its grace period starts then).
    pub rotated_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub token_use: String,
    pub private_key: String,
    pub active: bool,
}

/// A refresh token to store: only its hash is kept.
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub pool_id: &'a str,
    pub sub: &'a str,
    pub client_id: &'a str,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An active key, unless the pool has one for that use already (the unique partial index
/// `signing_keys_active`): concurrent first sign-ins or rotations on several nodes agree on one.
const INSERT_ACTIVE_KEY: &str = "INSERT INTO signing_keys (pool_id, kid, token_use, private_key, active, created_at) \
                                 VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT DO NOTHING";

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

    /// Rewrites every stored private key with `f(pool, kid, key)` (sealing or resealing), in one transaction; an
    /// error from `f` changes nothing.
    pub async fn reseal_signing_keys(
        &self,
        f: impl Fn(&str, &str, &str) -> Result<String, String>,
    ) -> StoreResult<Result<(), String>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query("SELECT pool_id, kid, private_key FROM signing_keys").fetch_all(&mut *tx).await?;
        for row in rows {
            let key: String = row.try_get("private_key")?;
            let (pool_id, kid): (String, String) = (row.try_get("pool_id")?, row.try_get("kid")?);
            let resealed = match f(&pool_id, &kid, &key) {
                Ok(k) => k,
                Err(e) => {
                    tx.rollback().await?;
                    return Ok(Err(e));
                }
            };
            if resealed != key {
                sqlx::query("UPDATE signing_keys SET private_key = $3 WHERE pool_id = $1 AND kid = $2")
                    .bind(&pool_id)
                    .bind(&kid)
                    .bind(resealed)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Adds an active key unless one exists for that use (another node may have won the race).
    pub async fn add_signing_key(&self, pool_id: &str, key: &KeyRow, at: i64) -> StoreResult<()> {
        sqlx::query(INSERT_ACTIVE_KEY)
            .bind(pool_id)
            .bind(&key.kid)
            .bind(&key.token_use)
            .bind(&key.private_key)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Rotation: the pool's active keys retire (they stay in the JWKS to verify the tokens they
    /// signed), keys retired before `prune_before` go, and `new_keys` become the active ones.
    pub async fn rotate_signing_keys(
        &self,
        pool_id: &str,
        new_keys: &[KeyRow],
        at: i64,
        prune_before: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM signing_keys WHERE pool_id = $1 AND active = 0 AND retired_at < $2")
            .bind(pool_id)
            .bind(prune_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE signing_keys SET active = 0, retired_at = $2 WHERE pool_id = $1 AND active = 1")
            .bind(pool_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        for key in new_keys {
            sqlx::query(INSERT_ACTIVE_KEY)
                .bind(pool_id)
                .bind(&key.kid)
                .bind(&key.token_use)
                .bind(&key.private_key)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
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
            "SELECT pool_id, sub, client_id, auth_time, expires_at, revoked_at, \
             COALESCE(family, token_hash) AS family, rotated_at FROM refresh_tokens WHERE token_hash = $1",
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
                family: r.try_get("family")?,
                rotated_at: r.try_get("rotated_at")?,
            })
        })
        .transpose()
    }

    /// Revokes a refresh token and every token rotation made from the same sign-in (RevokeToken);
    /// false if it is unknown, of another client or revoked already.
    pub async fn revoke_refresh_token(&self, token_hash: &str, client_id: &str, at: i64) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let owner = sqlx::query("SELECT pool_id, sub FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2")
            .bind(token_hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(owner) = owner else {
            tx.rollback().await?;
            return Ok(false);
        };
        let (pool_id, sub): (String, String) = (owner.try_get("pool_id")?, owner.try_get("sub")?);
        lock_user(&mut tx, &pool_id, &sub).await?;
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE revoked_at IS NULL AND COALESCE(family, token_hash) = \
             (SELECT COALESCE(family, token_hash) FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2)",
        )
        .bind(token_hash)
        .bind(client_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() >= 1)
    }

    /// Marks a refresh token rotated out; false if a rotation got there first.
    pub async fn mark_refresh_token_rotated(&self, token_hash: &str, at: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// GlobalSignOut: every refresh token of the user is revoked, and access and ID tokens issued
    /// up to now are refused from now on.
    pub async fn sign_out_everywhere(&self, pool_id: &str, sub: &str, at_ms: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The user's row first: a rotation that locked it before has stored its token, which the
        // UPDATE below then revokes; one that locks it after sees this sign-out.
        sqlx::query("UPDATE users SET tokens_revoked_at = $3 WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $3 WHERE pool_id = $1 AND sub = $2 AND revoked_at IS NULL")
            .bind(pool_id)
            .bind(sub)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a refresh token unless a GlobalSignOut happened at or after `since` (when the
    /// tokens began to be issued) or, for a rotation's token, something revoked its `family`;
    /// false then, and nothing is stored. The user's row is locked first, as GlobalSignOut and
    /// RevokeToken lock it, so a revocation either sees the new token or is seen by this check.
    pub async fn add_refresh_token(
        &self,
        t: &NewRefreshToken<'_>,
        family: Option<&str>,
        since: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        lock_user(&mut tx, t.pool_id, t.sub).await?;
        let revoked: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM refresh_tokens WHERE pool_id = $1 AND sub = $2 \
             AND COALESCE(family, token_hash) = $3 AND revoked_at IS NOT NULL) + (SELECT COUNT(*) FROM users \
             WHERE pool_id = $1 AND sub = $2 AND tokens_revoked_at >= $4) AS revoked",
        )
        .bind(t.pool_id)
        .bind(t.sub)
        .bind(family.unwrap_or(""))
        .bind(since)
        .fetch_one(&mut *tx)
        .await?
        .try_get("revoked")?;
        if revoked > 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, pool_id, sub, client_id, auth_time, created_at, expires_at, family) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.token_hash)
        .bind(t.pool_id)
        .bind(t.sub)
        .bind(t.client_id)
        .bind(t.auth_time)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(family)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
