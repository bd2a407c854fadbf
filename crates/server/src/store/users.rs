//! Users, their attributes, aliases and one-time codes.

use super::{Store, StoreError, StoreResult, is_unique_violation, lock_user, take_code};
use crate::domain::records::{
    AliasKind, AttributeChange, FilterTarget, NewCode, NewUser, PasswordRecord, StoredCode, UserFilter, UserRow,
};
use sqlx::any::AnyRow;
// Dynamic SQL here only splices constant column and table lists and numbered placeholders.
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use std::collections::HashMap;

/// The one statement that writes a password (with its SRP salt and verifier): only while the
/// status is `only_from` (when given), moving to `status` (when given). False if no row matched.
pub(super) async fn write_password(
    conn: &mut sqlx::AnyConnection,
    pool_id: &str,
    sub: &str,
    password: &PasswordRecord,
    (only_from, status): (Option<&str>, Option<&str>),
    at: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $3, srp_salt = $4, srp_verifier = $5, password_set_at = $6, \
         updated_at = $6, status = COALESCE($7, status) WHERE pool_id = $1 AND sub = $2 AND ($8 = '' OR status = $8)",
    )
    .bind(pool_id)
    .bind(sub)
    .bind(&password.hash)
    .bind(&password.srp_salt)
    .bind(&password.srp_verifier)
    .bind(at)
    .bind(status)
    .bind(only_from.unwrap_or(""))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user's attributes as the transaction sees them.
async fn current_attributes(
    tx: &mut Transaction<'_, Any>,
    pool_id: &str,
    sub: &str,
) -> StoreResult<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT name, value FROM user_attributes WHERE pool_id = $1 AND sub = $2")
        .bind(pool_id)
        .bind(sub)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("value")?))).collect()
}

