-- event 0.1.0 -> 0.2.0: upgrade script (ALTER EXTENSION event UPDATE TO '0.2.0').
-- Every change of the 0.2.0 cycle to sql/event--0.2.0.sql is made here too, so that an updated
-- database has exactly the catalog of a fresh 0.2.0 install (test/upgrade/01_update.sh).

\echo Use "ALTER EXTENSION event UPDATE TO '0.2.0'" to load this file. \quit
