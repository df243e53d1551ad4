-- The last time step (unix seconds / 30) whose TOTP code signed an account in: a code is
-- accepted only for a later step, once (RFC 6238 §5.2), by a conditional UPDATE that only one
-- sign-in can win, whichever server it reaches. NULL: no code accepted yet.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
