-- 24_settings.sql — event.malloc_retain: its default, its range, who may change it, and that a
-- read of 1,000 events after a change still returns the same rows (the setting only tells glibc
-- how much freed memory to keep).
BEGIN;
SELECT plan(7);

SELECT event.uuid_v7() IS NOT NULL; -- loads the library, which defines the settings
SELECT is(current_setting('event.malloc_retain'), '16MB', 'event.malloc_retain defaults to 16MB');
SELECT lives_ok($$SET LOCAL event.malloc_retain = 0$$, 'a superuser may set it to 0 (glibc defaults)');
SELECT throws_ok($$SET LOCAL event.malloc_retain = -1$$, '22023', NULL, 'a negative value is refused');
SELECT throws_ok($$SET LOCAL event.malloc_retain = '2GB'$$, '22023', NULL, 'more than 1 GB is refused');

CREATE ROLE settings_app NOLOGIN;
SET LOCAL ROLE settings_app;
SELECT throws_ok($$SET LOCAL event.malloc_retain = 64$$, '42501', NULL, 'another role may not change it');
RESET ROLE;

SELECT event.create_events((SELECT jsonb_agg(jsonb_build_object('event_type', 'settings.t', 'stream_id', 'settings:1',
                                                                 'data', jsonb_build_object('i', i)))
                            FROM generate_series(1, 1000) i)) IS NOT NULL;
SET LOCAL event.malloc_retain = 0;
SELECT is((SELECT sum((data->>'i')::int) FROM event.read_stream('settings:1', 1, 1000)), 500500::bigint,
          'read_stream with glibc defaults');
SET LOCAL event.malloc_retain = 64;
SELECT is((SELECT sum((data->>'i')::int) FROM event.read_stream('settings:1', 1, 1000)), 500500::bigint,
          'read_stream with 64 MB kept');

SELECT * FROM finish();
ROLLBACK;
