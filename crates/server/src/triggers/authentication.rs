//! PreAuthentication, PostAuthentication and UserMigration.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-authentication.html
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-authentication.html
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html

use super::{Attributes, Invocation, Trigger, TriggerRunner, flag, text};
use crate::api_error;
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreAuthenticationRequest<'a> {
    pub user_attributes: Attributes,
    /// InitiateAuth's ClientMetadata (always present, empty when none was sent).
    pub validation_data: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostAuthenticationRequest<'a> {
    pub user_attributes: Attributes,
    pub new_device_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMigrationRequest<'a> {
    /// Only from a sign-in (`UserMigration_Authentication`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<&'a str>,
    pub validation_data: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

/// The user a UserMigration function returned.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationResponse {
    /// The string-valued `userAttributes`.
    pub user_attributes: Vec<(String, String)>,
    pub final_user_status: Option<String>,
    pub force_alias_creation: bool,
}

impl TriggerRunner {
    /// `PreAuthentication_Authentication` or, with `post`, `PostAuthentication_Authentication`.
    pub async fn authentication(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &impl AuthenticationRequest,
    ) -> ApiResult<()> {
        self.run(pool, request.trigger(), call, request).await?;
        Ok(())
    }

    /// `UserMigration_Authentication` or `UserMigration_ForgotPassword`: `None` without a
    /// function; an answer without a `userAttributes` object is not a user.
    pub async fn user_migration(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &UserMigrationRequest<'_>,
    ) -> ApiResult<Option<MigrationResponse>> {
        let Some(response) = self.run(pool, Trigger::UserMigration, call, request).await? else {
            return Ok(None);
        };
        let Some(Value::Object(given)) = response.get("userAttributes") else {
            return Err(api_error!(InvalidLambdaResponseException, "Invalid lambda function output : Invalid JSON"));
        };
        Ok(Some(MigrationResponse {
            user_attributes: given.iter().filter_map(|(n, v)| Some((n.clone(), v.as_str()?.to_string()))).collect(),
            final_user_status: text(&response, "finalUserStatus"),
            force_alias_creation: flag(&response, "forceAliasCreation"),
        }))
    }
}

/// The two authentication triggers' requests, each knowing its trigger.
pub trait AuthenticationRequest: Serialize + Sync {
    fn trigger(&self) -> Trigger;
}

impl AuthenticationRequest for PreAuthenticationRequest<'_> {
    fn trigger(&self) -> Trigger {
        Trigger::PreAuthentication
    }
}

impl AuthenticationRequest for PostAuthenticationRequest<'_> {
    fn trigger(&self) -> Trigger {
        Trigger::PostAuthentication
    }
}
