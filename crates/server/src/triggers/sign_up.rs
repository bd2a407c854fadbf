//! PreSignUp and PostConfirmation.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html

use super::{Attributes, Invocation, Trigger, TriggerRunner, flag};
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreSignUpRequest<'a> {
    /// The attributes the caller sent.
    pub user_attributes: Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

/// What the function decided (SignUp only: AdminCreateUser ignores it, as Cognito does).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PreSignUpResponse {
    pub auto_confirm_user: bool,
    pub auto_verify_email: bool,
    pub auto_verify_phone: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConfirmationRequest<'a> {
    pub user_attributes: Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

impl TriggerRunner {
    /// `PreSignUp_SignUp` or `PreSignUp_AdminCreateUser`; `None` when the pool has no function.
    pub async fn pre_sign_up(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &PreSignUpRequest<'_>,
    ) -> ApiResult<Option<PreSignUpResponse>> {
        let Some(response) = self.run(pool, Trigger::PreSignUp, call, request).await? else {
            return Ok(None);
        };
        Ok(Some(PreSignUpResponse {
            auto_confirm_user: flag(&response, "autoConfirmUser"),
            auto_verify_email: flag(&response, "autoVerifyEmail"),
            auto_verify_phone: flag(&response, "autoVerifyPhone"),
        }))
    }

    /// `PostConfirmation_ConfirmSignUp` or `PostConfirmation_ConfirmForgotPassword`.
    pub async fn post_confirmation(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &PostConfirmationRequest<'_>,
    ) -> ApiResult<()> {
        self.run(pool, Trigger::PostConfirmation, call, request).await?;
        Ok(())
    }
}
