#!/usr/bin/env bash
# free_port.sh [PREFERRED] — print a TCP port free on 127.0.0.1.
# Prints PREFERRED if it can be bound right now, else a port the kernel hands
# out for a bind to port 0. Probing by binding (not by a fixed list) keeps
# parallel test runs from colliding.
set -euo pipefail
exec perl -MIO::Socket::INET -e '
	my $want = shift // 0;
	for my $p ($want ? ($want, 0) : (0)) {
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $p,
			Proto => "tcp", Listen => 1, ReuseAddr => 0) or next;
		print $s->sockport, "\n"; exit 0;
	}
	die "free_port.sh: no free port\n";' "${1:-}"
