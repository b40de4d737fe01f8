-- The two write functions the learning loop calls.

-- Records one tested outcome of a mixin pair on a node type. The pair is
-- canonicalised here (so callers cannot create (B,A) next to (A,B)); counters
-- and score = successes / (successes + failures) are updated atomically. With
-- an outcome_key, a replay of the same outcome changes nothing.
CREATE FUNCTION update_mixin_compatibility(
    p_mixin_a            text,
    p_mixin_b            text,
    p_node_type          text,
    p_success            boolean,
    p_conflict_reason    text DEFAULT NULL,
    p_resolution_pattern text DEFAULT NULL,
    p_outcome_key        text DEFAULT NULL,
    p_tested_at          timestamptz DEFAULT now()
) RETURNS mixin_compatibility_matrix
LANGUAGE plpgsql AS $$
DECLARE
    a      text COLLATE "C" := least(p_mixin_a COLLATE "C", p_mixin_b COLLATE "C");
    b      text COLLATE "C" := greatest(p_mixin_a COLLATE "C", p_mixin_b COLLATE "C");
    result mixin_compatibility_matrix;
BEGIN
    IF a = b THEN
        RAISE EXCEPTION 'a mixin cannot be paired with itself: %', a
            USING ERRCODE = '23514', HINT = 'drop duplicate mixins before recording outcomes';
    END IF;
    IF p_outcome_key IS NOT NULL THEN
        INSERT INTO mixin_outcome_log (outcome_key) VALUES (p_outcome_key)
        ON CONFLICT (outcome_key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT * INTO result FROM mixin_compatibility_matrix m
            WHERE m.mixin_a = a AND m.mixin_b = b AND m.node_type = p_node_type;
            RETURN result;
        END IF;
    END IF;
    INSERT INTO mixin_compatibility_matrix AS m (
        mixin_a, mixin_b, node_type, compatibility_score, success_count, failure_count,
        last_tested_at, conflict_reason, resolution_pattern)
    VALUES (a, b, p_node_type, CASE WHEN p_success THEN 1.0 ELSE 0.0 END,
            p_success::int, (NOT p_success)::int, coalesce(p_tested_at, now()),
            CASE WHEN p_success THEN NULL ELSE p_conflict_reason END, p_resolution_pattern)
    ON CONFLICT (mixin_a, mixin_b, node_type) DO UPDATE SET
        success_count = m.success_count + EXCLUDED.success_count,
        failure_count = m.failure_count + EXCLUDED.failure_count,
        compatibility_score = (m.success_count + EXCLUDED.success_count)::double precision
            / (m.success_count + m.failure_count + 1),
        last_tested_at = greatest(m.last_tested_at, EXCLUDED.last_tested_at),  -- NULLs ignored
        conflict_reason = coalesce(EXCLUDED.conflict_reason, m.conflict_reason),
        resolution_pattern = coalesce(EXCLUDED.resolution_pattern, m.resolution_pattern),
        updated_at = now()
    RETURNING * INTO result;
    RETURN result;
END;
$$;

-- Inserts one pattern feedback row with its learning weight (user 1.0,
-- automated 0.5). Returns the new id, or NULL when the feedback_key was
-- already recorded (a replayed event).
CREATE FUNCTION record_pattern_feedback(
    p_feedback_key         text,
    p_request_id           text,
    p_pattern_name         text,
    p_detected_confidence  double precision,
    p_feedback_type        text,
    p_source               text,
    p_actual_pattern       text DEFAULT NULL,
    p_contract_json        jsonb DEFAULT NULL,
    p_capabilities_matched text[] DEFAULT '{}',
    p_false_positives      text[] DEFAULT '{}',
    p_false_negatives      text[] DEFAULT '{}',
    p_created_at           timestamptz DEFAULT now()
) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO pattern_feedback_log (
        feedback_key, request_id, pattern_name, detected_confidence, actual_pattern,
        feedback_type, source, user_provided, contract_json, capabilities_matched,
        false_positives, false_negatives, learning_weight, created_at)
    VALUES (
        p_feedback_key, p_request_id, p_pattern_name, p_detected_confidence, p_actual_pattern,
        p_feedback_type, p_source, p_source = 'user', p_contract_json,
        coalesce(p_capabilities_matched, '{}'), coalesce(p_false_positives, '{}'),
        coalesce(p_false_negatives, '{}'),
        CASE p_source WHEN 'user' THEN 1.0 ELSE 0.5 END,
        coalesce(p_created_at, now()))
    ON CONFLICT (feedback_key) DO NOTHING
    RETURNING id
$$;
