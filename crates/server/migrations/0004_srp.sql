-- SRP SECRET_BLOCKs already answered: a block is good for one PASSWORD_VERIFIER response.
CREATE TABLE used_secret_blocks (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_secret_blocks_by_expiry ON used_secret_blocks (expires_at);
