//! The pool's password policy, one implementation for every operation that sets a password.
//! Cognito reports one rule per error, in this order: length, lowercase, uppercase, numeric,
//! symbol (docs/cognito-facts.md#password-policy-and-history). Only the message prefix depends on the operation.

use crate::error::ApiError;
use rand::seq::SliceRandom;
use userpool_model::ErrorCode;
use userpool_model::types::PasswordPolicyType;

/// A policy switch, the characters it asks for, and the message when none is there.
type Rule = (Option<bool>, fn(char) -> bool, &'static str);

/// How the operation words the error (docs/cognito-facts.md#exact-error-strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// SignUp, AdminCreateUser, ChangePassword.
    DidNotConform,
    /// ConfirmForgotPassword, AdminSetUserPassword (recorded from AWS) and the
    /// NEW_PASSWORD_REQUIRED challenge.
    DoesNotConform,
}

/// The symbols the developer guide lists; a space counts too when it is not at either end
/// (the shape validator already refused leading and trailing whitespace).
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// Cognito's defaults when a pool is created without a policy.
pub fn default_policy() -> PasswordPolicyType {
    PasswordPolicyType {
        minimum_length: Some(8),
        require_uppercase: Some(true),
        require_lowercase: Some(true),
        require_numbers: Some(true),
        require_symbols: Some(true),
        password_history_size: None,
        temporary_password_validity_days: Some(7),
    }
}

/// The first rule `password` breaks, as Cognito names it.
pub fn first_violation(policy: &PasswordPolicyType, password: &str) -> Option<&'static str> {
    let min = usize::try_from(policy.minimum_length.unwrap_or(8)).unwrap_or(8);
    if password.chars().count() < min {
        return Some("Password not long enough");
    }
    let rules: [Rule; 4] = [
        (policy.require_lowercase, |c| c.is_ascii_lowercase(), "Password must have lowercase characters"),
        (policy.require_uppercase, |c| c.is_ascii_uppercase(), "Password must have uppercase characters"),
        (policy.require_numbers, |c| c.is_ascii_digit(), "Password must have numeric characters"),
        (policy.require_symbols, |c| SYMBOLS.contains(c), "Password must have symbol characters"),
    ];
    rules
        .into_iter()
        .find(|(required, test, _)| required.unwrap_or(false) && !password.chars().any(*test))
        .map(|(_, _, m)| m)
}

pub fn check(policy: &PasswordPolicyType, password: &str, wording: Wording) -> Result<(), ApiError> {
    match first_violation(policy, password) {
        None => Ok(()),
        Some(rule) => {
            let prefix = match wording {
                Wording::DidNotConform => "Password did not conform with policy",
                Wording::DoesNotConform => "Password does not conform to policy",
            };
            Err(ApiError::new(ErrorCode::InvalidPasswordException, format!("{prefix}: {rule}")))
        }
    }
}

/// A temporary password that satisfies the pool's policy.
pub fn temporary_password(policy: &PasswordPolicyType) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let sets: [&[u8]; 4] =
        [b"abcdefghijkmnopqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"^$*.[]{}()?!@#%&/,><:;|_~=+-"];
    let len = usize::try_from(policy.minimum_length.unwrap_or(8)).unwrap_or(8).max(12);
    let mut chars: Vec<u8> = sets.iter().map(|s| s[rng.random_range(0..s.len())]).collect();
    let all: Vec<u8> = sets.concat();
    while chars.len() < len {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_in_cognitos_order() {
        let p = default_policy();
        assert_eq!(first_violation(&p, "Test!2"), Some("Password not long enough"));
        assert_eq!(first_violation(&p, "12341234"), Some("Password must have lowercase characters"));
        assert_eq!(first_violation(&p, "abcdefgh1!"), Some("Password must have uppercase characters"));
        assert_eq!(first_violation(&p, "TestTest"), Some("Password must have numeric characters"));
        assert_eq!(first_violation(&p, "TestTest1"), Some("Password must have symbol characters"));
        assert_eq!(first_violation(&p, "Test Test1"), None, "an inner space is a symbol");
        assert_eq!(first_violation(&p, "Passw0rd!"), None);
        let lax = PasswordPolicyType { minimum_length: Some(6), ..PasswordPolicyType::default() };
        assert_eq!(first_violation(&lax, "aaaaaa"), None);
    }

    #[test]
    fn wording() {
        let e = check(&default_policy(), "short", Wording::DidNotConform).unwrap_err();
        assert_eq!(e.message(), "Password did not conform with policy: Password not long enough");
        let e = check(&default_policy(), "short", Wording::DoesNotConform).unwrap_err();
        assert_eq!(e.message(), "Password does not conform to policy: Password not long enough");
    }
}
