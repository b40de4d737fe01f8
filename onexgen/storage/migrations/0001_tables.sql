-- The five tables. Metric tables are partitioned by day on created_at (the
-- Kafka message timestamp, so a replay lands on the same key); each has a
-- DEFAULT partition so an insert never fails for want of a partition.

CREATE TABLE mixin_compatibility_matrix (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mixin_a             text COLLATE "C" NOT NULL CHECK (length(mixin_a) BETWEEN 1 AND 128),
    mixin_b             text COLLATE "C" NOT NULL CHECK (length(mixin_b) BETWEEN 1 AND 128),
    node_type           text NOT NULL
                        CHECK (node_type IN ('effect', 'compute', 'reducer', 'orchestrator')),
    compatibility_score double precision NOT NULL DEFAULT 0.5
                        CHECK (compatibility_score BETWEEN 0 AND 1),
    success_count       integer NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    failure_count       integer NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
    last_tested_at      timestamptz,
    conflict_reason     text,
    resolution_pattern  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- pairs are stored canonically, so (A,B) and (B,A) are one row
    CONSTRAINT mixin_pair_canonical CHECK (mixin_a < mixin_b),
    CONSTRAINT mixin_pair_unique UNIQUE (mixin_a, mixin_b, node_type)
);
CREATE INDEX mixin_matrix_node_type_idx ON mixin_compatibility_matrix (node_type, compatibility_score);
CREATE INDEX mixin_matrix_mixin_b_idx ON mixin_compatibility_matrix (mixin_b, node_type);
CREATE INDEX mixin_matrix_tested_idx ON mixin_compatibility_matrix (last_tested_at DESC);
CREATE INDEX mixin_matrix_conflicts_idx ON mixin_compatibility_matrix (node_type)
    WHERE failure_count > 0;

-- Keys of outcomes already counted, so a replayed feedback event counts once.
CREATE TABLE mixin_outcome_log (
    outcome_key text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mixin_outcome_log_created_idx ON mixin_outcome_log (created_at);

CREATE TABLE pattern_feedback_log (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feedback_key         text NOT NULL CHECK (length(feedback_key) BETWEEN 1 AND 256),
    request_id           text NOT NULL,
    pattern_name         text NOT NULL CHECK (length(pattern_name) BETWEEN 1 AND 64),
    detected_confidence  double precision NOT NULL CHECK (detected_confidence BETWEEN 0 AND 1),
    actual_pattern       text,
    feedback_type        text NOT NULL
                         CHECK (feedback_type IN ('correct', 'incorrect', 'partial', 'adjusted')),
    source               text NOT NULL CHECK (source IN ('user', 'automated')),
    user_provided        boolean NOT NULL,
    contract_json        jsonb,
    capabilities_matched text[] NOT NULL DEFAULT '{}',
    false_positives      text[] NOT NULL DEFAULT '{}',
    false_negatives      text[] NOT NULL DEFAULT '{}',
    learning_weight      double precision NOT NULL CHECK (learning_weight BETWEEN 0 AND 1),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_key_unique UNIQUE (feedback_key),
    CONSTRAINT feedback_user_matches_source CHECK (user_provided = (source = 'user'))
);
CREATE INDEX feedback_pattern_idx ON pattern_feedback_log (pattern_name, feedback_type, created_at DESC);
CREATE INDEX feedback_created_idx ON pattern_feedback_log (created_at DESC);
CREATE INDEX feedback_request_idx ON pattern_feedback_log (request_id);
CREATE INDEX feedback_wrong_idx ON pattern_feedback_log (pattern_name, created_at DESC)
    WHERE feedback_type <> 'correct';
CREATE INDEX feedback_contract_gin ON pattern_feedback_log USING gin (contract_json jsonb_path_ops);
CREATE INDEX feedback_capabilities_gin ON pattern_feedback_log USING gin (capabilities_matched);

CREATE TABLE generation_performance_metrics (
    request_id         text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 128),
    node_type          text NOT NULL
                       CHECK (node_type IN ('effect', 'compute', 'reducer', 'orchestrator')),
    phase              text NOT NULL CHECK (phase IN
                       ('analysis', 'template_load', 'code_gen', 'validation', 'persistence', 'total')),
    duration_ms        double precision NOT NULL CHECK (duration_ms >= 0),
    memory_mb          double precision CHECK (memory_mb >= 0),
    cpu_percent        double precision CHECK (cpu_percent >= 0),
    cache_hit          boolean NOT NULL DEFAULT false,
    parallel_execution boolean NOT NULL DEFAULT false,
    worker_count       integer NOT NULL DEFAULT 1 CHECK (worker_count >= 1),
    metadata           jsonb,
    created_at         timestamptz NOT NULL
) PARTITION BY RANGE (created_at);
CREATE TABLE generation_performance_metrics_default
    PARTITION OF generation_performance_metrics DEFAULT;
