//! Request validation against the model, with the messages Cognito's front end (Coral) writes:
//! `2 validation errors detected: Value '' at 'userPoolId' failed to satisfy constraint: Member
//! must have length greater than or equal to 1; Value null at 'username' failed to satisfy
//! constraint: Member must not be null`. Values of sensitive shapes are never quoted.
//! See docs/cognito-facts.md#validation-message-format.

use crate::Operation;
use crate::generated::shapes::PATTERNS;
use crate::schema::{Kind, ShapeId, shape, shape_id};
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// Why a request body was refused before any operation logic ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A member has the wrong JSON type (a number where a string belongs, ...):
    /// `SerializationException`, as the AWS JSON protocol answers before validation.
    Serialization(String),
    /// One or more constraint violations: `InvalidParameterException` with this message.
    Constraints(String),
}

/// Compiled on first use: a server that never sees a pattern never pays for compiling it, which
/// keeps start-up in milliseconds.
static COMPILED: [OnceLock<Regex>; PATTERNS.len()] = [const { OnceLock::new() }; PATTERNS.len()];

fn pattern_matches(index: usize, value: &str) -> bool {
    COMPILED[index]
        .get_or_init(|| {
            Regex::new(PATTERNS[index].regex).expect("every model pattern compiles; the xtask test checks it")
        })
        .is_match(value)
}

/// Validates an operation's input document.
pub fn validate(operation: Operation, input: &Value) -> Result<(), Invalid> {
    validate_shape(operation.input_shape(), input)
}

/// Validates a document against any shape of the model.
pub fn validate_shape(id: ShapeId, input: &Value) -> Result<(), Invalid> {
    let mut walker = Walker { violations: Vec::new() };
    walker.walk(id, input, "", false)?;
    match walker.violations.len() {
        0 => Ok(()),
        1 => Err(Invalid::Constraints(format!("1 validation error detected: {}", walker.violations[0]))),
        n => Err(Invalid::Constraints(format!("{n} validation errors detected: {}", walker.violations.join("; ")))),
    }
}

struct Walker {
    violations: Vec<String>,
}

/// Coral names a member by its name with the first letter lowered: `ClientId` → `clientId`.
fn member_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let lowered: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
    if parent.is_empty() { lowered } else { format!("{parent}.{lowered}") }
}

/// Java's `toString` of the value, as Coral quotes it.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(display).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            format!("{{{}}}", map.iter().map(|(k, v)| format!("{k}={}", display(v))).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Constraints Cognito enforces on a shape beyond what the model states.
/// `PasswordType`: the model's `[\S]+` is the simplified form of the older `^[\S]+.*[\S]+$`, which
/// is what the service still enforces (no leading or trailing whitespace, inner spaces allowed,
/// per the developer guide's password rules), and a 6-character floor is still applied before the
/// pool's policy (observed 2017 and 2024; docs/cognito-facts.md#confirmforgotpassword-input-members, #validation-message-format).
fn password_violations(value: &str) -> (bool, bool) {
    let too_short = value.chars().count() < 6;
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C');
    let bad_edges = value.is_empty() || value.starts_with(is_space) || value.ends_with(is_space);
    (too_short, bad_edges)
}

impl Walker {
    fn violate(&mut self, value: Option<&Value>, hidden: bool, path: &str, constraint: &str) {
        let subject = match value {
            None => "Value null".to_string(),
            Some(_) if hidden => "Value".to_string(),
            Some(v) => format!("Value '{}'", display(v)),
        };
        self.violations.push(format!("{subject} at '{path}' failed to satisfy constraint: {constraint}"));
    }

    fn type_error(shape_name: &str, path: &str, expected: &str, value: &Value) -> Invalid {
        let at = if path.is_empty() { String::from("the request body") } else { format!("'{path}'") };
        Invalid::Serialization(format!(
            "Expected {expected} for {at} ({shape_name}) but found a JSON {}",
            json_type(value)
        ))
    }

    fn length(&mut self, value: &Value, hidden: bool, path: &str, len: usize, min: Option<i64>, max: Option<i64>) {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        if let Some(min) = min.filter(|m| len < *m) {
            self.violate(Some(value), hidden, path, &format!("Member must have length greater than or equal to {min}"));
        }
        if let Some(max) = max.filter(|m| len > *m) {
            self.violate(Some(value), hidden, path, &format!("Member must have length less than or equal to {max}"));
        }
    }

