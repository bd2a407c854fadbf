//! Operation dispatch: one line per implemented operation. Each handler is a plain
//! `async fn(&Ctx, <Op>Request) -> Result<<Op>Response, ApiError>` next to its AWS reference link.

mod account;
mod auth;
mod clients;
mod groups;
mod recovery;
mod signup;
mod user_pools;
mod users_admin;

use crate::api_error;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::services::Origin;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use userpool_model::{ErrorCode, Operation};

/// Runs a validated request. Operations not implemented yet answer `NotImplementedException`.
pub async fn dispatch(ctx: &Ctx, operation: Operation, input: Value, origin: &Origin) -> ApiResult<Value> {
    let result = route(ctx, operation, input, origin).await;
    if let Err(e) = &result {
        // An error the model does not list for the operation would surprise every SDK's typed
        // error handling: debug builds (and so every test run) refuse it.
        let code = e.code();
        debug_assert!(
            operation.errors().contains(&code)
                || code.is_protocol()
                || code == ErrorCode::InternalErrorException
                || DOCUMENTED_BEYOND_THE_MODEL.contains(&(operation, code)),
            "{} answered {}, which the model does not list for it",
            operation.name(),
            code.as_str()
        );
    }
    result
}

/// Errors the API reference documents for an operation whose model entry omits them.
const DOCUMENTED_BEYOND_THE_MODEL: &[(Operation, ErrorCode)] = &[
    // ForceAliasCreation: "If this parameter is set to False, the API throws an
    // AliasExistsException error if the alias already exists."
    // https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
    (Operation::AdminCreateUser, ErrorCode::AliasExistsException),
];

