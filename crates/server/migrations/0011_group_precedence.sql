-- A group's Precedence as a column, so issuing tokens orders a user's groups without parsing each
-- group's JSON. Groups stored before this migration get theirs from their JSON at the next start
-- (Store::connect), since SQLite and PostgreSQL read JSON with different functions.
ALTER TABLE user_groups ADD COLUMN precedence BIGINT;
