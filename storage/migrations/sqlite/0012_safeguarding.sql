-- Safeguarding: an answer that calls for help (a question's `safeguard_if`) leaves a
-- signal that names the unit, the day, the question and the answer: never the session,
-- the person or the time. Signals are gathered per organisation into alerts (at most one
-- an hour), sent to the organisation's safeguarding contacts.

-- The organisation's own help text per language; a language without a row gets the default.
CREATE TABLE safeguarding_help (
    org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    language TEXT    NOT NULL CHECK (language IN ('en', 'sl', 'de', 'cs', 'lt')),
    text     TEXT    NOT NULL CHECK (length(trim(text)) > 0 AND length(text) <= 1500),
    PRIMARY KEY (org_id, language)
);

-- People flagged for alerts; an organisation without any alerts its managers.
CREATE TABLE safeguarding_contacts (
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, person_id)
);

-- One message's worth of signals. `made_at` is when the batch was made, not when anyone
-- answered: the organisation's next batch waits an hour after it.
CREATE TABLE safeguarding_alerts (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    made_at    TEXT    NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'open'
               CHECK (status IN ('open', 'seen', 'followed_up')),
    changed_by INTEGER REFERENCES people (id) ON DELETE SET NULL
);
CREATE INDEX safeguarding_alerts_by_org ON safeguarding_alerts (org_id, made_at);

-- `due_at` (the answer's commit plus a few minutes) exists only until the signal is
-- batched into an alert; then it is cleared, so no stored time stays with an answer.
CREATE TABLE safeguarding_signals (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    unit_id           INTEGER,
    day               TEXT    NOT NULL,
    script_version_id INTEGER NOT NULL REFERENCES script_versions (id),
    question_id       TEXT    NOT NULL,
    answer            TEXT    NOT NULL,
    due_at            TEXT,
    alert_id          INTEGER REFERENCES safeguarding_alerts (id) ON DELETE CASCADE,
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id) ON DELETE CASCADE,
    CHECK ((alert_id IS NULL) = (due_at IS NOT NULL))
);
CREATE INDEX safeguarding_signals_waiting ON safeguarding_signals (org_id) WHERE alert_id IS NULL;
CREATE INDEX safeguarding_signals_by_alert ON safeguarding_signals (alert_id);

-- Who got an alert: claimed before the send, so a restart or a second job never sends twice.
CREATE TABLE safeguarding_sends (
    alert_id   INTEGER NOT NULL REFERENCES safeguarding_alerts (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, person_id)
);
