-- ListUsers with `username = "…"` compares the username as given (not the case-folded key).
CREATE INDEX users_by_exact_username ON users (pool_id, username);
