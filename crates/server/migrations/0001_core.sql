-- One migration set for SQLite and PostgreSQL, run through sqlx's Any driver: every integer is
-- BIGINT (booleans as 0/1), times are epoch milliseconds, JSON is TEXT.

CREATE TABLE user_pools (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- The pool as DescribeUserPool returns it, less the fields computed on read.
    config TEXT NOT NULL
);

CREATE TABLE user_pool_clients (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The client as DescribeUserPoolClient returns it, secret included (Cognito returns it too).
    config TEXT NOT NULL
);
CREATE INDEX user_pool_clients_by_pool ON user_pool_clients (pool_id, id);

CREATE TABLE users (
    pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    sub TEXT NOT NULL,
    -- The internal username (the sub itself in pools with UsernameAttributes).
    username TEXT NOT NULL,
    -- What lookups compare: the username, lowercased in case-insensitive pools.
    username_key TEXT NOT NULL,
    status TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- argon2id in PHC form; NULL until a password is set.
    password_hash TEXT,
    password_set_at BIGINT,
    -- SRP-6a salt and verifier (hex), set with every password.
    srp_salt TEXT,
    srp_verifier TEXT,
    PRIMARY KEY (pool_id, sub)
);
CREATE UNIQUE INDEX users_by_username ON users (pool_id, username_key);

-- Attribute values, one row each, so ListUsers filters and alias lookups use an index.
CREATE TABLE user_attributes (
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (pool_id, sub, name),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX user_attributes_by_value ON user_attributes (pool_id, name, value);

-- Sign-in aliases (email, phone_number, preferred_username) and, in pools with
-- UsernameAttributes, the email or phone number used as the username. `value_key` is
-- lowercased where the pool is case-insensitive.
CREATE TABLE user_aliases (
    pool_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value_key TEXT NOT NULL,
    sub TEXT NOT NULL,
    PRIMARY KEY (pool_id, kind, value_key),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX user_aliases_by_user ON user_aliases (pool_id, sub);

-- Sign-up and attribute-verification codes, stored as keyed hashes.
CREATE TABLE user_codes (
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (pool_id, sub, purpose),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);

-- Every message the server sends, in local mode readable at /_userpool/messages.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    purpose TEXT NOT NULL,
    delivery_medium TEXT NOT NULL,
    destination TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    code TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_by_user ON messages (pool_id, username, created_at);

-- Server-wide secrets generated at first start (the code HMAC key, ...).
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
