# Install one Debian package with apt-get, as root or through sudo. Sourced by the ensure-*.sh
# scripts, which first look for the binaries they need and only then call these.

# Check that apt-get can install a package here and set SUDO ("" as root, else "sudo"); exit 1
# with the reason otherwise.
# $1: the package. $2: what to do instead when there is no apt-get.
apt_prepare() {
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "apt-get is not available: $2" >&2
		exit 1
	fi
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			SUDO="sudo"
		else
			echo "Not root and no sudo: cannot install the $1 package" >&2
			exit 1
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
}

# Update the package lists and install a package without its recommends (apt_prepare first).
# $1: the package.
apt_install() {
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends "$1"
}
