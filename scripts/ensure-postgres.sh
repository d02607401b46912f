#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) that the storage contract suite starts
# are installed. When they are missing, install Debian's postgresql package with apt-get (which
# also creates the unprivileged `postgres` user the suite runs the server as when it runs as root).
# The package's own cluster is not needed: the suite starts its own throw-away server.
# Exit 0 when the binaries are available, non-zero with the reason otherwise.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

find_initdb() {
	if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; then
		echo "$PG_BIN"
		return 0
	fi
	local dir
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
			echo "$dir"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

if bin=$(find_initdb); then
	echo "PostgreSQL binaries found in $bin ($("$bin/postgres" --version 2>/dev/null || echo "version unknown"))"
	exit 0
fi

echo "PostgreSQL binaries (initdb, pg_ctl) not found: installing Debian's postgresql package"
apt_prepare postgresql "install the PostgreSQL server binaries yourself and set PG_BIN to their directory"
apt_install postgresql

if bin=$(find_initdb); then
	echo "PostgreSQL binaries installed in $bin"
	exit 0
fi
echo "The postgresql package was installed but initdb and pg_ctl are still not found" >&2
exit 1
