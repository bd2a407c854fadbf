//! Persistence for pools, clients, users, codes and messages.
//!
//! One implementation serves SQLite and PostgreSQL: sqlx's `Any` driver runs the same SQL
//! (`$N` placeholders, BIGINT for every integer and boolean, TEXT for JSON) and the same
//! migrations on both, so there is no per-backend trait or macro (docs/decisions.md#storage-sqlx-any). Each public
//! method is one use case and, where it writes more than one row, one transaction.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};
use std::time::Duration;

mod groups;
mod recovery;
mod tokens;
mod users;

pub use crate::domain::records::{
    AliasKind, AttributeChange, FilterTarget, NewCode, NewUser, PasswordRecord, StoredCode, UserFilter, UserRow,
};
pub use recovery::RecoveryEvent;
pub use tokens::{KeyRow, NewRefreshToken, RefreshTokenRow};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every table with rows of a pool, children before parents: what deleting a pool (and a reset)
/// removes before the pool row itself.
const POOL_TABLES: [&str; 14] = [
    "group_members",
    "user_groups",
    "name_counters",
    "refresh_tokens",
    "signing_keys",
    "recovery_events",
    "messages",
    "password_history",
    "user_counters",
    "user_codes",
    "user_aliases",
    "user_attributes",
    "users",
    "user_pool_clients",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken; the payload names which (`username`, `alias:email`, ...).
    #[error("conflict on {0}")]
    Conflict(String),
    #[error(transparent)]
    Backend(#[from] sqlx::Error),
    #[error("stored JSON is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Storage failures are internal unless a handler maps them first (a `Conflict` usually means
/// `UsernameExistsException` or `AliasExistsException`, which only the handler can tell).
impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> crate::error::ApiError {
        crate::error::ApiError::internal(e)
    }
}

/// Takes the user's row lock (PostgreSQL; SQLite's one connection serialises anyway): the first
/// step of every transaction that changes a user's attributes, codes, or tokens' validity
/// (attribute changes, verification, GlobalSignOut, RevokeToken, new refresh tokens, deletion),
/// so that they happen one after the other and in one order (no deadlock).
async fn lock_user(tx: &mut sqlx::Transaction<'_, sqlx::Any>, pool_id: &str, sub: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET updated_at = updated_at WHERE pool_id = $1 AND sub = $2")
        .bind(pool_id)
        .bind(sub)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Consumes a code if it is still the stored one: one conditional DELETE, so of concurrent
/// attempts exactly one succeeds.
async fn take_code<'e>(
    db: impl Executor<'e, Database = sqlx::Any>,
    pool_id: &str,
    sub: &str,
    slot: &str,
    code_hash: &str,
) -> StoreResult<bool> {
    let done =
        sqlx::query("DELETE FROM user_codes WHERE pool_id = $1 AND sub = $2 AND purpose = $3 AND code_hash = $4")
            .bind(pool_id)
            .bind(sub)
            .bind(slot)
            .bind(code_hash)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

/// A stored row holding a JSON document (pools and clients).
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub config: String,
}

/// A message the delivery component recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    pub id: String,
    pub pool_id: String,
    pub username: String,
    pub purpose: String,
    pub delivery_medium: String,
    pub destination: String,
    pub subject: Option<String>,
    pub body: String,
    pub code: Option<String>,
    pub created_at: i64,
    /// When the outbox may (next) try to send it; None: nothing to send.
    pub send_after: Option<i64>,
    /// Failed sending attempts so far.
    pub attempts: i64,
    pub sender: Option<String>,
    pub reply_to: Option<String>,
}

