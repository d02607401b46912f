#!/usr/bin/env bash
# Make sure the MariaDB server binaries (mariadbd, mariadb-install-db) that the MySQL storage
# contract suite starts are installed. When they are missing, install Debian's mariadb-server
# package with apt-get (which also creates the unprivileged `mysql` user the suite runs the server
# as when it runs as root). The package's own server is not needed: the suite starts its own
# throw-away server (tests/setup/mariadb.ts). Set MARIADB_BIN to a directory holding both binaries
# to use another installation.
# Exit 0 when the binaries are available, non-zero with the reason otherwise.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

find_mariadbd() {
	local dir
	for dir in ${MARIADB_BIN:-} /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin $(echo "${PATH:-}" | tr ':' ' '); do
		if [ -x "$dir/mariadbd" ] && { [ -x "$dir/mariadb-install-db" ] || [ -x "$(dirname "$dir")/bin/mariadb-install-db" ]; }; then
			echo "$dir"
			return 0
		fi
	done
	return 1
}

if dir=$(find_mariadbd); then
	echo "MariaDB binaries found in $dir ($("$dir/mariadbd" --version 2>/dev/null || echo "version unknown"))"
	exit 0
fi

echo "MariaDB binaries (mariadbd, mariadb-install-db) not found: installing Debian's mariadb-server package"
apt_prepare mariadb-server "install the MariaDB server binaries yourself and set MARIADB_BIN to their directory"
# The package's post-install starts its own server where an init system runs; in a container it
# cannot, and a policy-rc.d that forbids it keeps the install from failing (or leaving a server
# running) either way. A policy file already there is left alone.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
	$SUDO chmod 755 "$POLICY"
	ADDED_POLICY=1
fi
cleanup() {
	if [ -n "$ADDED_POLICY" ]; then
		$SUDO rm -f "$POLICY"
	fi
}
trap cleanup EXIT
apt_install mariadb-server

if dir=$(find_mariadbd); then
	echo "MariaDB binaries installed in $dir ($("$dir/mariadbd" --version 2>/dev/null || echo "version unknown"))"
	exit 0
fi
echo "The mariadb-server package was installed but mariadbd and mariadb-install-db are still not found" >&2
exit 1
