-- Verification codes stored before 0013 are bound to no value: they could verify whatever the
-- attribute holds when they are used. They are dropped; a user asks for a new code.
DELETE FROM user_codes WHERE purpose LIKE 'Verify:%' AND sent_to IS NULL AND pending_value IS NULL;
