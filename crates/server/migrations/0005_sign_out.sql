-- GlobalSignOut: tokens issued before this time (epoch seconds) are refused.
ALTER TABLE users ADD COLUMN tokens_revoked_at BIGINT;
