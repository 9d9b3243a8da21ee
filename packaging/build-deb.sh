#!/usr/bin/env bash
# Builds dist/pgduplex_<version>_all.deb from the esbuild bundles and prints its path.
#
#   npm run package        (= node scripts/build.mjs && bash packaging/build-deb.sh)
#
# Inputs: package.json (version, engines.node, license), package-lock.json
# (bundled npm packages, for the copyright file), dist/bundle/*.mjs, and
# packaging/. The result is reproducible: every file gets the timestamp of
# the top packaging/debian/changelog entry (or $SOURCE_DATE_EPOCH).
#
# Environment, for tests (a release uses the defaults):
#   PGDUPLEX_BUNDLE_DIR  directory with pgduplex-agent.mjs and pgduplex.mjs (default dist/bundle)
#   PGDUPLEX_OUT_DIR     where the .deb is written (default dist)
#   SOURCE_DATE_EPOCH    file timestamps (default: date of the top changelog entry)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bundle_dir=${PGDUPLEX_BUNDLE_DIR:-$root/dist/bundle}
out_dir=${PGDUPLEX_OUT_DIR:-$root/dist}
maintainer='pgduplex maintainers <maintainers@users.noreply.h-seed-02cea6f0.example>'

die() {
	echo "build-deb: $*" >&2
	exit 1
}

for tool in node dpkg-deb gzip md5sum; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
umask 022
export LC_ALL=C

# --- Version: package.json is the single source; the .deb is a native package
# (no Debian revision), so `dpkg-query -W pgduplex` prints exactly this.
version=$(cd "$root" && node -p 'require("./package.json").version')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	die "package.json version '$version' is not X.Y.Z (an npm pre-release 'X.Y.Z-tag' would sort after X.Y.Z in dpkg)"

# --- Node.js floor: package.json's engines.node, e.g. ">=20.19".
engines=$(cd "$root" && node -p 'require("./package.json").engines?.node ?? ""')
[[ $engines =~ ^\>=[[:space:]]*([0-9]+(\.[0-9]+)*)$ ]] ||
	die "package.json engines.node '$engines' is not of the form '>=X.Y'"
node_min=${BASH_REMATCH[1]}

# --- Changelog: its top entry must be this version; its date is the build date.
changelog=$here/debian/changelog
top=$(head -n1 "$changelog")
[[ $top =~ ^pgduplex\ \(([^\)]+)\) ]] || die "$changelog: first line is not 'pgduplex (VERSION) ...'"
if [[ ${BASH_REMATCH[1]} != "$version" ]]; then
	die "$changelog starts with ${BASH_REMATCH[1]} but package.json says $version: add an entry for $version at the top (dch -v $version, or by hand)"
fi
trailer=$(grep -m1 '^ -- ' "$changelog") || die "$changelog: no ' -- name <email>  date' line"
changelog_date=${trailer##*>  }
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(date -u -d "$changelog_date" +%s) || die "$changelog: cannot parse date '$changelog_date'"
fi
export SOURCE_DATE_EPOCH
year=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)

# --- Bundles: must exist and be the real build output.
for name in pgduplex-agent pgduplex; do
	f=$bundle_dir/$name.mjs
	[[ -f $f ]] || die "missing $f: build the bundles first (npm run build), or run npm run package"
	shebang=$(head -n1 "$f")
	[[ $shebang == '#!/usr/bin/node' || $shebang == '#!/usr/bin/node '* ]] ||
		die "$f does not start with '#!/usr/bin/node' (found '$shebang')"
	# packaging/test/ builds throw-away .debs from a probe program; never into dist/.
	if [[ -z ${PGDUPLEX_OUT_DIR:-} ]] && grep -q 'PGDUPLEX-PACKAGING-PROBE' "$f"; then
		die "$f is the packaging test probe, not the real agent; refusing to write it to dist/"
	fi
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pgduplex
doc=$pkg/usr/share/doc/pgduplex

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/pgduplex" "$pkg/usr/lib/systemd/system" \
	"$pkg/etc/pgduplex" "$doc" "$pkg/usr/share/man/man1" "$pkg/usr/share/man/man8"

# Programs: the bundles, run by /usr/bin/node through their #! line.
install -m 0755 "$bundle_dir/pgduplex-agent.mjs" "$bundle_dir/pgduplex.mjs" "$pkg/usr/lib/pgduplex/"
ln -s ../lib/pgduplex/pgduplex-agent.mjs "$pkg/usr/bin/pgduplex-agent"
ln -s ../lib/pgduplex/pgduplex.mjs "$pkg/usr/bin/pgduplex"

# systemd units (the agent, and the divergence watch's timer, enabled and started by postinst) and the
# default config (a conffile).
install -m 0644 "$here/pgduplex-agent.service" "$here/pgduplex-watch.service" "$here/pgduplex-watch.timer" \
	"$pkg/usr/lib/systemd/system/"
