//! App clients: create, describe, update, delete, list.

use crate::api_error;
use crate::ctx::Ctx;
use crate::domain::calendar::epoch_seconds;
use crate::domain::ids;
use crate::domain::pagination::{decode_token, encode_token};
use crate::domain::pools::Pool;
use crate::error::{ApiError, ApiResult};
use crate::services::pools;
use crate::services::tokens::unit_seconds;
use crate::store::DocumentRow;
use serde_json::Value;
use userpool_model::types::*;

/// Cognito's defaults for what the request leaves out, as recorded responses show them: units
/// `{}` (hours for access and ID tokens and days for refresh tokens are implied), no
/// `PreventUserExistenceErrors` (it then behaves as LEGACY), no `ExplicitAuthFlows` (SRP, refresh
/// and custom auth are implied).
fn fill_defaults(c: &mut UserPoolClientType) {
    c.refresh_token_validity.get_or_insert(30);
    c.token_validity_units.get_or_insert_with(TokenValidityUnitsType::default);
    c.allowed_oauth_flows_user_pool_client.get_or_insert(false);
    c.enable_token_revocation.get_or_insert(true);
    c.enable_propagate_additional_user_context_data.get_or_insert(false);
    c.auth_session_validity.get_or_insert(3);
}

/// Token lifetimes within Cognito's ranges: access and ID tokens 5 minutes to 1 day, refresh
/// tokens 1 hour to 10 years (docs/cognito-facts.md#tokens).
fn check_token_validity(c: &UserPoolClientType) -> ApiResult<()> {
    let units = c.token_validity_units.clone().unwrap_or_default();
    let checks = [
        (c.access_token_validity, units.access_token, TimeUnitsType::Hours, 300, 86_400, "AccessToken"),
        (c.id_token_validity, units.id_token, TimeUnitsType::Hours, 300, 86_400, "IdToken"),
        (c.refresh_token_validity, units.refresh_token, TimeUnitsType::Days, 3600, 315_360_000, "RefreshToken"),
    ];
    for (value, unit, default, min, max, name) in checks {
        if let Some(v) = value
            && !(min..=max).contains(&unit_seconds(unit.unwrap_or(default)).saturating_mul(i64::from(v)))
        {
            return Err(api_error!(
                InvalidParameterException,
                "Invalid range for token validity: {name} must be between {min} seconds and {max} seconds."
            ));
        }
    }
    Ok(())
}

fn as_client_document(request: &impl serde::Serialize) -> ApiResult<UserPoolClientType> {
    let Value::Object(mut map) = serde_json::to_value(request).map_err(ApiError::internal)? else {
        return Err(ApiError::internal("request is not an object"));
    };
    map.remove("GenerateSecret");
    serde_json::from_value(Value::Object(map)).map_err(ApiError::internal)
}

/// Checks that the attributes a client may read or write are in the pool's schema.
fn check_attribute_lists(pool: &Pool, c: &UserPoolClientType) -> ApiResult<()> {
    let schema = pool.config.schema_attributes.as_deref().unwrap_or_default();
    for name in c.read_attributes.iter().chain(c.write_attributes.iter()).flatten() {
        if !schema.iter().any(|s| s.name.as_deref() == Some(name.as_str())) {
            return Err(api_error!(
                InvalidParameterException,
                "Invalid write attributes specified while creating a client"
            ));
        }
    }
    Ok(())
}

