-- GlobalSignOut's time in milliseconds, compared with the millisecond each token was issued (its
-- jti is a UUIDv7): tokens issued later in the same second are no longer refused.
UPDATE users SET tokens_revoked_at = tokens_revoked_at * 1000 WHERE tokens_revoked_at IS NOT NULL;
