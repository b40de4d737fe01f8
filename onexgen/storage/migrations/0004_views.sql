-- One summary per table, over any time window: <view>_window(since, until)
-- covers [since, until); the plain view is the window over all time. The
-- functions are single-SELECT SQL functions, so the planner inlines them and
-- prunes partitions outside the window.

CREATE FUNCTION mixin_compatibility_summary_window(
    since timestamptz DEFAULT '-infinity', until timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    node_type text, combinations bigint, avg_compatibility_score double precision,
    total_successes bigint, total_failures bigint, success_rate double precision,
    last_tested_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.node_type, count(*), avg(m.compatibility_score),
           sum(m.success_count)::bigint, sum(m.failure_count)::bigint,
           sum(m.success_count)::double precision
               / nullif(sum(m.success_count) + sum(m.failure_count), 0),
           max(m.last_tested_at)
    FROM mixin_compatibility_matrix m
    WHERE m.last_tested_at >= since AND m.last_tested_at < until
    GROUP BY m.node_type
$$;

CREATE FUNCTION pattern_feedback_analysis_window(
    since timestamptz DEFAULT '-infinity', until timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    pattern_name text, feedback_type text, feedback_count bigint,
    avg_detected_confidence double precision, total_learning_weight double precision,
    user_count bigint, automated_count bigint, share_of_pattern double precision,
    first_at timestamptz, last_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT f.pattern_name, f.feedback_type, count(*), avg(f.detected_confidence),
           sum(f.learning_weight), count(*) FILTER (WHERE f.user_provided),
           count(*) FILTER (WHERE NOT f.user_provided),
           count(*)::double precision / sum(count(*)) OVER (PARTITION BY f.pattern_name),
           min(f.created_at), max(f.created_at)
    FROM pattern_feedback_log f
    WHERE f.created_at >= since AND f.created_at < until
    GROUP BY f.pattern_name, f.feedback_type
$$;

CREATE FUNCTION performance_metrics_summary_window(
    since timestamptz DEFAULT '-infinity', until timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    phase text, sample_count bigint, avg_duration_ms double precision,
    p50_duration_ms double precision, p95_duration_ms double precision,
    p99_duration_ms double precision, max_duration_ms double precision,
    cache_hit_rate double precision, parallel_rate double precision,
    avg_memory_mb double precision, avg_cpu_percent double precision)
LANGUAGE sql STABLE AS $$
    SELECT g.phase, count(*), avg(g.duration_ms),
           percentile_cont(0.50) WITHIN GROUP (ORDER BY g.duration_ms),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY g.duration_ms),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY g.duration_ms),
           max(g.duration_ms),
           avg(g.cache_hit::int::double precision),
           avg(g.parallel_execution::int::double precision),
           avg(g.memory_mb), avg(g.cpu_percent)
    FROM generation_performance_metrics g
    WHERE g.created_at >= since AND g.created_at < until
    GROUP BY g.phase
$$;

CREATE FUNCTION template_cache_efficiency_window(
    since timestamptz DEFAULT '-infinity', until timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    template_type text, template_count bigint, total_accesses bigint, total_hits bigint,
    total_misses bigint, hit_rate double precision, avg_load_time_ms double precision,
    total_size_bytes bigint, avg_size_bytes double precision)
LANGUAGE sql STABLE AS $$
    SELECT t.template_type, count(*), sum(t.access_count)::bigint, sum(t.cache_hits)::bigint,
           sum(t.cache_misses)::bigint,
           sum(t.cache_hits)::double precision / nullif(sum(t.cache_hits) + sum(t.cache_misses), 0),
           avg(t.load_time_ms), sum(t.size_bytes)::bigint, avg(t.size_bytes)::double precision
    FROM template_cache_metadata t
    WHERE t.last_accessed_at >= since AND t.last_accessed_at < until
    GROUP BY t.template_type
$$;

CREATE FUNCTION event_processing_health_window(
    since timestamptz DEFAULT '-infinity', until timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    event_type text, event_source text, total_events bigint, successes bigint,
    failures bigint, success_rate double precision, avg_duration_ms double precision,
    p95_duration_ms double precision, avg_queue_wait_ms double precision,
    total_retries bigint, avg_batch_size double precision, last_event_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT e.event_type, e.event_source, count(*), count(*) FILTER (WHERE e.success),
           count(*) FILTER (WHERE NOT e.success),
           avg(e.success::int::double precision),
           avg(e.processing_duration_ms),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY e.processing_duration_ms),
           avg(e.queue_wait_time_ms), sum(e.retry_count)::bigint,
           avg(e.batch_size)::double precision, max(e.created_at)
    FROM event_processing_metrics e
    WHERE e.created_at >= since AND e.created_at < until
    GROUP BY e.event_type, e.event_source
$$;

CREATE VIEW mixin_compatibility_summary AS SELECT * FROM mixin_compatibility_summary_window();
CREATE VIEW pattern_feedback_analysis AS SELECT * FROM pattern_feedback_analysis_window();
CREATE VIEW performance_metrics_summary AS SELECT * FROM performance_metrics_summary_window();
CREATE VIEW template_cache_efficiency AS SELECT * FROM template_cache_efficiency_window();
CREATE VIEW event_processing_health AS SELECT * FROM event_processing_health_window();
