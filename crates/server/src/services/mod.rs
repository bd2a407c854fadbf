//! Cognito's flows, shared by the operations: each module is one thing Cognito documents, built
//! from the components in `Ctx` and the rules in `domain`. Operations call these; these never
//! call operations (docs/architecture.md).

pub mod clients;
pub mod codes;
pub mod existence;
pub mod maintenance;
pub mod messages;
pub mod passwords;
pub mod pools;
pub mod recovery;
pub mod sign_in;
pub mod tokens;
pub mod triggers;
pub mod users;

use std::collections::BTreeMap;

/// What an operation may need to know about the HTTP request it came in.
#[derive(Clone, Default)]
pub struct Origin {
    /// The base of token issuers: configured, or the URL the request was sent to.
    pub issuer_base: String,
    /// A sign-in's ClientMetadata, for the triggers Cognito hands it to: InitiateAuth's reaches
    /// PreAuthentication and UserMigration as `validationData`, RespondToAuthChallenge's reaches
    /// PostAuthentication and PreTokenGeneration as `clientMetadata`.
    /// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
    pub validation_data: Option<BTreeMap<String, String>>,
    pub client_metadata: Option<BTreeMap<String, String>>,
}
