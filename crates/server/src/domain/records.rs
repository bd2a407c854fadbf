//! The records the store reads and writes, as plain data: users, their passwords, codes and
//! ListUsers conditions. Rules about them live in the other `domain` modules; SQL in `store`.

/// What a sign-in name can be besides the username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    Email,
    PhoneNumber,
    PreferredUsername,
}

impl AliasKind {
    pub const ALL: [AliasKind; 3] = [AliasKind::Email, AliasKind::PhoneNumber, AliasKind::PreferredUsername];

    /// The attribute the alias comes from.
    pub const fn attribute(self) -> &'static str {
        match self {
            AliasKind::Email => "email",
            AliasKind::PhoneNumber => "phone_number",
            AliasKind::PreferredUsername => "preferred_username",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub pool_id: String,
    pub sub: String,
    pub username: String,
    pub username_key: String,
    pub status: String,
    pub enabled: bool,
    pub created_at: i64,
    pub password: Option<PasswordRecord>,
    pub attributes: Vec<(String, String)>,
    pub aliases: Vec<(AliasKind, String)>,
    /// Take aliases over from whoever holds them (AdminCreateUser's ForceAliasCreation): only the
    /// last user to claim a verified value can sign in with it.
    pub force_aliases: bool,
}

/// A password as stored: the argon2id hash and the SRP salt and verifier derived from it.
#[derive(Debug, Clone)]
pub struct PasswordRecord {
    pub hash: String,
    pub srp_salt: String,
    pub srp_verifier: String,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub pool_id: String,
    pub sub: String,
    pub username: String,
    pub status: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_hash: Option<String>,
    pub password_set_at: Option<i64>,
    pub srp_salt: Option<String>,
    pub srp_verifier: Option<String>,
    /// Epoch milliseconds of the last GlobalSignOut: tokens issued until then are refused.
    pub tokens_revoked_at: Option<i64>,
    /// `sub` first, then by name.
    pub attributes: Vec<(String, String)>,
}

impl UserRow {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A one-time code as stored: its keyed hash, expiry and, for an attribute change that waits for
/// verification, the value to apply once the code is confirmed.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub code_hash: String,
    pub expires_at: i64,
    pub pending_value: Option<String>,
    /// The attribute value the code was sent to (email and phone verification codes).
    pub sent_to: Option<String>,
}

/// A code to store in a user's slot, replacing the slot's previous one.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub slot: &'a str,
    pub code_hash: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
    pub pending_value: Option<&'a str>,
    pub sent_to: Option<&'a str>,
}

/// Attribute changes to write in one transaction, with the aliases they give and the code slots
/// they void (a code sent to a value that is no longer the user's must not verify anything).
#[derive(Debug, Clone, Default)]
pub struct AttributeChange {
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
    pub aliases: Vec<(AliasKind, Option<String>)>,
    pub void_codes: Vec<&'static str>,
    pub updated_at: i64,
}

/// One ListUsers filter condition.
#[derive(Debug, Clone)]
pub struct UserFilter {
    pub target: FilterTarget,
    pub value: String,
    /// `^=` (starts with) rather than `=`.
    pub prefix: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterTarget {
    Username,
    Status,
    Enabled,
    Sub,
    Attribute(String),
}
