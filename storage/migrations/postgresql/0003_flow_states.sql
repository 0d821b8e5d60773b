-- The flows a person is in, for every replica (sqlite/0014_flow_states.sql explains it).
CREATE TABLE flow_states (
    person_key TEXT  PRIMARY KEY,
    sealed     BYTEA NOT NULL,
    updated_at TEXT  NOT NULL
);

CREATE INDEX flow_states_age ON flow_states (updated_at);
