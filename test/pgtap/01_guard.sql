-- 01_guard.sql — the C++/PostgreSQL boundary (extension/guard.hpp, extension/pg/testing.cpp).
-- Every catch branch of the guard, a PostgreSQL error under pg::Call, detail/hint/SQLSTATE
-- surviving the boundary, stack restoration after a throw out of PG_TRY, and no memory growth
-- over 100k error round trips (style.md §4.8).
BEGIN;
SELECT plan(31);

-- Helpers (pg_temp: gone with the session). guard_error returns what a PL/pgSQL handler sees.
CREATE FUNCTION pg_temp.guard_error(kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_state text;
	v_message text;
	v_detail text;
	v_hint text;
BEGIN
	PERFORM event._guard_test(kind);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
		v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
	RETURN v_state || ' | ' || v_message || ' | ' || v_detail || ' | ' || v_hint;
END
$$;

CREATE FUNCTION pg_temp.guard_error_context(kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_context text;
BEGIN
	PERFORM event._guard_test(kind);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_context = PG_EXCEPTION_CONTEXT;
	RETURN v_context;
END
$$;

-- n calls of the given kind, each in its own exception block (= subtransaction); returns the
-- number of errors caught.
CREATE FUNCTION pg_temp.guard_loop(kind text, n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	caught integer := 0;
BEGIN
	FOR i IN 1..n LOOP
		BEGIN
			PERFORM event._guard_test(kind);
		EXCEPTION WHEN OTHERS THEN
			caught := caught + 1;
		END;
	END LOOP;
	RETURN caught;
END
$$;

CREATE FUNCTION pg_temp.backend_memory() RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts
$$;

CREATE TEMP TABLE guard_start AS
	SELECT pg_backend_pid() AS pid, event._guard_test('destructions')::bigint AS destructions;

-- 1. The normal path.
SELECT is(event._guard_test('ok'), 'ok', 'ok: the body''s result is returned');

-- 2. SQLSTATE and message of every branch.
SELECT throws_ok($$SELECT event._guard_test('sql_error')$$, 'EV001', 'guard test: sql error',
	'sql_error: core::SqlError keeps its SQLSTATE and message');
SELECT throws_ok($$SELECT event._guard_test('pg_error')$$, '22000', 'guard test: postgres error from "pg_error"',
	'pg_error: a PostgreSQL error under pg::Call keeps its SQLSTATE and message');
SELECT throws_ok($$SELECT event._guard_test('pg_error_rethrow')$$, '22P02',
	'invalid input syntax for type integer: "not a number"',
	'pg_error_rethrow: a built-in''s error caught and rethrown in C++ is re-raised unchanged');
SELECT throws_ok($$SELECT event._guard_test('bad_alloc')$$, '53200', 'out of memory',
	'bad_alloc: std::bad_alloc becomes out of memory');
SELECT throws_ok($$SELECT event._guard_test('std_exception')$$, 'XX000', 'guard test: std exception',
	'std_exception: std::exception becomes an internal error with what()');
SELECT throws_ok($$SELECT event._guard_test('unknown')$$, 'XX000', 'unknown C++ exception',
	'unknown: a non-std exception becomes an internal error');
SELECT throws_ok($$SELECT event._guard_test('nested_pg_try')$$, '22023', 'guard test: thrown inside PG_TRY',
	'nested_pg_try: a throw out of PG_TRY is reported');
SELECT throws_ok($$SELECT event._guard_test('no_such_kind')$$, '22023', 'invalid kind "no_such_kind"',
	'an unknown kind is rejected with 22023');
SELECT throws_ok($$SELECT event._guard_test(NULL)$$, '22004', 'kind must not be null',
	'a null kind is rejected with 22004');

-- 3. Detail and hint survive the boundary.
SELECT is(pg_temp.guard_error('sql_error'),
	'EV001 | guard test: sql error | The detail survives the boundary. | The hint survives the boundary.',
	'sql_error: detail and hint survive');
SELECT is(pg_temp.guard_error('pg_error'),
	'22000 | guard test: postgres error from "pg_error" | The detail survives the boundary. | The hint survives the boundary.',
	'pg_error: detail and hint of the PostgreSQL error survive');
SELECT is(pg_temp.guard_error('pg_error_rethrow'),
	'22P02 | invalid input syntax for type integer: "not a number" |  | ',
	'pg_error_rethrow: nothing is added to the original error');
SELECT is(pg_temp.guard_error('bad_alloc'),
	'53200 | out of memory | A C++ allocation in the event extension failed. | ',
	'bad_alloc: detail says where the allocation failed');
SELECT is(pg_temp.guard_error('std_exception'),
	'XX000 | guard test: std exception | An unexpected C++ exception reached the PostgreSQL boundary. | ',
	'std_exception: detail names the cause');
SELECT is(pg_temp.guard_error('unknown'),
	'XX000 | unknown C++ exception | An exception of a type not derived from std::exception reached the PostgreSQL boundary. | ',
	'unknown: detail names the cause');
SELECT is(pg_temp.guard_error('nested_pg_try'),
	'22023 | guard test: thrown inside PG_TRY | The exception left a PG_TRY block without PG_END_TRY. | The guard restored the stacks.',
	'nested_pg_try: detail and hint survive');
SELECT is(pg_temp.guard_error('no_such_kind'),
	'22023 | invalid kind "no_such_kind" |  | Allowed values: ok, sql_error, pg_error, pg_error_rethrow, bad_alloc, std_exception, unknown, nested_pg_try, destructions.',
	'an unknown kind: the hint lists the allowed values');

-- 4. Unwinding and stack restoration.
SELECT is(event._guard_test('destructions')::bigint - destructions, 4::bigint,
	'C++ destructors ran in the frames that called PostgreSQL (pg_error, pg_error_rethrow, twice each)')
	FROM guard_start;
SELECT unalike(pg_temp.guard_error_context('nested_pg_try'), '%guard test nested context%',
	'nested_pg_try: the error-context callback of the dead frame was unlinked, not called');
SELECT is(pg_temp.guard_error('sql_error'),
	'EV001 | guard test: sql error | The detail survives the boundary. | The hint survives the boundary.',
	'errors after nested_pg_try are raised normally (PG_exception_stack restored)');
SELECT throws_ok($$SELECT 1 / 0$$, '22012', 'division by zero',
	'a plain PostgreSQL error after the guard tests is caught normally');
SELECT is(event._guard_test('ok'), 'ok', 'the extension still works after every error path');

-- 5. No memory growth: 100k round trips of the SqlError path through PL/pgSQL exception blocks.
SELECT is(pg_temp.guard_loop('sql_error', 1000), 1000, 'warm-up: 1000 sql_error calls caught');
CREATE TEMP TABLE guard_memory AS SELECT pg_temp.backend_memory() AS before;
SELECT is(pg_temp.guard_loop('sql_error', 100000), 100000, '100000 sql_error calls caught');
SELECT cmp_ok(pg_temp.backend_memory() - before, '<', 262144::bigint,
	'backend memory grows by less than 256 kB over 100000 sql_error calls')
	FROM guard_memory;

-- ... and of the PgError path (pg::Call + ReThrowError).
CREATE TEMP TABLE guard_memory_pg AS SELECT pg_temp.backend_memory() AS before;
SELECT is(pg_temp.guard_loop('pg_error', 20000), 20000, '20000 pg_error calls caught');
SELECT cmp_ok(pg_temp.backend_memory() - before, '<', 262144::bigint,
	'backend memory grows by less than 256 kB over 20000 pg_error calls')
	FROM guard_memory_pg;

-- 6. PgError swallowed inside rolled-back internal subtransactions (style.md §4.5), in C++.
CREATE TEMP TABLE guard_leak AS SELECT event._guard_leak_test(1000) AS warm;
SELECT cmp_ok(event._guard_leak_test(100000) - warm, '<', 65536::bigint,
	'TopMemoryContext is flat over 100000 caught PostgreSQL errors in subtransactions')
	FROM guard_leak;
SELECT throws_ok($$SELECT event._guard_leak_test(-1)$$, '22023', 'n must not be negative',
	'_guard_leak_test rejects a negative count');

-- 7. Same backend throughout: no error path crashed it.
SELECT is(pg_backend_pid(), pid, 'the backend survived every error path') FROM guard_start;

SELECT * FROM finish();
ROLLBACK;