install -m 0644 "$here/agent.json" "$pkg/etc/pgduplex/agent.json"
# pg_upgradecluster's hook (a conffile): carries pgduplex's drop-in and passfile to an upgraded cluster.
install -d "$pkg/etc/postgresql-common/pg_upgradecluster.d"
install -m 0755 "$here/pg-upgradecluster-hook" "$pkg/etc/postgresql-common/pg_upgradecluster.d/50-pgduplex"

# Documentation. Native package, so the changelog is changelog.gz (Debian
# policy 12.7; lintian: wrong-name-for-changelog-of-native-package).
gzip -9nc "$changelog" >"$doc/changelog.gz"
node "$here/gen-copyright.mjs" "$root" "$year" >"$doc/copyright"
chmod 0644 "$doc/changelog.gz" "$doc/copyright"
# esbuild's legalComments: 'linked' output, if the bundles have any.
for legal in "$bundle_dir"/*.LEGAL.txt; do
	if [[ -s $legal ]]; then install -m 0644 "$legal" "$doc/"; fi
done
# Monitoring: Prometheus alerting rules with their promtool unit tests beside them (promtool test rules
# finds the rules relative to the test file), and the Grafana dashboard.
install -d "$pkg/usr/share/pgduplex/prometheus" "$pkg/usr/share/pgduplex/grafana"
install -m 0644 "$here/monitoring/pgduplex-alerts.yml" "$here/monitoring/pgduplex-alerts.test.yml" \
	"$pkg/usr/share/pgduplex/prometheus/"
install -m 0644 "$here/monitoring/pgduplex-dashboard.json" "$pkg/usr/share/pgduplex/grafana/"
gzip -9nc "$here/man/pgduplex.1" >"$pkg/usr/share/man/man1/pgduplex.1.gz"
gzip -9nc "$here/man/pgduplex-agent.8" >"$pkg/usr/share/man/man8/pgduplex-agent.8.gz"
chmod 0644 "$pkg"/usr/share/man/man?/*.gz

# --- DEBIAN/
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$pkg/DEBIAN/"
printf '/etc/pgduplex/agent.json\n/etc/postgresql-common/pg_upgradecluster.d/50-pgduplex\n' >"$pkg/DEBIAN/conffiles"
# md5sums of everything but the conffiles (dpkg tracks those itself), as dh_md5sums does.
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
# Installed-Size in KiB, computed the way dpkg-gencontrol does: each regular
# file rounded up to 1 KiB, every other entry (directory, symlink) 1 KiB.
installed_size=$(cd "$pkg" && find . -mindepth 1 ! -path './DEBIAN' ! -path './DEBIAN/*' -printf '%y %s\n' |
	awk '{ n += ($1 == "f") ? int(($2 + 1023) / 1024) : 1 } END { print n }')

# Depends, each one needed at run time:
#   nodejs (>= engines.node): the bundles are plain ESM run by /usr/bin/node; package.json
#     requires this Node version. Debian 13 ships it; on Debian 12 (18.x) use
#     NodeSource's nodejs package, which has the same name and path.
#   iptables: the agent runs iptables, ip6tables and iptables-save (no library exists).
#   postgresql-common: the agent manages clusters of the Debian layout (/etc/postgresql/
#     <ver>/<cluster>, postgresql@<ver>-<cluster>, pg_ctlcluster) and runs psql/pg_dump
#     through its pg_wrapper. It is version-neutral (Debian's and PGDG's alike), so no
#     PostgreSQL major version is forced; the server being managed is already there.
# Recommends:
#   iptables-persistent: provides netfilter-persistent and /etc/iptables/rules.v4, which the
#     agent updates so its 5432 rule survives a reboot. FS PBX installs it; without it the
#     rules work until the next boot only.
# Not listed: systemd (the unit needs it as PID 1, which no dependency can guarantee;
#   Debian 12/13 default), init-system-helpers and util-linux (runuser) are Essential.
cat >"$pkg/DEBIAN/control" <<EOF
Package: pgduplex
Version: $version
Architecture: all
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: nodejs (>= $node_min), iptables, postgresql-common
Recommends: iptables-persistent
Section: admin
Priority: optional
Description: bi-directional PostgreSQL replication for FS PBX server pairs
 pgduplex sets up, checks and tears down PostgreSQL logical replication in
 both directions (active-active, origin = none, PostgreSQL 16 or newer)
 between the two servers of an FS PBX pair, without root SSH between them.
 .
 Each server runs pgduplex-agent, a root daemon started by systemd. It only
 performs typed, allowlisted actions on its own server: PostgreSQL settings
 and pg_hba.conf, iptables rules, reloads and restarts through systemd, SQL
 and pg_dump as the postgres user. Every action is checked before it is
 applied, verified afterwards and recorded so that it can be undone. The two
 agents are paired once and then talk over an authenticated, encrypted
 websocket.
 .
 The pgduplex command, run as root on either server, drives both agents.
EOF

# Reproducible: fixed timestamps; dpkg-deb sorts entries and --root-owner-group
# makes every file root:root whoever builds.
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out_dir"
deb=$out_dir/pgduplex_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$stage/out.deb" >/dev/null
mv -f "$stage/out.deb" "$deb"
echo "$deb"
