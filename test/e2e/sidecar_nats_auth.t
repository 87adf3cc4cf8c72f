#!/usr/bin/env bash
# sidecar_nats_auth.t — the NATS connection options against a real nats-server (JetStream):
# user/password (also changed under a running sidecar), token, TLS with a throwaway CA
# (server-verified, then mutual; a tls:// URL never falls back to plain text) and bad creds files.
# Each wrong setting must fail visibly (log line with the reason, /health "nats":"down"), relay and
# confirm nothing, and the right setting must then deliver everything that waited in the slot.
# JWT creds (--nats-creds) are only tested for start-up errors: a real operator/account/user JWT
# chain needs nsc (or an nkeys library), which this machine does not have.
. "$(dirname "$0")/lib/sidecar.bash"
plan 33

# start_nats_conf NAME CONF_BODY [PORT]: (re)starts nats-server -c with JetStream on PORT (default a
# free one), store $T_TMP/nats-NAME, plus CONF_BODY (authorization or tls block).
start_nats_conf() {
	stop_nats
	NATS_PORT=${3:-$("$FREE_PORT")}
	cat >"$T_TMP/$1.conf" <<-EOF
		listen: 127.0.0.1:$NATS_PORT
		jetstream { store_dir: "$T_TMP/nats-$1" }
		$2
	EOF
	nats-server -c "$T_TMP/$1.conf" >>"$T_TMP/nats.log" 2>&1 &
	NATS_PID=$!
	wait_until 10 port_open "$NATS_PORT" || bail "nats-server ($1) did not start (see $T_TMP/nats.log)"
}

# js_count_at URL PREFIX: messages of stream EVENTS (read through URL) whose stream_id starts with PREFIX.
js_count_at() {
	"$JS_CHECK" "$1" EVENTS 2>>"$T_TMP/js-check.err" | awk -F'\t' -v p="$2" 'index($4, p) == 1' | wc -l
}
js_count_is() { [ "$(js_count_at "$1" "$2")" = "$3" ]; }

# logged NAME TEXT: the sidecar's log contains TEXT.
logged() { grep -qF -- "$2" "$T_TMP/$1.log"; }
nats_down() { health "$1" | grep -q '"nats":"down"'; }

# expect_refused NAME REASON PREFIX: the running sidecar NAME logs REASON, reports NATS down, and
# within 3 heartbeats confirms nothing past the events of PREFIX written meanwhile.
expect_refused() {
	local name=$1 reason=$2 prefix=$3 lsn
	wait_until 15 logged "$name" "$reason"; ok $? "$name: the log says why ($reason)"
	wait_until 5 nats_down "$name"; ok $? "$name: /health reports nats down"
	create_events "$prefix" 10 2 5
	lsn=$(sql -c "SELECT pg_current_wal_lsn()")
	sleep 3
	! slot_passed "$lsn"; ok $? "$name: slot not confirmed past the waiting events ($(slot_confirmed) < $lsn)"
	kill_sidecar "$name"
}

# ------------------------------------------------------------------ (a) user and password
start_nats_conf auth 'authorization { user: relay, password: "pw-right" }'
NATS_URL=nats://127.0.0.1:$NATS_PORT
start_sidecar badpw --nats-user relay --nats-password pw-wrong
wait_until 15 logged badpw '"msg":"nats: authentication failed'; ok $? "wrong password: authentication failure logged"
expect_refused badpw "Authorization Violation" "authpw$RUN_ID"
is "$(js_count_at "nats://relay:pw-right@127.0.0.1:$NATS_PORT" "authpw$RUN_ID:")" 0 "wrong password: nothing in JetStream"
! grep -q pw-wrong "$T_TMP/badpw.log"; ok $? "the password does not appear in the log"

start_sidecar goodpw --nats-user relay --nats-password pw-right
wait_until 20 js_count_is "nats://relay:pw-right@127.0.0.1:$NATS_PORT" "authpw$RUN_ID:" 10
ok $? "right password: the 10 waiting events arrive (js-check with nats://user:pass@)"
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 15 slot_passed "$lsn"; ok $? "right password: slot confirmed past them"
kill_sidecar goodpw
is "$KILL_RC" 0 "clean exit after SIGTERM"

# A server whose credentials change under a running sidecar: nats.c closes the connection after a
# repeated authentication error; the sidecar replaces it and resumes once the password is valid.
start_nats_conf auth2 'authorization { user: relay, password: "pw-right" }'
NATS_URL=nats://127.0.0.1:$NATS_PORT
start_sidecar rotate --nats-user relay --nats-password pw-right
wait_until 20 is_leader rotate && wait_until 10 logged rotate '"msg":"nats: connected"'; ok $? "rotate: connected"
start_nats_conf auth2 'authorization { user: relay, password: "pw-other" }' "$NATS_PORT"
wait_until 15 logged rotate "connection closed by the client library"; ok $? "rotate: closed connection logged with its reason"
start_nats_conf auth2 'authorization { user: relay, password: "pw-right" }' "$NATS_PORT"
create_events "rotate$RUN_ID" 10 2 5
wait_until 30 js_count_is "nats://relay:pw-right@127.0.0.1:$NATS_PORT" "rotate$RUN_ID:" 10
ok $? "rotate: reconnects by itself once the password is valid again and relays"
kill_sidecar rotate

