-- Privacy: invitations no longer pin a caseworker's account (so a former caseworker can be
-- erased), and an invitation that ran out is marked 'expired' with its label cleared.

-- SQLite cannot change a column's constraints in place: rebuild the table.
CREATE TABLE invitations_new (
    id             INTEGER PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    -- NULL once the caseworker's own data was erased (the invitation keeps only its outcome).
    caseworker_id  INTEGER REFERENCES users (telegram_id) ON DELETE SET NULL,
    label          TEXT,            -- the caseworker's note (a name or case number); cleared when used up or expired
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);

INSERT INTO invitations_new (id, token_hash, caseworker_id, label, status, created_at, expires_at, used_at)
SELECT id, token_hash, caseworker_id, label, status, created_at, expires_at, used_at FROM invitations;

DROP TABLE invitations;

ALTER TABLE invitations_new RENAME TO invitations;

CREATE INDEX invitations_by_caseworker ON invitations (caseworker_id, status);

-- The retention purge: pending invitations by expiry.
CREATE INDEX invitations_pending_expiry ON invitations (expires_at) WHERE status = 'pending';

-- Invitations left pending by caseworkers removed before removal revoked them.
UPDATE invitations SET status = 'revoked', label = NULL
WHERE status = 'pending'
  AND caseworker_id NOT IN (SELECT telegram_id FROM users WHERE role = 'caseworker');

-- A caseworker now sees only the messages exchanged with them, and an admin's reassignment
-- moves the whole history. Earlier reassignments moved only unread messages: move the rest
-- as they would be moved now (each message to the caseworker of the last reassignment made
-- after it was written).
UPDATE messages SET caseworker_id = (
    SELECT json_extract(a.details, '$.to_caseworker') FROM audit_log a
    WHERE a.action = 'client.reassigned' AND a.subject_id = messages.client_id
      AND a.at >= messages.created_at AND json_extract(a.details, '$.to_caseworker') IS NOT NULL
    ORDER BY a.id DESC LIMIT 1
)
WHERE EXISTS (
    SELECT 1 FROM audit_log a
    WHERE a.action = 'client.reassigned' AND a.subject_id = messages.client_id
      AND a.at >= messages.created_at AND json_extract(a.details, '$.to_caseworker') IS NOT NULL
);
