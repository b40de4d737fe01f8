-- Alert-manager state that must outlive a worker and be shared by all of them:
-- silences created by `onexgen alerts silence`. Expiring a silence sets ends_at
-- to now (rows are kept for the audit trail: who silenced what, when, why).

CREATE TABLE alert_silences (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    matchers    text[] NOT NULL CHECK (cardinality(matchers) BETWEEN 1 AND 32),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 128),
    comment     text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_silence_interval CHECK (ends_at > starts_at)
);
-- "active now" is ends_at > now() AND starts_at <= now(): the worker polls it every few seconds
CREATE INDEX alert_silences_ends_idx ON alert_silences (ends_at DESC);