async fn route(ctx: &Ctx, operation: Operation, input: Value, origin: &Origin) -> ApiResult<Value> {
    use Operation as O;
    match operation {
        O::InitiateAuth => run_at(ctx, origin, input, auth::initiate_auth).await,
        O::AdminInitiateAuth => run_at(ctx, origin, input, auth::admin_initiate_auth).await,
        O::RespondToAuthChallenge => run_at(ctx, origin, input, auth::respond_to_auth_challenge).await,
        O::AdminRespondToAuthChallenge => run_at(ctx, origin, input, auth::admin_respond_to_auth_challenge).await,
        O::CreateUserPool => run(ctx, input, user_pools::create_user_pool).await,
        O::DescribeUserPool => run(ctx, input, user_pools::describe_user_pool).await,
        O::UpdateUserPool => run(ctx, input, user_pools::update_user_pool).await,
        O::DeleteUserPool => run(ctx, input, user_pools::delete_user_pool).await,
        O::ListUserPools => run(ctx, input, user_pools::list_user_pools).await,
        O::AddCustomAttributes => run(ctx, input, user_pools::add_custom_attributes).await,
        O::CreateUserPoolClient => run(ctx, input, clients::create_user_pool_client).await,
        O::DescribeUserPoolClient => run(ctx, input, clients::describe_user_pool_client).await,
        O::UpdateUserPoolClient => run(ctx, input, clients::update_user_pool_client).await,
        O::DeleteUserPoolClient => run(ctx, input, clients::delete_user_pool_client).await,
        O::ListUserPoolClients => run(ctx, input, clients::list_user_pool_clients).await,
        O::AdminCreateUser => run(ctx, input, users_admin::admin_create_user).await,
        O::AdminGetUser => run(ctx, input, users_admin::admin_get_user).await,
        O::AdminDeleteUser => run(ctx, input, users_admin::admin_delete_user).await,
        O::AdminUpdateUserAttributes => run(ctx, input, users_admin::admin_update_user_attributes).await,
        O::AdminDeleteUserAttributes => run(ctx, input, users_admin::admin_delete_user_attributes).await,
        O::AdminSetUserPassword => run(ctx, input, users_admin::admin_set_user_password).await,
        O::AdminEnableUser => run(ctx, input, users_admin::admin_enable_user).await,
        O::AdminDisableUser => run(ctx, input, users_admin::admin_disable_user).await,
        O::AdminConfirmSignUp => run(ctx, input, users_admin::admin_confirm_sign_up).await,
        O::ListUsers => run(ctx, input, users_admin::list_users).await,
        O::SignUp => run(ctx, input, signup::sign_up).await,
        O::ConfirmSignUp => run(ctx, input, signup::confirm_sign_up).await,
        O::ResendConfirmationCode => run(ctx, input, signup::resend_confirmation_code).await,
        O::ForgotPassword => run(ctx, input, recovery::forgot_password).await,
        O::GetUser => run(ctx, input, account::get_user).await,
        O::UpdateUserAttributes => run(ctx, input, account::update_user_attributes).await,
        O::DeleteUserAttributes => run(ctx, input, account::delete_user_attributes).await,
        O::GetUserAttributeVerificationCode => run(ctx, input, account::get_user_attribute_verification_code).await,
        O::VerifyUserAttribute => run(ctx, input, account::verify_user_attribute).await,
        O::DeleteUser => run(ctx, input, account::delete_user).await,
        O::CreateGroup => run(ctx, input, groups::create_group).await,
        O::GetGroup => run(ctx, input, groups::get_group).await,
        O::UpdateGroup => run(ctx, input, groups::update_group).await,
        O::DeleteGroup => run(ctx, input, groups::delete_group).await,
        O::ListGroups => run(ctx, input, groups::list_groups).await,
        O::AdminAddUserToGroup => run(ctx, input, groups::admin_add_user_to_group).await,
        O::AdminRemoveUserFromGroup => run(ctx, input, groups::admin_remove_user_from_group).await,
        O::AdminListGroupsForUser => run(ctx, input, groups::admin_list_groups_for_user).await,
        O::ListUsersInGroup => run(ctx, input, groups::list_users_in_group).await,
        O::ChangePassword => run(ctx, input, account::change_password).await,
        O::GlobalSignOut => run(ctx, input, account::global_sign_out).await,
        O::AdminUserGlobalSignOut => run(ctx, input, account::admin_user_global_sign_out).await,
        O::RevokeToken => run(ctx, input, account::revoke_token).await,
        O::GetTokensFromRefreshToken => run_at(ctx, origin, input, auth::get_tokens_from_refresh_token).await,
        O::AdminResetUserPassword => run(ctx, input, recovery::admin_reset_user_password).await,
        O::ConfirmForgotPassword => run(ctx, input, recovery::confirm_forgot_password).await,
        other => Err(api_error!(
            NotImplementedException,
            "userpool does not implement {} yet; the request was valid. See the README for the implemented operations.",
            other.name()
        )),
    }
}

fn decode<Req: DeserializeOwned>(input: Value) -> ApiResult<Req> {
    // The validator has checked types and required members, so this only fails on a gap
    // between the validator and the generated types: a SerializationException, not a crash.
    serde_json::from_value(input).map_err(|e| api_error!(SerializationException, "Invalid request body: {e}"))
}

fn encode<Resp: Serialize>(response: Resp) -> ApiResult<Value> {
    // Operations the model gives no output answer `{}` (handlers return `()`).
    match serde_json::to_value(response).map_err(ApiError::internal)? {
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        output => Ok(output),
    }
}

async fn run<Req, Resp>(
    ctx: &Ctx,
    input: Value,
    handler: impl AsyncFnOnce(&Ctx, Req) -> ApiResult<Resp>,
) -> ApiResult<Value>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    encode(handler(ctx, decode(input)?).await?)
}

/// For the operations that need the request's origin (those that issue tokens).
async fn run_at<Req, Resp>(
    ctx: &Ctx,
    origin: &Origin,
    input: Value,
    handler: impl AsyncFnOnce(&Ctx, &Origin, Req) -> ApiResult<Resp>,
) -> ApiResult<Value>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    encode(handler(ctx, origin, decode(input)?).await?)
}
