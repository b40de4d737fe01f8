-- Daily partitions for the metric tables: create ahead, drop behind.
-- Partitions are named <table>_pYYYYMMDD and cover [day 00:00 UTC, next day 00:00 UTC).

CREATE FUNCTION onexgen_partitioned_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('generation_performance_metrics'), ('event_processing_metrics')
$$;

-- Creates the missing daily partitions for today-days_back .. today+days_ahead
-- (UTC) and returns their names. Rows already in the DEFAULT partition for a
-- new day are moved into it, so this works however late it runs.
CREATE FUNCTION onexgen_ensure_partitions(days_back integer, days_ahead integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    parent   text;
    day      date;
    part     text;
    lo       timestamptz;
    hi       timestamptz;
    today    date := (now() AT TIME ZONE 'UTC')::date;
    stranded boolean;
BEGIN
    IF days_back < 0 OR days_ahead < 0 THEN
        RAISE EXCEPTION 'days_back and days_ahead must be >= 0, got % and %', days_back, days_ahead
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('onexgen.partitions'));
    FOR parent IN SELECT onexgen_partitioned_tables() LOOP
        FOR day IN SELECT today + g FROM generate_series(-days_back, days_ahead) AS g LOOP
            part := format('%s_p%s', parent, to_char(day, 'YYYYMMDD'));
            CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
            lo := day::timestamp AT TIME ZONE 'UTC';
            hi := (day + 1)::timestamp AT TIME ZONE 'UTC';
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE created_at >= $1 AND created_at < $2)',
                           parent || '_default')
                INTO stranded USING lo, hi;
            IF stranded THEN
                EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, parent || '_default');
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               part, parent, lo, hi);
                EXECUTE format('WITH moved AS (DELETE FROM %I WHERE created_at >= $1 AND created_at < $2 '
                               'RETURNING *) INSERT INTO %I SELECT * FROM moved',
                               parent || '_default', parent) USING lo, hi;
                EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I DEFAULT', parent, parent || '_default');
            ELSE
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               part, parent, lo, hi);
            END IF;
            RETURN NEXT part;
        END LOOP;
    END LOOP;
END;
$$;

-- Drops every daily partition that ends on or before (today - retention_days)
-- and deletes rows that old from the DEFAULT partitions; returns the dropped names.
CREATE FUNCTION onexgen_drop_expired_partitions(retention_days integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    part   text;
    cutoff date := (now() AT TIME ZONE 'UTC')::date - retention_days;
BEGIN
    IF retention_days < 1 THEN
        RAISE EXCEPTION 'retention_days must be >= 1, got %', retention_days USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('onexgen.partitions'));
    FOR parent IN SELECT onexgen_partitioned_tables() LOOP
        FOR part IN
            SELECT c.relname
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = parent::regclass
              AND c.relname ~ '_p[0-9]{8}$'
              AND to_date(right(c.relname, 8), 'YYYYMMDD') + 1 <= cutoff
            ORDER BY c.relname
        LOOP
            EXECUTE format('DROP TABLE %I', part);
            RETURN NEXT part;
        END LOOP;
        EXECUTE format('DELETE FROM %I WHERE created_at < $1', parent || '_default')
            USING cutoff::timestamp AT TIME ZONE 'UTC';
    END LOOP;
END;
$$;
