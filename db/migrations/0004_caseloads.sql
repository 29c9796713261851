-- Invitations a caseworker hands to a person (as a deep link / QR code).
-- Only a hash of the token is stored: a copy of the database cannot be used to join.
CREATE TABLE invitations (
    id             INTEGER PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    caseworker_id  INTEGER NOT NULL REFERENCES users (telegram_id),
    label          TEXT,            -- the caseworker's note (a name or case number); cleared when used up
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);

CREATE INDEX invitations_by_caseworker ON invitations (caseworker_id, status);

-- A person linked to their caseworker (after consent).
CREATE TABLE clients (
    telegram_id        INTEGER PRIMARY KEY REFERENCES users (telegram_id) ON DELETE CASCADE,
    caseworker_id      INTEGER NOT NULL REFERENCES users (telegram_id),
    label              TEXT,        -- from the invitation
    telegram_name      TEXT,        -- first name as shown in Telegram at consent (stated on the consent screen)
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    consented_at       TEXT NOT NULL,
    linked_at          TEXT NOT NULL,
    last_contact_at    TEXT,
    unreachable_since  TEXT         -- Telegram refused delivery (blocked, deactivated)
);

CREATE INDEX clients_by_caseworker ON clients (caseworker_id, status);

-- Messages between a client and their caseworker, for the history in the client card.
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    client_id          INTEGER NOT NULL REFERENCES clients (telegram_id) ON DELETE CASCADE,
    caseworker_id      INTEGER NOT NULL,
    direction          TEXT NOT NULL CHECK (direction IN ('in', 'out')),   -- in: from the client
    kind               TEXT NOT NULL,   -- text, photo, document, voice, location, ...
    body               TEXT,            -- text or caption
    created_at         TEXT NOT NULL,
    delivery           TEXT NOT NULL DEFAULT 'pending' CHECK (delivery IN ('pending', 'delivered', 'failed')),
    delivered_at       TEXT,
    read_at            TEXT             -- when the caseworker saw an incoming message
);

CREATE INDEX messages_by_client ON messages (client_id, id);
CREATE INDEX messages_unread ON messages (caseworker_id, client_id, created_at)
    WHERE direction = 'in' AND read_at IS NULL;

-- When a caseworker answers; clients writing outside these hours get an auto-reply.
CREATE TABLE working_hours (
    caseworker_id  INTEGER PRIMARY KEY REFERENCES users (telegram_id) ON DELETE CASCADE,
    weekdays       TEXT NOT NULL DEFAULT '0,1,2,3,4',   -- Monday = 0
    opens_at       TEXT NOT NULL DEFAULT '09:00',
    closes_at      TEXT NOT NULL DEFAULT '18:00'
);