    fn walk(&mut self, id: ShapeId, value: &Value, path: &str, hidden: bool) -> Result<(), Invalid> {
        let s = shape(id);
        let hidden = hidden || s.sensitive;
        match &s.kind {
            Kind::Structure { members } => {
                let Value::Object(object) = value else {
                    return Err(Self::type_error(s.name, path, "an object", value));
                };
                for member in *members {
                    let child = member_path(path, member.name);
                    match object.get(member.name) {
                        None | Some(Value::Null) => {
                            if member.required {
                                self.violate(None, hidden, &child, "Member must not be null");
                            }
                        }
                        Some(v) => self.walk(member.shape, v, &child, hidden)?,
                    }
                }
            }
            Kind::List { member, min, max } => {
                let Value::Array(items) = value else {
                    return Err(Self::type_error(s.name, path, "an array", value));
                };
                self.length(value, hidden, path, items.len(), *min, *max);
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() {
                        continue;
                    }
                    self.walk(*member, item, &format!("{path}.{}.member", i + 1), hidden)?;
                }
            }
            Kind::Map { key, value: value_shape, min, max } => {
                let Value::Object(map) = value else {
                    return Err(Self::type_error(s.name, path, "an object", value));
                };
                self.length(value, hidden, path, map.len(), *min, *max);
                // Coral folds violations inside a map into one message about the map.
                let mut inner = Walker { violations: Vec::new() };
                for (k, v) in map {
                    inner.walk(*key, &Value::String(k.clone()), "", hidden)?;
                    if !v.is_null() {
                        inner.walk(*value_shape, v, "", hidden)?;
                    }
                }
                if !inner.violations.is_empty() {
                    let constraints: Vec<&str> = inner
                        .violations
                        .iter()
                        .filter_map(|v| v.split("failed to satisfy constraint: ").nth(1))
                        .collect();
                    self.violate(
                        Some(value),
                        hidden,
                        path,
                        &format!("Map value must satisfy constraint: [{}]", constraints.join(", ")),
                    );
                }
            }
            Kind::String { min, max, pattern, values } => {
                let Value::String(text) = value else {
                    return Err(Self::type_error(s.name, path, "a string", value));
                };
                if s.name == "PasswordType" {
                    let (too_short, bad_edges) = password_violations(text);
                    if too_short {
                        self.violate(Some(value), hidden, path, "Member must have length greater than or equal to 6");
                    }
                    self.length(value, hidden, path, text.chars().count(), None, *max);
                    if bad_edges {
                        self.pattern_violation(value, hidden, path, *pattern);
                    }
                    return Ok(());
                }
                self.length(value, hidden, path, text.chars().count(), *min, *max);
                if let Some(index) = *pattern
                    && !pattern_matches(index, text)
                {
                    self.pattern_violation(value, hidden, path, Some(index));
                }
                if !values.is_empty() && !values.contains(&text.as_str()) {
                    self.violate(
                        Some(value),
                        hidden,
                        path,
                        &format!("Member must satisfy enum value set: [{}]", values.join(", ")),
                    );
                }
            }
            Kind::Integer { min, max } => {
                let Some(number) = value.as_i64() else {
                    return Err(Self::type_error(s.name, path, "an integer", value));
                };
                if let Some(min) = min.filter(|m| number < *m) {
                    self.violate(
                        Some(value),
                        hidden,
                        path,
                        &format!("Member must have value greater than or equal to {min}"),
                    );
                }
                if let Some(max) = max.filter(|m| number > *m) {
                    self.violate(
                        Some(value),
                        hidden,
                        path,
                        &format!("Member must have value less than or equal to {max}"),
                    );
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return Err(Self::type_error(s.name, path, "a boolean", value));
                }
            }
            Kind::Timestamp => {
                if !value.is_number() {
                    return Err(Self::type_error(s.name, path, "a timestamp in epoch seconds", value));
                }
            }
            Kind::Blob { min, max } => {
                let Value::String(text) = value else {
                    return Err(Self::type_error(s.name, path, "a base64 string", value));
                };
                self.length(value, hidden, path, text.len() / 4 * 3, *min, *max);
            }
            Kind::Document => {}
        }
        Ok(())
    }

    fn pattern_violation(&mut self, value: &Value, hidden: bool, path: &str, pattern: Option<usize>) {
        if let Some(index) = pattern {
            let constraint = format!("Member must satisfy regular expression pattern: {}", PATTERNS[index].model);
            self.violate(Some(value), hidden, path, &constraint);
        }
    }
}

/// Every model pattern compiles (checked by a test, so `pattern_matches` never panics).
pub fn compile_all_patterns() -> Result<(), String> {
    for (i, p) in PATTERNS.iter().enumerate() {
        Regex::new(p.regex).map_err(|e| format!("pattern {i} {:?}: {e}", p.model))?;
    }
    Ok(())
}

