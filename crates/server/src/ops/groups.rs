//! Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, AdminAddUserToGroup,
//! AdminRemoveUserFromGroup, AdminListGroupsForUser, ListUsersInGroup. Members' tokens carry
//! `cognito:groups`.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::calendar::epoch_seconds;
use crate::domain::pagination::{decode_token, encode_token};
use crate::domain::pools::Pool;
use crate::domain::users::user_type;
use crate::error::{ApiError, ApiResult};
use crate::services::pools;
use crate::services::users::existing_user;
use crate::services::users::group_of;
use crate::store::{DocumentRow, StoreError};
use userpool_model::types::*;

fn group_not_found() -> ApiError {
    api_error!(ResourceNotFoundException, "Group not found.")
}

async fn load(ctx: &Ctx, pool: &Pool, name: &str) -> ApiResult<DocumentRow> {
    ctx.store.find_group(&pool.id, name).await?.ok_or_else(group_not_found)
}

/// A page of at most `limit` (1 to 60, 60 by default) and the token of the next one.
fn page<T>(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| encode_token(&key(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

fn limit_of(limit: Option<i32>) -> usize {
    usize::try_from(limit.unwrap_or(60)).unwrap_or(60).clamp(1, 60)
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html
pub(super) async fn create_group(ctx: &Ctx, req: CreateGroupRequest) -> ApiResult<CreateGroupResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let now = ctx.clock.now_ms();
    let group = GroupType {
        group_name: Some(req.group_name.clone()),
        user_pool_id: Some(pool.id.clone()),
        description: req.description,
        role_arn: req.role_arn,
        precedence: req.precedence,
        last_modified_date: Some(epoch_seconds(now)),
        creation_date: Some(epoch_seconds(now)),
    };
    let config = serde_json::to_string(&group).map_err(ApiError::internal)?;
    let row = DocumentRow {
        id: req.group_name.clone(),
        name: req.group_name.clone(),
        created_at: now,
        updated_at: now,
        config,
    };
    ctx.store.create_group(&pool.id, &row, group.precedence).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            api_error!(GroupExistsException, "A group with the name {} already exists.", req.group_name)
        }
        other => other.into(),
    })?;
    Ok(CreateGroupResponse { group: Some(group) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetGroup.html
pub(super) async fn get_group(ctx: &Ctx, req: GetGroupRequest) -> ApiResult<GetGroupResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    Ok(GetGroupResponse { group: Some(group_of(&load(ctx, &pool, &req.group_name).await?)?) })
}

/// Only the members given change; the others keep their values.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateGroup.html
pub(super) async fn update_group(ctx: &Ctx, req: UpdateGroupRequest) -> ApiResult<UpdateGroupResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let mut group = group_of(&load(ctx, &pool, &req.group_name).await?)?;
    if req.description.is_some() {
        group.description = req.description;
    }
    if req.role_arn.is_some() {
        group.role_arn = req.role_arn;
    }
    if req.precedence.is_some() {
        group.precedence = req.precedence;
    }
    let now = ctx.clock.now_ms();
    group.last_modified_date = Some(epoch_seconds(now));
    let config = serde_json::to_string(&group).map_err(ApiError::internal)?;
    if !ctx.store.update_group(&pool.id, &req.group_name, now, &config, group.precedence).await? {
        return Err(group_not_found());
    }
    Ok(UpdateGroupResponse { group: Some(group) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteGroup.html
pub(super) async fn delete_group(ctx: &Ctx, req: DeleteGroupRequest) -> ApiResult<()> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    if !ctx.store.delete_group(&pool.id, &req.group_name).await? {
        return Err(group_not_found());
    }
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListGroups.html
pub(super) async fn list_groups(ctx: &Ctx, req: ListGroupsRequest) -> ApiResult<ListGroupsResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let after = decode_token(req.next_token.as_deref())?;
    let limit = limit_of(req.limit);
    let rows = ctx.store.list_groups(&pool.id, None, after.as_deref(), i64::try_from(limit + 1).unwrap_or(61)).await?;
    let (rows, next_token) = page(rows, limit, |r| r.name.clone());
    Ok(ListGroupsResponse { groups: Some(rows.iter().map(group_of).collect::<ApiResult<_>>()?), next_token })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminAddUserToGroup.html
pub(super) async fn admin_add_user_to_group(ctx: &Ctx, req: AdminAddUserToGroupRequest) -> ApiResult<()> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    load(ctx, &pool, &req.group_name).await?;
    ctx.store.add_group_member(&pool.id, &req.group_name, &user.sub).await?;
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminRemoveUserFromGroup.html
pub(super) async fn admin_remove_user_from_group(ctx: &Ctx, req: AdminRemoveUserFromGroupRequest) -> ApiResult<()> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    load(ctx, &pool, &req.group_name).await?;
    ctx.store.remove_group_member(&pool.id, &req.group_name, &user.sub).await?;
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminListGroupsForUser.html
pub(super) async fn admin_list_groups_for_user(
    ctx: &Ctx,
    req: AdminListGroupsForUserRequest,
) -> ApiResult<AdminListGroupsForUserResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let user = existing_user(ctx, &pool, &req.username).await?;
    let after = decode_token(req.next_token.as_deref())?;
    let limit = limit_of(req.limit);
    let rows = ctx
        .store
        .list_groups(&pool.id, Some(&user.sub), after.as_deref(), i64::try_from(limit + 1).unwrap_or(61))
        .await?;
    let (rows, next_token) = page(rows, limit, |r| r.name.clone());
    Ok(AdminListGroupsForUserResponse {
        groups: Some(rows.iter().map(group_of).collect::<ApiResult<_>>()?),
        next_token,
    })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsersInGroup.html
pub(super) async fn list_users_in_group(
    ctx: &Ctx,
    req: ListUsersInGroupRequest,
) -> ApiResult<ListUsersInGroupResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    load(ctx, &pool, &req.group_name).await?;
    let after = decode_token(req.next_token.as_deref())?;
    let limit = limit_of(req.limit);
    let subs = ctx
        .store
        .group_member_subs(&pool.id, &req.group_name, after.as_deref(), i64::try_from(limit + 1).unwrap_or(61))
        .await?;
    let (subs, next_token) = page(subs, limit, Clone::clone);
    let mut users = Vec::with_capacity(subs.len());
    for sub in &subs {
        if let Some(user) = ctx.store.find_user_by_sub(&pool.id, sub).await? {
            users.push(user_type(&user, None));
        }
    }
    Ok(ListUsersInGroupResponse { users: Some(users), next_token })
}
