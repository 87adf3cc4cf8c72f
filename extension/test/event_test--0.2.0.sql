-- event_test 0.2.0: test-only hooks of the event extension. Created by the test harness
-- (test/harness/run_tests.sh), never by a production install; the C code is in event.so
-- (extension/test/testing.cpp).

\echo Use "CREATE EXTENSION event_test" to load this file. \quit

CREATE FUNCTION event._guard_test(kind text) RETURNS text
    AS 'MODULE_PATHNAME', 'event__guard_test' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event._guard_test(text) IS
    'Test hook: runs one error path of the C++/PostgreSQL boundary (ok, sql_error, pg_error, pg_error_rethrow, bad_alloc, std_exception, unknown, nested_pg_try, destructions)';
REVOKE ALL ON FUNCTION event._guard_test(text) FROM PUBLIC;

CREATE FUNCTION event._guard_leak_test(n integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'event__guard_leak_test' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog;
COMMENT ON FUNCTION event._guard_leak_test(integer) IS
    'Test hook: raises and catches n PostgreSQL errors in rolled-back subtransactions, returns TopMemoryContext total bytes';
REVOKE ALL ON FUNCTION event._guard_leak_test(integer) FROM PUBLIC;
