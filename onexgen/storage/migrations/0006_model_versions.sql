-- The learning loop's own tables: stored model versions, the mixin feedback
-- events the models train on, and the requests feedback refers to.

-- One row per trained model (kind 'mixins' or 'patterns'); a worker loads the
-- newest of each kind at start. params: how it was trained; metrics: its
-- evaluation figures (held-out accuracy, calibration, ...); blob: the model.
CREATE TABLE model_versions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
    params     jsonb NOT NULL DEFAULT '{}'::jsonb,
    metrics    jsonb NOT NULL DEFAULT '{}'::jsonb,
    blob       bytea NOT NULL CHECK (octet_length(blob) > 0)
);
CREATE INDEX model_versions_kind_idx ON model_versions (kind, id DESC);

-- One row per mixin feedback event (the whole set, which the pair matrix
-- cannot hold); event_key is the Kafka position topic:partition:offset, so a
-- redelivered event is stored, and learned from, once.
CREATE TABLE mixin_feedback_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_key       text NOT NULL UNIQUE CHECK (length(event_key) BETWEEN 1 AND 256),
    request_id      text,
    node_type       text NOT NULL
                    CHECK (node_type IN ('effect', 'compute', 'reducer', 'orchestrator')),
    mixins          text[] NOT NULL CHECK (cardinality(mixins) BETWEEN 1 AND 32),
    success         boolean NOT NULL,
    error           text,
    source          text NOT NULL CHECK (source IN ('user', 'automated')),
    learning_weight double precision NOT NULL CHECK (learning_weight BETWEEN 0 AND 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mixin_feedback_weight_by_source
        CHECK (learning_weight = CASE source WHEN 'user' THEN 1.0 ELSE 0.5 END)
);
CREATE INDEX mixin_feedback_created_idx ON mixin_feedback_events (created_at DESC);

-- The raw JSON of processed generation requests, so that pattern feedback
-- (which names only a request id) can be learned from on any worker.
CREATE TABLE request_log (
    request_id text PRIMARY KEY CHECK (length(request_id) BETWEEN 1 AND 128),
    request    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_log_created_idx ON request_log (created_at);
