//! Loading user pools.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::calendar::epoch_seconds;
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use userpool_model::types::UserPoolType;

/// A pool by id, or `ResourceNotFoundException`.
pub async fn load(ctx: &Ctx, id: &str) -> ApiResult<Pool> {
    let row = ctx
        .store
        .find_pool(id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool {id} does not exist."))?;
    let mut config: UserPoolType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    config.creation_date = Some(epoch_seconds(row.created_at));
    config.last_modified_date = Some(epoch_seconds(row.updated_at));
    Ok(Pool { id: row.id, config })
}
