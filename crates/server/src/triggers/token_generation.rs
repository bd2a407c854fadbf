//! PreTokenGeneration, versions 1 to 3.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html

use super::{Attributes, Invocation, Trigger, TriggerRunner};
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenGenerationRequest<'a> {
    pub user_attributes: Attributes,
    pub group_configuration: GroupConfiguration<'a>,
    /// Versions 2 and 3: the access token's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration<'a> {
    pub groups_to_override: &'a [String],
    pub iam_roles_to_override: [&'a str; 0],
    pub preferred_role: Option<&'a str>,
}

/// The function's overrides, as the version it was called with defines them: version 1's
/// `claimsOverrideDetails`, versions 2 and 3's `claimsAndScopeOverrideDetails` (each an object,
/// or absent). The claims and scopes inside are applied by `services::tokens`.
#[derive(Debug, Default, PartialEq)]
pub struct PreTokenGenerationResponse {
    pub claims_override_details: Option<Value>,
    pub claims_and_scope_override_details: Option<Value>,
}

impl TriggerRunner {
    /// `TokenGeneration_<source>`; `None` when the pool has no function.
    pub async fn pre_token_generation(
        &self,
        pool: &Pool,
        call: Invocation<'_>,
        request: &PreTokenGenerationRequest<'_>,
    ) -> ApiResult<Option<PreTokenGenerationResponse>> {
        let Some(response) = self.run(pool, Trigger::PreTokenGeneration, call, request).await? else {
            return Ok(None);
        };
        let object = |key: &str| response.get(key).filter(|d| d.is_object()).cloned();
        Ok(Some(PreTokenGenerationResponse {
            claims_override_details: object("claimsOverrideDetails"),
            claims_and_scope_override_details: object("claimsAndScopeOverrideDetails"),
        }))
    }
}
