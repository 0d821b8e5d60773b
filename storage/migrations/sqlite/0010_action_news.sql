-- "You said, we did": when an improvement action becomes done, the staff it concerns are
-- told once. The trigger queues the action whatever marked it done (a button, the command
-- line, a script), and un-queues it if it is opened again before the news went out;
-- `action_news_sent` claims each person's message before it is sent, so a restart, a
-- double press or a second run never sends it twice.
CREATE TABLE action_news_due (
    action_id INTEGER PRIMARY KEY REFERENCES actions (id) ON DELETE CASCADE
);

CREATE TABLE action_news_sent (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    sent_at   TEXT    NOT NULL,
    PRIMARY KEY (action_id, person_id)
) WITHOUT ROWID;

CREATE TRIGGER action_done_news AFTER UPDATE OF status ON actions
WHEN NEW.status = 'done' AND OLD.status <> 'done'
BEGIN
    INSERT INTO action_news_due (action_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER action_reopened_news AFTER UPDATE OF status ON actions
WHEN NEW.status <> 'done'
BEGIN
    DELETE FROM action_news_due WHERE action_id = NEW.id;
END;
