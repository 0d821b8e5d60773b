-- Anonymous replies to comments, only for authors who agreed. A route holds the way
-- back to the author sealed (AES-GCM under a key derived from the installation secret):
-- the database never holds their chat id in plain form. Ids are random, so the order
-- of comments cannot be read from them. A route goes with its answer, on its expiry
-- day (retention) and with the author's /forget.
CREATE TABLE reply_routes (
    id         INTEGER PRIMARY KEY,
    answer_id  INTEGER NOT NULL UNIQUE REFERENCES answers (id) ON DELETE CASCADE,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    sealed     BLOB    NOT NULL,
    expires_on TEXT    NOT NULL,
    -- The author answered a reply (they may once).
    answered   INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1))
);
CREATE INDEX reply_routes_by_expiry ON reply_routes (expires_on);

-- Who replied along a route: the author's one answer goes back to them.
CREATE TABLE reply_senders (
    route_id  INTEGER NOT NULL REFERENCES reply_routes (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (route_id, person_id)
) WITHOUT ROWID;
