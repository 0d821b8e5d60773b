-- What the bot sends by itself, so a restart never sends twice, and the language a
-- service user picked (kept under their keyed hash, never their Telegram id).

CREATE TABLE notifications (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    period    TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('pulse', 'reminder')),
    sent_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (person_id, org_id, period, kind)
) WITHOUT ROWID;

-- "Remind me later": one pending reminder per person.
CREATE TABLE snoozes (
    person_id INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    due_at    TEXT    NOT NULL
);
CREATE INDEX snoozes_due ON snoozes (due_at);

CREATE TABLE respondent_prefs (
    respondent_key TEXT PRIMARY KEY,
    language       TEXT NOT NULL,
    updated_on     TEXT NOT NULL
) WITHOUT ROWID;
