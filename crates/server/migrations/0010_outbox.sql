-- The mail outbox (issue 5): an email waits here until the SMTP server has taken it.
-- `send_after` NULL: nothing to send (no SMTP configured, an SMS, or sent). A node that takes a
-- message moves `send_after` forward by a lease, in one conditional UPDATE, so two nodes never
-- send the same message at once.
ALTER TABLE messages ADD COLUMN send_after BIGINT;
ALTER TABLE messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN sent_at BIGINT;
ALTER TABLE messages ADD COLUMN last_error TEXT;
ALTER TABLE messages ADD COLUMN sender TEXT;
ALTER TABLE messages ADD COLUMN reply_to TEXT;
CREATE INDEX messages_outbox ON messages (send_after);
