-- An organisation's threshold for calling a staff/service-user difference a gap in its
-- digest (on the 1-5 scale; it was a constant of the digest), and units that are
-- archived: kept for the answers given in them, offered nowhere new.
ALTER TABLE organisations ADD COLUMN gap_threshold REAL NOT NULL DEFAULT 0.75
    CHECK (gap_threshold > 0 AND gap_threshold <= 4);
ALTER TABLE units ADD COLUMN archived_on TEXT;
