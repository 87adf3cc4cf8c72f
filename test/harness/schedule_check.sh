#!/usr/bin/env bash
# schedule_check.sh — fail if a file under test/ looks like a test the runner
# (run_tests.sh) would silently skip. Rules, per directory (top level only):
#   pgtap/    every *.sql must be NN_name.sql (name: a-z 0-9 _)
#   unit/     every *.cpp must be *_test.cpp (helpers go in headers)
#   upgrade/, memory/, replica/  every *.sh must be executable; _*.sh are helpers, not run
#   e2e/      no *.pl/*.sh/*.py scripts: tests are *.t (helpers: *.pm, subdirs)
set -euo pipefail
cd "${REPO_ROOT:-$(dirname "$0")/../..}/test"

bad=0
complain() { echo "schedule: $1 — $2" >&2; bad=1; }

for f in pgtap/*.sql; do
	[ -e "$f" ] || continue
	[[ $(basename "$f") =~ ^[0-9][0-9]_[a-z0-9_]+\.sql$ ]] || complain "$f" "pgTAP files must be named NN_topic.sql"
done
for f in unit/*.cpp; do
	[ -e "$f" ] || continue
	[[ $f == *_test.cpp ]] || complain "$f" "unit test sources must be named *_test.cpp"
done
for f in upgrade/*.sh memory/*.sh replica/*.sh; do
	[ -e "$f" ] || continue
	[[ $(basename "$f") == _* ]] && continue
	[ -x "$f" ] || complain "$f" "not executable (chmod +x, or name helpers _*.sh)"
done
for f in e2e/*.pl e2e/*.sh e2e/*.py; do
	[ -e "$f" ] || continue
	complain "$f" "e2e tests must be *.t files (run by prove)"
done
exit $bad
