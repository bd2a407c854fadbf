//! CustomMessage.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-custom-message.html

use super::{Attributes, Invocation, Trigger, TriggerRunner, text};
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMessageRequest<'a> {
    pub user_attributes: Attributes,
    /// `{####}`: where the message's code goes.
    pub code_parameter: &'static str,
    pub link_parameter: &'static str,
    /// `{username}` in invitations; null in code messages.
    pub username_parameter: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

impl<'a> CustomMessageRequest<'a> {
    pub fn new(
        user_attributes: Attributes,
        username_parameter: Option<&'static str>,
        client_metadata: Option<&'a BTreeMap<String, String>>,
    ) -> Self {
        CustomMessageRequest {
            user_attributes,
            code_parameter: "{####}",
            link_parameter: "{##Click Here##}",
            username_parameter,
            client_metadata,
        }
    }
}

/// The texts a function wrote; each replaces the template's when present.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CustomMessageResponse {
    pub email_message: Option<String>,
    pub email_subject: Option<String>,
    pub sms_message: Option<String>,
}

impl TriggerRunner {
    /// `CustomMessage_<source>`; `None` when the pool has no function.
    pub async fn custom_message(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &CustomMessageRequest<'_>,
    ) -> ApiResult<Option<CustomMessageResponse>> {
        let Some(response) = self.run(pool, Trigger::CustomMessage, call, request).await? else {
            return Ok(None);
        };
        Ok(Some(CustomMessageResponse {
            email_message: text(&response, "emailMessage"),
            email_subject: text(&response, "emailSubject"),
            sms_message: text(&response, "smsMessage"),
        }))
    }
}
