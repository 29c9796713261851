-- Broadcasts: one message (in up to three language versions) from a caseworker or an
-- administrator to many clients (issue 12). The texts are not stored: each version is the
-- sender's own message in their chat, copied to each recipient with copyMessage.
CREATE TABLE broadcasts (
    id                   INTEGER PRIMARY KEY,
    sender_id            INTEGER NOT NULL,    -- 0 once the sender's data is erased
    audience             TEXT NOT NULL,       -- a code: mine, all, language:kk, missed, caseworkers:1,2
    main_language        TEXT NOT NULL CHECK (main_language IN ('kk', 'ru', 'en')),
    urgent               INTEGER NOT NULL DEFAULT 0,  -- 1: delivered inside quiet hours too
    state                TEXT NOT NULL DEFAULT 'draft'
                         CHECK (state IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    send_at              TEXT NOT NULL,       -- when sending starts (now, or the chosen time)
    created_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT,
    progress_chat_id     INTEGER,             -- the sender's progress message, edited as it goes
    progress_message_id  INTEGER
);

CREATE INDEX broadcasts_by_sender ON broadcasts (sender_id, id);
CREATE INDEX broadcasts_active ON broadcasts (state, send_at) WHERE state IN ('scheduled', 'sending');

-- Where each language version is: the sender's chat and message id (copied, never stored).
CREATE TABLE broadcast_versions (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    language      TEXT NOT NULL CHECK (language IN ('kk', 'ru', 'en')),
    chat_id       INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    PRIMARY KEY (broadcast_id, language)
);

-- One row per recipient, all stored with the broadcast before the first message goes out.
CREATE TABLE broadcast_recipients (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    client_id     INTEGER NOT NULL,
    language      TEXT NOT NULL,              -- the version this client gets
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    not_before    TEXT NOT NULL,              -- send_at, or the end of the client's quiet hours
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,                       -- a code (forbidden:blocked, unreachable, ...), never text
    sent_at       TEXT,
    PRIMARY KEY (broadcast_id, client_id)
);

CREATE INDEX broadcast_recipients_due ON broadcast_recipients (broadcast_id, not_before)
    WHERE status = 'pending';
CREATE INDEX broadcast_recipients_by_client ON broadcast_recipients (client_id);