/// Checks one string against the named shape's constraints, for values that reach the server
/// outside a request body (for example the value of an attribute in a ListUsers filter).
pub fn validate_string(shape_name: &str, value: &str) -> Result<(), Invalid> {
    let id = shape_id(shape_name).ok_or_else(|| Invalid::Serialization(format!("no shape {shape_name}")))?;
    validate_shape(id, &Value::String(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::shapes::SHAPES;
    use serde_json::json;

    fn constraints(op: Operation, body: Value) -> String {
        match validate(op, &body) {
            Err(Invalid::Constraints(m)) => m,
            other => panic!("expected constraint violations, got {other:?}"),
        }
    }

    #[test]
    fn all_patterns_compile() {
        compile_all_patterns().unwrap();
        assert_eq!(SHAPES.len(), 590);
        assert_eq!(Operation::ALL.len(), 122);
    }

    #[test]
    fn missing_members_are_null_in_model_order() {
        let m = constraints(Operation::ConfirmForgotPassword, json!({}));
        assert_eq!(
            m,
            "4 validation errors detected: \
             Value null at 'clientId' failed to satisfy constraint: Member must not be null; \
             Value null at 'username' failed to satisfy constraint: Member must not be null; \
             Value null at 'confirmationCode' failed to satisfy constraint: Member must not be null; \
             Value null at 'password' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn sensitive_values_are_not_quoted() {
        let m = constraints(
            Operation::ConfirmForgotPassword,
            json!({"ClientId": "abc", "Username": "bob", "ConfirmationCode": "123456", "Password": "pass word "}),
        );
        assert_eq!(
            m,
            "1 validation error detected: Value at 'password' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\S]+"
        );
    }

    #[test]
    fn inner_spaces_in_passwords_are_allowed_and_six_is_the_floor() {
        let ok = json!({"ClientId": "abc", "Username": "bob", "ConfirmationCode": "1", "Password": "pass word"});
        assert_eq!(validate(Operation::ConfirmForgotPassword, &ok), Ok(()));
        let short = json!({"ClientId": "abc", "Username": "bob", "ConfirmationCode": "1", "Password": "Ab1!"});
        assert!(
            constraints(Operation::ConfirmForgotPassword, short)
                .contains("Member must have length greater than or equal to 6")
        );
    }

    #[test]
    fn patterns_are_full_matches_with_ascii_word_characters() {
        let m = constraints(Operation::DescribeUserPool, json!({"UserPoolId": "us-east-1_abc déf"}));
        assert_eq!(
            m,
            "1 validation error detected: Value 'us-east-1_abc déf' at 'userPoolId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+"
        );
        let m = constraints(Operation::DescribeUserPool, json!({"UserPoolId": "é_abc"}));
        assert!(m.contains("regular expression pattern"), "{m}");
        assert_eq!(validate(Operation::DescribeUserPool, &json!({"UserPoolId": "us-east-1_AbC123"})), Ok(()));
    }

    #[test]
    fn several_violations_of_one_member_are_each_reported() {
        let m = constraints(Operation::DescribeUserPool, json!({"UserPoolId": ""}));
        assert!(m.starts_with("2 validation errors detected: Value '' at 'userPoolId' failed to satisfy constraint: Member must have length greater than or equal to 1; "), "{m}");
    }

    #[test]
    fn enums_ranges_and_nested_paths() {
        let body = json!({
            "PoolName": "p",
            "Policies": {"PasswordPolicy": {"MinimumLength": 5}},
            "MfaConfiguration": "MAYBE",
            "Schema": [{"Name": "a", "AttributeDataType": "Str"}]
        });
        let m = constraints(Operation::CreateUserPool, body);
        assert!(m.contains("Value '5' at 'policies.passwordPolicy.minimumLength' failed to satisfy constraint: Member must have value greater than or equal to 6"), "{m}");
        assert!(m.contains("Value 'MAYBE' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"), "{m}");
        assert!(m.contains("at 'schema.1.member.attributeDataType' failed to satisfy constraint: Member must satisfy enum value set"), "{m}");
    }

    #[test]
    fn wrong_json_types_are_serialization_errors() {
        let r = validate(Operation::DescribeUserPool, &json!({"UserPoolId": 5}));
        assert!(matches!(r, Err(Invalid::Serialization(_))), "{r:?}");
        let r = validate(Operation::ListUserPools, &json!({"MaxResults": "ten"}));
        assert!(matches!(r, Err(Invalid::Serialization(_))), "{r:?}");
        let r = validate(Operation::ListUserPools, &json!([]));
        assert!(matches!(r, Err(Invalid::Serialization(_))), "{r:?}");
    }

    #[test]
    fn map_values_are_checked_as_one_message() {
        let long = "x".repeat(131_073);
        let body = json!({"ClientId": "abc", "Username": "bob", "ConfirmationCode": "1", "Password": "Passw0rd!", "ClientMetadata": {"k": long}});
        let m = constraints(Operation::ConfirmForgotPassword, body);
        assert!(m.contains("at 'clientMetadata' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 131072]"), "{m}");
    }

    #[test]
    fn validate_string_checks_named_shapes() {
        assert_eq!(validate_string("UsernameType", "bob"), Ok(()));
        assert!(validate_string("UsernameType", "a b").is_err());
    }
}
