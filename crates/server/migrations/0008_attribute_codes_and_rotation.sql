-- Attribute verification, refresh-token rotation and signing-key rotation.

-- A changed email or phone number that the pool keeps unapplied until it is verified
-- (UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate) waits beside its code.
ALTER TABLE user_codes ADD COLUMN pending_value TEXT;

-- Rotation (GetTokensFromRefreshToken on a client with RefreshTokenRotation ENABLED): a token's
-- family is the hash of the token the sign-in issued (NULL: the token itself), so RevokeToken
-- revokes every descendant; `rotated_at` starts the rotated-out token's grace period.
ALTER TABLE refresh_tokens ADD COLUMN family TEXT;
ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);

-- A retired signing key stays in the JWKS until every token it signed has expired.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
