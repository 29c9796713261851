-- Nothing the bot must send or handle is lost (issue 9).

-- Incoming updates, stored before Telegram is told they arrived (the next getUpdates
-- offset), deleted once handled. A row left here by a crash is handled again at start.
-- Holds message texts for seconds: personal data that does not outlive its handling.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    received_at  TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0   -- handling started (a replay after a crash adds one)
);

-- The highest update id ever stored: getUpdates resumes after it, so an update handled and
-- deleted from the inbox is never fetched and handled a second time.
CREATE TABLE inbox_offset (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_update_id  INTEGER NOT NULL
);

-- A relayed message is stored with where its original is (copyMessage needs it), once:
-- the same Telegram message handled again (a replayed update) finds its row.
ALTER TABLE messages ADD COLUMN source_chat_id INTEGER;
ALTER TABLE messages ADD COLUMN source_message_id INTEGER;
CREATE UNIQUE INDEX messages_source ON messages (source_chat_id, source_message_id);
-- What the sender was told while Telegram did not answer ('trying'): they are told again
-- when it is delivered or given up.
ALTER TABLE messages ADD COLUMN sender_told TEXT;

-- An answer to a check-in is recorded once per update that carried it (a replay finds it).
ALTER TABLE checkins ADD COLUMN answer_key TEXT;
CREATE UNIQUE INDEX checkins_answer_key ON checkins (answer_key);

-- Staff Telegram no longer delivers to (blocked the bot): alerts go to the administrators.
-- (Clients keep theirs in clients.unreachable_since.)
ALTER TABLE users ADD COLUMN unreachable_since TEXT;
