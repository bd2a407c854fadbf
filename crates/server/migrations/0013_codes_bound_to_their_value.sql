-- The attribute value a verification code was sent to: VerifyUserAttribute marks the attribute
-- verified only while it still has that value (codes stored before have none, and are checked
-- by their hash alone, as before).
ALTER TABLE user_codes ADD COLUMN sent_to TEXT;
