-- Token signing keys (RS256, one active key per pool and token use; older ones stay for
-- verification after a rotation) and refresh tokens, stored only as hashes.

CREATE TABLE signing_keys (
    pool_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    token_use TEXT NOT NULL,
    -- PKCS#8 DER, base64.
    private_key TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (pool_id, kid)
);
-- Concurrent first sign-ins on several nodes agree on one active key.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (pool_id, token_use) WHERE active = 1;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    client_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (pool_id, sub);
