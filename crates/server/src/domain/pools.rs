//! A user pool and the settings the flows read from it.

use userpool_model::types::{PasswordPolicyType, UserPoolType};

#[derive(Debug, Clone)]
pub struct Pool {
    pub id: String,
    pub config: UserPoolType,
}

impl Pool {
    /// The pool's own sender (EmailConfiguration.From, honoured when it sends with its own
    /// account: EmailSendingAccount DEVELOPER); None: the server's default.
    pub fn email_from(&self) -> Option<String> {
        let c = self.config.email_configuration.as_ref()?;
        let developer = c.email_sending_account == Some(userpool_model::types::EmailSendingAccountType::Developer);
        c.from.clone().filter(|_| developer)
    }

    /// EmailConfiguration.ReplyToEmailAddress.
    pub fn email_reply_to(&self) -> Option<String> {
        self.config.email_configuration.as_ref()?.reply_to_email_address.clone()
    }

    /// `UsernameConfiguration.CaseSensitive`; pools created without it are case sensitive.
    pub fn is_case_sensitive(&self) -> bool {
        self.config.username_configuration.as_ref().is_none_or(|c| c.case_sensitive)
    }

    /// The lookup form of a username or alias in this pool.
    pub fn key(&self, name: &str) -> String {
        if self.is_case_sensitive() { name.to_string() } else { name.to_lowercase() }
    }

    pub fn password_policy(&self) -> PasswordPolicyType {
        self.config
            .policies
            .as_ref()
            .and_then(|p| p.password_policy.clone())
            .unwrap_or_else(crate::domain::password_policy::default_policy)
    }

    pub fn has_username_attribute(&self, attribute: &str) -> bool {
        self.config.username_attributes.iter().flatten().any(|a| a.as_str() == attribute)
    }

    pub fn has_alias_attribute(&self, attribute: &str) -> bool {
        self.config.alias_attributes.iter().flatten().any(|a| a.as_str() == attribute)
    }

    pub fn auto_verifies(&self, attribute: &str) -> bool {
        self.config.auto_verified_attributes.iter().flatten().any(|a| a.as_str() == attribute)
    }
}
