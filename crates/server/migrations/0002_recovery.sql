-- Account recovery: password history, per-user attempt counters, recorded recovery events.

-- Earlier password hashes of a user (PHC strings under the user's own salt, so one hash of a
-- candidate compares against all of them).
CREATE TABLE password_history (
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX password_history_by_user ON password_history (pool_id, sub, created_at);

-- Fixed-window counters (wrong reset codes, reset requests), updated by one atomic upsert.
CREATE TABLE user_counters (
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (pool_id, sub, name),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);

-- Recovery requests with their context data (UserContextData, AnalyticsMetadata), for audit.
CREATE TABLE recovery_events (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    client_id TEXT,
    event TEXT NOT NULL,
    ip_address TEXT,
    analytics_endpoint_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX recovery_events_by_user ON recovery_events (pool_id, sub, created_at);