# ------------------------------------------------------------------ (b) token
start_nats_conf token 'authorization { token: "tok-right" }'
NATS_URL=nats://127.0.0.1:$NATS_PORT
start_sidecar badtok --nats-token tok-wrong
expect_refused badtok "Authorization Violation" "authtok$RUN_ID"
! grep -q tok-wrong "$T_TMP/badtok.log"; ok $? "the token does not appear in the log"
start_sidecar goodtok --nats-token tok-right
wait_until 20 js_count_is "nats://tok-right@127.0.0.1:$NATS_PORT" "authtok$RUN_ID:" 10
ok $? "right token: the 10 waiting events arrive (js-check with nats://token@)"
kill_sidecar goodtok

# A tls:// URL makes TLS mandatory: no plain-text fallback with a server that does not offer it.
NATS_URL=tls://127.0.0.1:$NATS_PORT
start_sidecar plain --nats-token tok-right
wait_until 15 logged plain "Secure Connection not available"; ok $? "tls:// URL, plain-text server: refused and logged"
wait_until 5 nats_down plain; ok $? "tls:// URL, plain-text server: /health reports nats down"
kill_sidecar plain

# ------------------------------------------------------------------ (c) TLS
# Throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate.
(
	cd "$T_TMP" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=event-e2e-ca &&
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
	printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >server.ext &&
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext -out server.pem &&
	openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=event-sidecar &&
	printf 'extendedKeyUsage = clientAuth\n' >client.ext &&
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile client.ext -out client.pem
) >"$T_TMP/openssl.log" 2>&1
ok $? "openssl: CA, server and client certificates"
TLS_BLOCK="cert_file: \"$T_TMP/server.pem\", key_file: \"$T_TMP/server.key\", ca_file: \"$T_TMP/ca.pem\""

start_nats_conf tls "tls { $TLS_BLOCK }"
NATS_URL=tls://127.0.0.1:$NATS_PORT
start_sidecar noca
expect_refused noca "unable to get local issuer certificate" "tls$RUN_ID"
start_sidecar tlsok --nats-tls-ca "$T_TMP/ca.pem"
export JS_CHECK_TLS_CA=$T_TMP/ca.pem
wait_until 20 js_count_is "$NATS_URL" "tls$RUN_ID:" 10; ok $? "--nats-tls-ca: the 10 waiting events arrive over TLS"
kill_sidecar tlsok

# Mutual TLS: the server requires a client certificate signed by the CA.
start_nats_conf mtls "tls { $TLS_BLOCK, verify: true }"
NATS_URL=tls://127.0.0.1:$NATS_PORT
start_sidecar nocert --nats-tls-ca "$T_TMP/ca.pem"
wait_until 15 logged nocert '"msg":"nats: cannot connect, will retry'; ok $? "mTLS without a client certificate: failure logged"
wait_until 5 nats_down nocert; ok $? "mTLS without a client certificate: /health reports nats down"
kill_sidecar nocert
create_events "mtls$RUN_ID" 10 2 5
start_sidecar mtlsok --nats-tls-ca "$T_TMP/ca.pem" --nats-tls-cert "$T_TMP/client.pem" --nats-tls-key "$T_TMP/client.key"
export JS_CHECK_TLS_CERT=$T_TMP/client.pem JS_CHECK_TLS_KEY=$T_TMP/client.key
wait_until 20 js_count_is "$NATS_URL" "mtls$RUN_ID:" 10; ok $? "--nats-tls-cert/--nats-tls-key: the 10 events arrive over mutual TLS"
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
wait_until 15 slot_passed "$lsn"; ok $? "mTLS: slot confirmed past them"
kill_sidecar mtlsok

# ------------------------------------------------------------------ (d) creds file errors at start-up
# run_bad NAME FLAGS...: runs the sidecar in the foreground; RC and ERR (stderr + stdout) are kept.
run_bad() {
	local name=$1; shift
	timeout 20 "$SIDECAR_BIN" --database-url "$DB_URL" --slot "$SLOT" --nats-url "$NATS_URL" \
		--http-addr "127.0.0.1:$("$FREE_PORT")" "$@" >"$T_TMP/$name.log" 2>&1
	RC=$?
	ERR=$(cat "$T_TMP/$name.log")
}
run_bad creds_missing --nats-creds "$T_TMP/no-such.creds"
is "$RC" 2 "--nats-creds with a missing file: exit status 2"
[[ $ERR == *"--nats-creds: cannot read \"$T_TMP/no-such.creds\": No such file or directory"* ]]; ok $? "… and says so"; diag "$ERR"

printf 'this is not a creds file\n' >"$T_TMP/garbage.creds"
run_bad creds_garbage --nats-creds "$T_TMP/garbage.creds"
is "$RC" 2 "--nats-creds with a malformed file: exit status 2"
[[ $ERR == *"is not a NATS credentials file"* ]]; ok $? "… and says so"; diag "$ERR"

# Well-formed blocks, but the seed's checksum is wrong: caught by nats.c's signing at start-up.
cat >"$T_TMP/badseed.creds" <<-'EOF'
	-----BEGIN NATS USER JWT-----
	eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl
	------END NATS USER JWT------

	-----BEGIN USER NKEY SEED-----
	SUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
	------END USER NKEY SEED------
EOF
run_bad creds_badseed --nats-creds "$T_TMP/badseed.creds"
[ "$RC" != 0 ] && [[ $ERR == *"user nkey seed"*"is invalid"* ]]; ok $? "--nats-creds with an invalid seed: fails at start-up ($RC)"; diag "$ERR"
finish
