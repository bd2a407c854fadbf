-- Counters for names that are no user's, so that with PreventUserExistenceErrors ENABLED an
-- unknown name meets the same limits a real user meets. `name_key` is an HMAC of the pool and
-- the name: the names themselves are not stored.
CREATE TABLE name_counters (
    pool_id TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (pool_id, name_key, name)
);
