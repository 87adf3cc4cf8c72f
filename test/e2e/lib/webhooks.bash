# test/e2e/lib/webhooks.bash — helpers of the webhook e2e tests (sourced after lib/api.bash).
#
#   start_receiver        test/e2e/lib/webhook_receiver.py on a free port, logging to $T_TMP/hooks.jsonl;
#                         sets RPORT and R (its base URL)
#   received PATH         how many requests the receiver logged for exactly PATH
#   received_at_least PATH N

start_receiver() {
	RPORT=$("$FREE_PORT")
	python3 "$REPO_ROOT/test/e2e/lib/webhook_receiver.py" "$RPORT" "$T_TMP/hooks.jsonl" >>"$T_TMP/receiver.log" 2>&1 &
	BG_PIDS+=($!)
	touch "$T_TMP/hooks.jsonl"
	wait_until 30 port_open "$RPORT" || bail "receiver did not start"
	R=http://127.0.0.1:$RPORT
}

received() { grep -c "\"path\": \"$1\"" "$T_TMP/hooks.jsonl"; }
received_at_least() { [ "$(received "$1")" -ge "$2" ]; }