impl Store {
    /// Connects and runs the migrations. `url` is `sqlite://…` or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let options = AnyPoolOptions::new()
            // SQLite allows one writer; one connection makes every transaction serial, so no
            // transaction can fail to upgrade its lock (SQLITE_BUSY) and counters stay exact.
            .max_connections(if sqlite { 1 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if sqlite {
                        // WAL for crash safety; FULL so that an acknowledged write survives a
                        // power loss, not only a process crash.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // 8 MiB of page cache (SQLite's default is 2 MiB) holds the interior pages
                        // of every index of a million-user pool, so a lookup reads one or two
                        // leaf pages (issue 6). It fills only as pages are read.
                        conn.execute("PRAGMA cache_size = -8192").await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        if sqlite {
            // The schema is made in one fsync, not one a migration: a first start answers sooner
            // (issue 6), and a migration lost to a power cut is simply run again at the next start.
            // The pool's one connection then goes back to FULL, whose first commit also syncs
            // the migrations.
            sqlx::query("PRAGMA synchronous = NORMAL").execute(&pool).await?;
        }
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Backend(e.into()))?;
        if sqlite {
            sqlx::query("PRAGMA synchronous = FULL").execute(&pool).await?;
        }
        let store = Store { pool };
        store.fill_group_precedence().await?;
        Ok(store)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Wipes every row (the moto-compatible reset endpoint), the server secrets excepted.
    pub async fn reset(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for table in ["used_secret_blocks"].iter().chain(POOL_TABLES.iter()).chain(["user_pools"].iter()) {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Returns the named server secret, creating it with `generate` on first use. Concurrent
    /// first starts of several nodes agree on one value.
    pub async fn server_secret(&self, name: &str, generate: impl FnOnce() -> String) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(generate())
            .execute(&self.pool)
            .await?;
        let row =
            sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.try_get("value")?)
    }

    pub async fn find_server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("value")?)).transpose()
    }

    pub async fn set_server_secret(&self, name: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- user pools ----

    pub async fn create_pool(&self, row: &DocumentRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO user_pools (id, name, created_at, updated_at, config) VALUES ($1, $2, $3, $4, $5)")
            .bind(&row.id)
            .bind(&row.name)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(&row.config)
            .execute(&self.pool)
            .await
            .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("pool".into()) } else { e.into() })?;
        Ok(())
    }

    pub async fn find_pool(&self, id: &str) -> StoreResult<Option<DocumentRow>> {
        let row = sqlx::query("SELECT id, name, created_at, updated_at, config FROM user_pools WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| document_row(&r)).transpose()
    }

    /// Replaces a pool's document; false if the pool does not exist.
    pub async fn update_pool(&self, id: &str, name: &str, updated_at: i64, config: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE user_pools SET name = $2, updated_at = $3, config = $4 WHERE id = $1")
            .bind(id)
            .bind(name)
            .bind(updated_at)
            .bind(config)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a pool with its clients, users and messages; false if it does not exist.
    pub async fn delete_pool(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        for table in POOL_TABLES {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE pool_id = $1")))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM user_pools WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pools in id order, starting after `after`.
    pub async fn list_pools(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<DocumentRow>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, updated_at, config FROM user_pools WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_row).collect()
    }

    /// Every pool's id.
    pub async fn pool_ids(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM user_pools ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    pub async fn count_users(&self, pool_id: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE pool_id = $1")
            .bind(pool_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    // ---- app clients ----

    pub async fn create_client(&self, pool_id: &str, row: &DocumentRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_pool_clients (id, pool_id, name, created_at, config) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&row.id)
        .bind(pool_id)
        .bind(&row.name)
        .bind(row.created_at)
        .bind(&row.config)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("client".into()) } else { e.into() })?;
        Ok(())
    }

    /// A client by id within a pool; `pool_id` None finds it in any pool (public operations
    /// know only the client id).
    pub async fn find_client(&self, pool_id: Option<&str>, id: &str) -> StoreResult<Option<(String, DocumentRow)>> {
        let row = sqlx::query(
            "SELECT id, pool_id, name, created_at, created_at AS updated_at, config FROM user_pool_clients \
             WHERE id = $1 AND ($2 = '' OR pool_id = $2)",
        )
        .bind(id)
        .bind(pool_id.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("pool_id")?, document_row(&r)?))).transpose()
    }

    pub async fn update_client(&self, pool_id: &str, id: &str, name: &str, config: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE user_pool_clients SET name = $3, config = $4 WHERE pool_id = $1 AND id = $2")
            .bind(pool_id)
            .bind(id)
            .bind(name)
            .bind(config)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_client(&self, pool_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM user_pool_clients WHERE pool_id = $1 AND id = $2")
            .bind(pool_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn list_clients(&self, pool_id: &str, after: Option<&str>, limit: i64) -> StoreResult<Vec<DocumentRow>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, created_at AS updated_at, config FROM user_pool_clients \
             WHERE pool_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(pool_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_row).collect()
    }

    // ---- messages ----

    pub async fn insert_message(&self, m: &MessageRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO messages (id, pool_id, username, purpose, delivery_medium, destination, subject, body, code, \
             created_at, send_after, sender, reply_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&m.id)
        .bind(&m.pool_id)
        .bind(&m.username)
        .bind(&m.purpose)
        .bind(&m.delivery_medium)
        .bind(&m.destination)
        .bind(m.subject.as_deref())
        .bind(&m.body)
        .bind(m.code.as_deref())
        .bind(m.created_at)
        .bind(m.send_after)
        .bind(m.sender.as_deref())
        .bind(m.reply_to.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Outbox messages due at `now`, oldest first: (id, send_after).
    pub async fn due_messages(&self, now: i64, limit: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT id, send_after FROM messages WHERE send_after IS NOT NULL AND send_after <= $1 \
             ORDER BY send_after LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("send_after")?))).collect()
    }

    /// Takes a due message for sending until `lease_until`; None if another node took it first.
    pub async fn claim_message(&self, id: &str, seen: i64, lease_until: i64) -> StoreResult<Option<MessageRow>> {
        let done = sqlx::query("UPDATE messages SET send_after = $3 WHERE id = $1 AND send_after = $2")
            .bind(id)
            .bind(seen)
            .bind(lease_until)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_row).transpose()
    }

    /// A message the sink took: its code and the text carrying it are not kept. Like the other
    /// outcomes, recorded only under the lease the sender holds (`send_after` = `lease`).
    pub async fn message_sent(&self, id: &str, lease: i64, redacted_body: &str, at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET send_after = NULL, sent_at = $3, code = NULL, body = $4 WHERE id = $1 AND send_after = $2",
        )
        .bind(id)
        .bind(lease)
        .bind(at)
        .bind(redacted_body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A failed attempt: tried again at `retry_at`.
    pub async fn message_failed(&self, id: &str, lease: i64, error: &str, retry_at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET send_after = $3, attempts = attempts + 1, last_error = $4 WHERE id = $1 AND send_after = $2",
        )
        .bind(id)
        .bind(lease)
        .bind(retry_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A message no longer worth sending: out of the outbox, its code forgotten.
    pub async fn message_given_up(&self, id: &str, lease: i64, redacted_body: &str, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET send_after = NULL, attempts = attempts + 1, code = NULL, body = $3, last_error = $4 \
             WHERE id = $1 AND send_after = $2",
        )
        .bind(id)
        .bind(lease)
        .bind(redacted_body)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Messages waiting to be sent and the oldest one's creation time (for /metrics).
    pub async fn outbox_depth(&self) -> StoreResult<(i64, Option<i64>)> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM messages WHERE send_after IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    /// Messages of a pool, oldest first; only those to `username` if given.
    pub async fn list_messages(&self, pool_id: &str, username: Option<&str>) -> StoreResult<Vec<MessageRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE pool_id = $1 AND ($2 = '' OR username = $2) \
             ORDER BY created_at, id"
        )))
        .bind(pool_id)
        .bind(username.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_row).collect()
    }
}

const MESSAGE_COLUMNS: &str = "id, pool_id, username, purpose, delivery_medium, destination, subject, body, code, \
                               created_at, send_after, sender, reply_to, attempts";

fn message_row(r: &sqlx::any::AnyRow) -> StoreResult<MessageRow> {
    Ok(MessageRow {
        id: r.try_get("id")?,
        pool_id: r.try_get("pool_id")?,
        username: r.try_get("username")?,
        purpose: r.try_get("purpose")?,
        delivery_medium: r.try_get("delivery_medium")?,
        destination: r.try_get("destination")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        code: r.try_get("code")?,
        created_at: r.try_get("created_at")?,
        send_after: r.try_get("send_after")?,
        sender: r.try_get("sender")?,
        reply_to: r.try_get("reply_to")?,
        attempts: r.try_get("attempts")?,
    })
}

fn document_row(r: &AnyRow) -> StoreResult<DocumentRow> {
    Ok(DocumentRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        config: r.try_get("config")?,
    })
}
