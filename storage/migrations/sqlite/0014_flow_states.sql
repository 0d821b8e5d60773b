-- `flow_states`: the multi-step flows a person is in (planning an action, reviewing a
-- draft, replying), so that whichever replica gets their next update continues them.
-- `person_key` is a keyed hash of the Telegram id under a purpose of its own (no plain id,
-- not the respondent key); `sealed` the flows' JSON sealed under the same secret, bound to
-- the key; `updated_at` the clock's instant of the last change, for pruning.
CREATE TABLE flow_states (
    person_key TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX flow_states_age ON flow_states (updated_at);