async fn apply_attribute_change(
    tx: &mut Transaction<'_, Any>,
    pool_id: &str,
    sub: &str,
    change: &AttributeChange,
) -> StoreResult<()> {
    for (name, value) in &change.set {
        sqlx::query(
            "INSERT INTO user_attributes (pool_id, sub, name, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (pool_id, sub, name) DO UPDATE SET value = excluded.value",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(name)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    for name in &change.remove {
        sqlx::query("DELETE FROM user_attributes WHERE pool_id = $1 AND sub = $2 AND name = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(name)
            .execute(&mut **tx)
            .await?;
    }
    for (kind, key) in &change.aliases {
        sqlx::query("DELETE FROM user_aliases WHERE pool_id = $1 AND sub = $2 AND kind = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(kind.attribute())
            .execute(&mut **tx)
            .await?;
        if let Some(key) = key {
            insert_alias(tx, pool_id, sub, *kind, key).await?;
        }
    }
    for slot in &change.void_codes {
        sqlx::query("DELETE FROM user_codes WHERE pool_id = $1 AND sub = $2 AND purpose = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(slot)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE users SET updated_at = $3 WHERE pool_id = $1 AND sub = $2")
        .bind(pool_id)
        .bind(sub)
        .bind(change.updated_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const USER_COLUMNS: &str = "pool_id, sub, username, status, enabled, created_at, updated_at, password_hash, \
                            password_set_at, srp_salt, srp_verifier, tokens_revoked_at";

fn user_row(r: &AnyRow) -> StoreResult<UserRow> {
    Ok(UserRow {
        pool_id: r.try_get("pool_id")?,
        sub: r.try_get("sub")?,
        username: r.try_get("username")?,
        status: r.try_get("status")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        password_hash: r.try_get("password_hash")?,
        password_set_at: r.try_get("password_set_at")?,
        srp_salt: r.try_get("srp_salt")?,
        srp_verifier: r.try_get("srp_verifier")?,
        tokens_revoked_at: r.try_get("tokens_revoked_at")?,
        attributes: Vec::new(),
    })
}

fn sort_attributes(attributes: &mut [(String, String)]) {
    attributes.sort_by(|(a, _), (b, _)| (a != "sub", a).cmp(&(b != "sub", b)));
}

async fn insert_alias(
    tx: &mut Transaction<'_, Any>,
    pool_id: &str,
    sub: &str,
    kind: AliasKind,
    key: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO user_aliases (pool_id, kind, value_key, sub) VALUES ($1, $2, $3, $4)")
        .bind(pool_id)
        .bind(kind.attribute())
        .bind(key)
        .bind(sub)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("alias:{}", kind.attribute())) } else { e.into() }
        })?;
    Ok(())
}

impl Store {
    /// Creates a user with attributes and aliases. `Conflict("username")` or
    /// `Conflict("alias:<attribute>")` when a key is taken.
    pub async fn create_user(&self, u: &NewUser) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let (hash, salt, verifier) = match &u.password {
            Some(p) => (Some(p.hash.as_str()), Some(p.srp_salt.as_str()), Some(p.srp_verifier.as_str())),
            None => (None, None, None),
        };
        sqlx::query(
            "INSERT INTO users (pool_id, sub, username, username_key, status, enabled, created_at, updated_at, \
             password_hash, password_set_at, srp_salt, srp_verifier) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)",
        )
        .bind(&u.pool_id)
        .bind(&u.sub)
        .bind(&u.username)
        .bind(&u.username_key)
        .bind(&u.status)
        .bind(i64::from(u.enabled))
        .bind(u.created_at)
        .bind(hash)
        .bind(hash.map(|_| u.created_at))
        .bind(salt)
        .bind(verifier)
        .execute(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("username".into()) } else { e.into() })?;
        for (name, value) in &u.attributes {
            sqlx::query("INSERT INTO user_attributes (pool_id, sub, name, value) VALUES ($1, $2, $3, $4)")
                .bind(&u.pool_id)
                .bind(&u.sub)
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        for (kind, key) in &u.aliases {
            if u.force_aliases {
                sqlx::query("DELETE FROM user_aliases WHERE pool_id = $1 AND kind = $2 AND value_key = $3")
                    .bind(&u.pool_id)
                    .bind(kind.attribute())
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_alias(&mut tx, &u.pool_id, &u.sub, *kind, key).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn with_attributes(&self, mut user: UserRow) -> StoreResult<UserRow> {
        let rows = sqlx::query("SELECT name, value FROM user_attributes WHERE pool_id = $1 AND sub = $2")
            .bind(&user.pool_id)
            .bind(&user.sub)
            .fetch_all(&self.pool)
            .await?;
        user.attributes =
            rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("value")?))).collect::<StoreResult<_>>()?;
        sort_attributes(&mut user.attributes);
        Ok(user)
    }

    pub async fn find_user_by_username(&self, pool_id: &str, username_key: &str) -> StoreResult<Option<UserRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND username_key = $2"
        )))
        .bind(pool_id)
        .bind(username_key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.with_attributes(user_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    pub async fn find_user_by_sub(&self, pool_id: &str, sub: &str) -> StoreResult<Option<UserRow>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND sub = $2")))
                .bind(pool_id)
                .bind(sub)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(r) => Ok(Some(self.with_attributes(user_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    pub async fn find_user_by_alias(&self, pool_id: &str, kind: AliasKind, key: &str) -> StoreResult<Option<UserRow>> {
        let row = sqlx::query("SELECT sub FROM user_aliases WHERE pool_id = $1 AND kind = $2 AND value_key = $3")
            .bind(pool_id)
            .bind(kind.attribute())
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => self.find_user_by_sub(pool_id, &r.try_get::<String, _>("sub")?).await,
            None => Ok(None),
        }
    }

    /// Sets and removes attributes and replaces the user's aliases of the given kinds (None
    /// removes the alias), in one transaction.
    /// Applies attribute changes, aliases and voided codes in one transaction, under the user's
    /// row lock: `plan` makes the change from the attributes as they are then, so a concurrent
    /// change is never overwritten with what was read before it.
    pub async fn update_user_attributes(
        &self,
        pool_id: &str,
        sub: &str,
        plan: impl FnOnce(&[(String, String)]) -> AttributeChange,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        lock_user(&mut tx, pool_id, sub).await?;
        let change = plan(&current_attributes(&mut tx, pool_id, sub).await?);
        apply_attribute_change(&mut tx, pool_id, sub, &change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// VerifyUserAttribute: consumes the code in `slot` if it is still `code_hash` and, when the
    /// code is bound to a value, only while `attribute` still has that value; then applies the
    /// change (the verified flag, a waiting value), all in one transaction under the user's row
    /// lock, which every attribute change takes first. False, and nothing changed, otherwise.
    pub async fn verify_attribute(
        &self,
        pool_id: &str,
        sub: &str,
        (slot, code_hash): (&str, &str),
        bound: Option<(&str, &str)>,
        plan: impl FnOnce(&[(String, String)]) -> AttributeChange,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        lock_user(&mut tx, pool_id, sub).await?;
        if !take_code(&mut *tx, pool_id, sub, slot, code_hash).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let current = current_attributes(&mut tx, pool_id, sub).await?;
        if let Some((attribute, value)) = bound
            && !current.iter().any(|(n, v)| n == attribute && v == value)
        {
            tx.rollback().await?;
            return Ok(false);
        }
        apply_attribute_change(&mut tx, pool_id, sub, &plan(&current)).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_user_status(&self, pool_id: &str, sub: &str, status: &str, at: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET status = $3, updated_at = $4 WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .bind(status)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_user_enabled(&self, pool_id: &str, sub: &str, enabled: bool, at: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET enabled = $3, updated_at = $4 WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .bind(i64::from(enabled))
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_user(&self, pool_id: &str, sub: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // The user's row first, the order every writer of a user follows (no deadlock).
        lock_user(&mut tx, pool_id, sub).await?;
        // Recovery events go too: they hold the user's IP addresses.
        for table in [
            "group_members",
            "recovery_events",
            "refresh_tokens",
            "password_history",
            "user_counters",
            "user_codes",
            "user_aliases",
            "user_attributes",
        ] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE pool_id = $1 AND sub = $2")))
                .bind(pool_id)
                .bind(sub)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM users WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Users in username order after `after` (a username key), at most `limit`.
    pub async fn list_users(
        &self,
        pool_id: &str,
        filter: Option<&UserFilter>,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>> {
        // $4 is the filter value, $5 its length in characters (for prefixes), $6 the attribute.
        let condition = match filter.map(|f| (&f.target, f.prefix)) {
            None => "",
            Some((FilterTarget::Username, false)) => "AND u.username = $4",
            Some((FilterTarget::Username, true)) => "AND substr(u.username, 1, CAST($5 AS INTEGER)) = $4",
            Some((FilterTarget::Status, false)) => "AND u.status = $4",
            Some((FilterTarget::Status, true)) => "AND substr(u.status, 1, CAST($5 AS INTEGER)) = $4",
            Some((FilterTarget::Sub, false)) => "AND u.sub = $4",
            Some((FilterTarget::Sub, true)) => "AND substr(u.sub, 1, CAST($5 AS INTEGER)) = $4",
            Some((FilterTarget::Enabled, _)) => "AND u.enabled = $5",
            // Attribute filters start from the attribute rows, so an equality filter reads the
            // (pool, name, value) index instead of walking every user of the pool in username
            // order (issue 6: a million-user pool). SQLite keeps the written order of a CROSS
            // JOIN; PostgreSQL plans it as any inner join.
            Some((FilterTarget::Attribute(_), false)) => {
                "AND a.pool_id = $1 AND a.name = $6 AND a.value = $4 AND u.pool_id = a.pool_id AND u.sub = a.sub"
            }
            Some((FilterTarget::Attribute(_), true)) => {
                "AND a.pool_id = $1 AND a.name = $6 AND substr(a.value, 1, CAST($5 AS INTEGER)) = $4 \
                 AND u.pool_id = a.pool_id AND u.sub = a.sub"
            }
        };
        let source = match filter.map(|f| &f.target) {
            Some(FilterTarget::Attribute(_)) => "user_attributes a CROSS JOIN users u",
            _ => "users u",
        };
        let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns}, u.username_key FROM {source} WHERE u.pool_id = $1 AND u.username_key > $2 {condition} \
             ORDER BY u.username_key LIMIT $3"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(pool_id).bind(after.unwrap_or("")).bind(limit);
        if let Some(f) = filter {
            let number = match f.target {
                FilterTarget::Enabled => i64::from(f.value == "Enabled"),
                _ => i64::try_from(f.value.chars().count()).unwrap_or(i64::MAX),
            };
            query = query.bind(f.value.clone()).bind(number);
            if let FilterTarget::Attribute(name) = &f.target {
                query = query.bind(name.clone());
            }
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut users: Vec<UserRow> = rows.iter().map(user_row).collect::<StoreResult<_>>()?;
        if users.is_empty() {
            return Ok(users);
        }
        let placeholders: Vec<String> = (0..users.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT sub, name, value FROM user_attributes WHERE pool_id = $1 AND sub IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(pool_id);
        for u in &users {
            query = query.bind(u.sub.clone());
        }
        let mut by_sub: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for r in query.fetch_all(&self.pool).await? {
            by_sub.entry(r.try_get("sub")?).or_default().push((r.try_get("name")?, r.try_get("value")?));
        }
        for u in &mut users {
            u.attributes = by_sub.remove(&u.sub).unwrap_or_default();
            sort_attributes(&mut u.attributes);
        }
        Ok(users)
    }

    /// The username key of a user, for pagination tokens.
    pub async fn username_key(&self, pool_id: &str, sub: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT username_key FROM users WHERE pool_id = $1 AND sub = $2")
            .bind(pool_id)
            .bind(sub)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("username_key")?)).transpose()
    }

    // ---- one-time codes ----

    /// Stores a user's code for a purpose, replacing any older one (and its pending value).
    #[allow(clippy::too_many_arguments, reason = "the columns of one row")]
    pub async fn put_code(&self, pool_id: &str, sub: &str, code: &NewCode<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_codes (pool_id, sub, purpose, code_hash, created_at, expires_at, pending_value, sent_to) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (pool_id, sub, purpose) DO UPDATE SET code_hash = excluded.code_hash, \
             created_at = excluded.created_at, expires_at = excluded.expires_at, \
             pending_value = excluded.pending_value, sent_to = excluded.sent_to",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(code.slot)
        .bind(code.code_hash)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.pending_value)
        .bind(code.sent_to)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored code for a purpose.
    pub async fn find_code(&self, pool_id: &str, sub: &str, purpose: &str) -> StoreResult<Option<StoredCode>> {
        let row = sqlx::query(
            "SELECT code_hash, expires_at, pending_value, sent_to FROM user_codes \
             WHERE pool_id = $1 AND sub = $2 AND purpose = $3",
        )
        .bind(pool_id)
        .bind(sub)
        .bind(purpose)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredCode {
                code_hash: r.try_get("code_hash")?,
                expires_at: r.try_get("expires_at")?,
                pending_value: r.try_get("pending_value")?,
                sent_to: r.try_get("sent_to")?,
            })
        })
        .transpose()
    }

    /// Drops a user's code for a purpose, if any.
    pub async fn delete_code(&self, pool_id: &str, sub: &str, purpose: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_codes WHERE pool_id = $1 AND sub = $2 AND purpose = $3")
            .bind(pool_id)
            .bind(sub)
            .bind(purpose)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Consumes the code if it is still the stored one (single use, even when two requests race).
    pub async fn consume_code(&self, pool_id: &str, sub: &str, purpose: &str, code_hash: &str) -> StoreResult<bool> {
        take_code(&self.pool, pool_id, sub, purpose, code_hash).await
    }
}