async fn load(ctx: &Ctx, pool_id: &str, client_id: &str) -> ApiResult<(DocumentRow, UserPoolClientType)> {
    let (_, row) = ctx
        .store
        .find_client(Some(pool_id), client_id)
        .await?
        .ok_or_else(|| api_error!(ResourceNotFoundException, "User pool client {client_id} does not exist."))?;
    let mut client: UserPoolClientType = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    client.creation_date = Some(epoch_seconds(row.created_at));
    Ok((row, client))
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
pub(super) async fn create_user_pool_client(
    ctx: &Ctx,
    req: CreateUserPoolClientRequest,
) -> ApiResult<CreateUserPoolClientResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let mut client = as_client_document(&req)?;
    check_attribute_lists(&pool, &client)?;
    check_token_validity(&client)?;
    let id = ids::client_id();
    client.client_id = Some(id.clone().into());
    if req.generate_secret == Some(true) {
        client.client_secret = Some(ids::client_secret().into());
    }
    fill_defaults(&mut client);
    let now = ctx.clock.now_ms();
    client.creation_date = Some(epoch_seconds(now));
    client.last_modified_date = Some(epoch_seconds(now));
    let config = serde_json::to_string(&client).map_err(ApiError::internal)?;
    let name = req.client_name.clone();
    ctx.store.create_client(&pool.id, &DocumentRow { id, name, created_at: now, updated_at: now, config }).await?;
    Ok(CreateUserPoolClientResponse { user_pool_client: Some(client) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeUserPoolClient.html
pub(super) async fn describe_user_pool_client(
    ctx: &Ctx,
    req: DescribeUserPoolClientRequest,
) -> ApiResult<DescribeUserPoolClientResponse> {
    pools::load(ctx, &req.user_pool_id).await?;
    let (_, client) = load(ctx, &req.user_pool_id, &req.client_id).await?;
    Ok(DescribeUserPoolClientResponse { user_pool_client: Some(client) })
}

/// Omitted settings return to their defaults, as in Cognito; id, secret and creation date stay.
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPoolClient.html
pub(super) async fn update_user_pool_client(
    ctx: &Ctx,
    req: UpdateUserPoolClientRequest,
) -> ApiResult<UpdateUserPoolClientResponse> {
    let pool = pools::load(ctx, &req.user_pool_id).await?;
    let (row, old) = load(ctx, &req.user_pool_id, &req.client_id).await?;
    let mut client = as_client_document(&req)?;
    check_attribute_lists(&pool, &client)?;
    check_token_validity(&client)?;
    client.client_secret = old.client_secret;
    client.client_name = client.client_name.or(old.client_name);
    client.creation_date = old.creation_date;
    client.last_modified_date = Some(epoch_seconds(ctx.clock.now_ms()));
    fill_defaults(&mut client);
    let config = serde_json::to_string(&client).map_err(ApiError::internal)?;
    let name = client.client_name.clone().unwrap_or(row.name);
    if !ctx.store.update_client(&pool.id, &row.id, &name, &config).await? {
        return Err(api_error!(ResourceNotFoundException, "User pool client {} does not exist.", row.id));
    }
    Ok(UpdateUserPoolClientResponse { user_pool_client: Some(client) })
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteUserPoolClient.html
pub(super) async fn delete_user_pool_client(ctx: &Ctx, req: DeleteUserPoolClientRequest) -> ApiResult<()> {
    pools::load(ctx, &req.user_pool_id).await?;
    if !ctx.store.delete_client(&req.user_pool_id, &req.client_id).await? {
        return Err(api_error!(
            ResourceNotFoundException,
            "User pool client {} does not exist.",
            req.client_id.as_str()
        ));
    }
    Ok(())
}

/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUserPoolClients.html
pub(super) async fn list_user_pool_clients(
    ctx: &Ctx,
    req: ListUserPoolClientsRequest,
) -> ApiResult<ListUserPoolClientsResponse> {
    pools::load(ctx, &req.user_pool_id).await?;
    let after = decode_token(req.next_token.as_deref())?;
    let limit = usize::try_from(req.max_results.unwrap_or(60)).unwrap_or(60);
    let mut rows =
        ctx.store.list_clients(&req.user_pool_id, after.as_deref(), i64::try_from(limit).unwrap_or(60) + 1).await?;
    let next_token = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode_token(&r.id))
    } else {
        None
    };
    let user_pool_clients = rows
        .into_iter()
        .map(|r| UserPoolClientDescription {
            client_id: Some(r.id.into()),
            user_pool_id: Some(req.user_pool_id.clone()),
            client_name: Some(r.name),
        })
        .collect();
    Ok(ListUserPoolClientsResponse { user_pool_clients: Some(user_pool_clients), next_token })
}
