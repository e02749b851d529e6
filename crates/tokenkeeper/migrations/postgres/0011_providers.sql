-- Many providers: an attempt names the provider it goes through, and keeps the PKCE
-- verifier of networks that take one. A verifier is worthless without the code, which only
-- the member's browser receives, and the attempt lives minutes. Rows from before were all
-- LinkedIn's, which takes no PKCE.
ALTER TABLE connect_attempts ADD COLUMN network TEXT NOT NULL DEFAULT 'linkedin';
ALTER TABLE connect_attempts ADD COLUMN pkce_verifier TEXT;
