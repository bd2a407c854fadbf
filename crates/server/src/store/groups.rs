//! Groups and membership.

use super::{DocumentRow, Store, StoreError, StoreResult, document_row, is_unique_violation};
use sqlx::Row;

impl Store {
    /// `Conflict("group")` if the name is taken in the pool.
    pub async fn create_group(&self, pool_id: &str, row: &DocumentRow, precedence: Option<i32>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_groups (pool_id, name, created_at, updated_at, config, precedence) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(pool_id)
        .bind(&row.name)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(&row.config)
        .bind(precedence.map(i64::from))
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("group".into()) } else { e.into() })?;
        Ok(())
    }

    pub async fn find_group(&self, pool_id: &str, name: &str) -> StoreResult<Option<DocumentRow>> {
        let row = sqlx::query(
            "SELECT name AS id, name, created_at, updated_at, config FROM user_groups WHERE pool_id = $1 AND name = $2",
        )
        .bind(pool_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| document_row(&r)).transpose()
    }

    pub async fn update_group(
        &self,
        pool_id: &str,
        name: &str,
        updated_at: i64,
        config: &str,
        precedence: Option<i32>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE user_groups SET updated_at = $3, config = $4, precedence = $5 WHERE pool_id = $1 AND name = $2",
        )
        .bind(pool_id)
        .bind(name)
        .bind(updated_at)
        .bind(config)
        .bind(precedence.map(i64::from))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The names and precedences of the groups `sub` belongs to, for tokens.
    pub async fn member_groups(&self, pool_id: &str, sub: &str) -> StoreResult<Vec<(String, Option<i64>)>> {
        let rows = sqlx::query(
            "SELECT g.name, g.precedence FROM user_groups g JOIN group_members m \
             ON m.pool_id = g.pool_id AND m.group_name = g.name WHERE m.pool_id = $1 AND m.sub = $2",
        )
        .bind(pool_id)
        .bind(sub)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("precedence")?))).collect()
    }

    /// Groups stored before their precedence had a column get it from their JSON.
    pub(super) async fn fill_group_precedence(&self) -> StoreResult<()> {
        let rows = sqlx::query(
            "SELECT pool_id, name, config FROM user_groups WHERE precedence IS NULL AND config LIKE '%\"Precedence\"%'",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let config: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>("config")?)?;
            let Some(precedence) = config.get("Precedence").and_then(serde_json::Value::as_i64) else { continue };
            sqlx::query("UPDATE user_groups SET precedence = $3 WHERE pool_id = $1 AND name = $2")
                .bind(row.try_get::<String, _>("pool_id")?)
                .bind(row.try_get::<String, _>("name")?)
                .bind(precedence)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Deletes a group and its memberships.
    pub async fn delete_group(&self, pool_id: &str, name: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM group_members WHERE pool_id = $1 AND group_name = $2")
            .bind(pool_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM user_groups WHERE pool_id = $1 AND name = $2")
            .bind(pool_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Groups of a pool in name order after `after`; only those `sub` belongs to if given.
    pub async fn list_groups(
        &self,
        pool_id: &str,
        member: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<DocumentRow>> {
        let rows = sqlx::query(
            "SELECT g.name AS id, g.name, g.created_at, g.updated_at, g.config FROM user_groups g \
             WHERE g.pool_id = $1 AND g.name > $2 AND ($3 = '' OR EXISTS (SELECT 1 FROM group_members m \
             WHERE m.pool_id = g.pool_id AND m.group_name = g.name AND m.sub = $3)) ORDER BY g.name LIMIT $4",
        )
        .bind(pool_id)
        .bind(after.unwrap_or(""))
        .bind(member.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_row).collect()
    }

    /// Adds a member; adding one twice is not an error (as in Cognito).
    pub async fn add_group_member(&self, pool_id: &str, group: &str, sub: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO group_members (pool_id, group_name, sub) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(pool_id)
            .bind(group)
            .bind(sub)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn remove_group_member(&self, pool_id: &str, group: &str, sub: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM group_members WHERE pool_id = $1 AND group_name = $2 AND sub = $3")
            .bind(pool_id)
            .bind(group)
            .bind(sub)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Subs of a group's members in sub order after `after`.
    pub async fn group_member_subs(
        &self,
        pool_id: &str,
        group: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT sub FROM group_members WHERE pool_id = $1 AND group_name = $2 AND sub > $3 ORDER BY sub LIMIT $4",
        )
        .bind(pool_id)
        .bind(group)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("sub")?)).collect()
    }
}
