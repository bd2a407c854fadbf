//! The ListUsers `Filter`: `attribute = "value"` or `attribute ^= "value"`.
//! https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html

use crate::domain::records::{FilterTarget, UserFilter};

/// The attributes Cognito can filter on.
const FILTERABLE: [&str; 10] = [
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

#[derive(Debug, PartialEq, Eq)]
pub enum FilterError {
    /// Not of the form `name = "value"`.
    Syntax,
    /// A name Cognito cannot search on.
    NotFilterable(String),
}

/// An empty filter means no filter.
pub fn parse(filter: &str) -> Result<Option<UserFilter>, FilterError> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let name_end = filter.find(|c: char| c.is_whitespace() || c == '=' || c == '^').ok_or(FilterError::Syntax)?;
    let (name, rest) = filter.split_at(name_end);
    let rest = rest.trim_start();
    let (prefix, rest) = if let Some(r) = rest.strip_prefix("^=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (false, r)
    } else {
        return Err(FilterError::Syntax);
    };
    let quoted = rest.trim();
    let inner = quoted.strip_prefix('"').and_then(|s| s.strip_suffix('"')).ok_or(FilterError::Syntax)?;
    let mut value = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next().ok_or(FilterError::Syntax)?),
            '"' => return Err(FilterError::Syntax),
            c => value.push(c),
        }
    }
    if !FILTERABLE.contains(&name) {
        return Err(FilterError::NotFilterable(name.to_string()));
    }
    if name == "status" && (prefix || !matches!(value.as_str(), "Enabled" | "Disabled")) {
        return Err(FilterError::Syntax);
    }
    let target = match name {
        "username" => FilterTarget::Username,
        "sub" => FilterTarget::Sub,
        "cognito:user_status" => FilterTarget::Status,
        "status" => FilterTarget::Enabled,
        other => FilterTarget::Attribute(other.to_string()),
    };
    Ok(Some(UserFilter { target, value, prefix }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_equality_and_prefix() {
        let f = parse(r#"email = "a@b.c""#).unwrap().unwrap();
        assert_eq!((f.target, f.value.as_str(), f.prefix), (FilterTarget::Attribute("email".into()), "a@b.c", false));
        let f = parse(r#"username ^= "al""#).unwrap().unwrap();
        assert_eq!((f.target, f.prefix), (FilterTarget::Username, true));
        let f = parse(r#"cognito:user_status="CONFIRMED""#).unwrap().unwrap();
        assert_eq!(f.target, FilterTarget::Status);
        let f = parse(r#"name = "say \"hi\"""#).unwrap().unwrap();
        assert_eq!(f.value, "say \"hi\"");
        assert_eq!(parse("  ").unwrap().map(|f| f.value), None);
    }

    #[test]
    fn refuses_malformed_and_unfilterable() {
        assert_eq!(parse("email").unwrap_err(), FilterError::Syntax);
        assert_eq!(parse("email = a@b.c").unwrap_err(), FilterError::Syntax);
        assert_eq!(parse(r#"email != "x""#).unwrap_err(), FilterError::Syntax);
        assert_eq!(parse(r#"custom:team = "x""#).unwrap_err(), FilterError::NotFilterable("custom:team".into()));
        assert_eq!(parse(r#"status = "foo""#).unwrap_err(), FilterError::Syntax);
        assert_eq!(parse(r#"status = "Disabled""#).unwrap().map(|f| f.target), Some(FilterTarget::Enabled));
    }
}
