-- Whether a version is one of carecheck's shipped defaults. Start-up replaces a shipped
-- default with a newer release's, but never a version a person published, even after
-- that person was forgotten (published_by then becomes NULL).
ALTER TABLE script_versions ADD COLUMN shipped INTEGER NOT NULL DEFAULT 0 CHECK (shipped IN (0, 1));
UPDATE script_versions SET shipped = 1 WHERE published_by IS NULL;
