-- The command menu last set in each person's chat (its commands and language), so that a
-- restart sets only the menus that changed instead of one per person every time.
ALTER TABLE people ADD COLUMN menu TEXT;