CREATE UNIQUE INDEX generation_metrics_natural_key
    ON generation_performance_metrics (request_id, phase, created_at);
CREATE INDEX generation_metrics_phase_idx ON generation_performance_metrics (phase, created_at DESC);
CREATE INDEX generation_metrics_node_type_idx
    ON generation_performance_metrics (node_type, created_at DESC);
CREATE INDEX generation_metrics_created_idx ON generation_performance_metrics (created_at DESC);
CREATE INDEX generation_metrics_cache_hit_idx ON generation_performance_metrics (created_at DESC)
    WHERE cache_hit;
CREATE INDEX generation_metrics_metadata_gin
    ON generation_performance_metrics USING gin (metadata jsonb_path_ops);

CREATE TABLE template_cache_metadata (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template_name    text NOT NULL CHECK (length(template_name) BETWEEN 1 AND 256),
    template_type    text NOT NULL CHECK (template_type IN
                     ('node', 'contract', 'subcontract', 'mixin', 'test', 'model', 'readme', 'init')),
    cache_key        text NOT NULL,
    file_path        text NOT NULL,
    file_hash        text NOT NULL CHECK (file_hash ~ '^[0-9a-f]{64}$'),
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    load_time_ms     double precision CHECK (load_time_ms >= 0),
    last_accessed_at timestamptz NOT NULL,
    access_count     bigint NOT NULL DEFAULT 0 CHECK (access_count >= 0),
    cache_hits       bigint NOT NULL DEFAULT 0 CHECK (cache_hits >= 0),
    cache_misses     bigint NOT NULL DEFAULT 0 CHECK (cache_misses >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT template_name_unique UNIQUE (template_name)
);
CREATE INDEX template_cache_type_idx ON template_cache_metadata (template_type);
CREATE INDEX template_cache_accessed_idx ON template_cache_metadata (last_accessed_at DESC);
CREATE INDEX template_cache_hash_idx ON template_cache_metadata (file_hash);
CREATE INDEX template_cache_hits_idx ON template_cache_metadata (template_type, cache_hits)
    WHERE cache_hits > 0;

CREATE TABLE event_processing_metrics (
    event_key              text NOT NULL CHECK (length(event_key) BETWEEN 1 AND 512),
    event_type             text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 128),
    event_source           text NOT NULL CHECK (length(event_source) BETWEEN 1 AND 256),
    processing_duration_ms double precision NOT NULL CHECK (processing_duration_ms >= 0),
    queue_wait_time_ms     double precision CHECK (queue_wait_time_ms >= 0),
    success                boolean NOT NULL,
    error_type             text,
    error_message          text CHECK (length(error_message) <= 4000),
    retry_count            integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    batch_size             integer NOT NULL DEFAULT 1 CHECK (batch_size >= 1),
    created_at             timestamptz NOT NULL,
    -- a failure must say what failed
    CONSTRAINT event_failure_has_type CHECK (success OR error_type IS NOT NULL)
) PARTITION BY RANGE (created_at);
CREATE TABLE event_processing_metrics_default PARTITION OF event_processing_metrics DEFAULT;
CREATE UNIQUE INDEX event_metrics_natural_key ON event_processing_metrics (event_key, created_at);
CREATE INDEX event_metrics_type_idx
    ON event_processing_metrics (event_type, event_source, created_at DESC);
CREATE INDEX event_metrics_created_idx ON event_processing_metrics (created_at DESC);
CREATE INDEX event_metrics_errors_idx ON event_processing_metrics (created_at DESC, error_type)
    WHERE NOT success;
