#!/usr/bin/env bash
# Proves, in a real systemd (Debian 13 booted with systemd-nspawn), that
#  - pgduplex-agent.service's hardening still lets a root agent do its job
#    (packaging/test/probe-agent.mjs stands in for the agent and reports), and
#  - the maintainer scripts behave: install, restart on crash, exit 78 does not
#    loop, upgrade restarts and keeps a modified conffile, an admin's disable
#    survives an upgrade, remove, purge, reinstall.
#
# Usage (root): bash packaging/test/nspawn-check.sh
#   PGDX_BASE_ROOT   debootstrapped trixie tree with systemd, dbus, postgresql-17,
#                    iptables, iproute2, procps, nodejs (default /var/cache/pgduplex-lab/try)
#   PGDX_TEST_ROOT   where the throw-away copy is made (default /var/tmp/pkgtest-root);
#                    an existing one is reused and then deleted
#   PGDX_EXTRA_DEBS  optional dir of .debs installed first (e.g. netfilter-persistent and
#                    iptables-persistent, from `apt-get download`)
#   PGDX_NETNS       network namespace to create (default pgdx-pkgtest)
#   KEEP_ROOT=1      keep the tree afterwards
# Leaves no process, mount or namespace behind. Last line: "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${PGDX_BASE_ROOT:-/var/cache/pgduplex-lab/try}
croot=${PGDX_TEST_ROOT:-/var/tmp/pkgtest-root}
ns=${PGDX_NETNS:-pgdx-pkgtest}
work=$(mktemp -d /var/tmp/pgdx-pkgtest-work.XXXXXX)
nspawn_pid=
leader=
passed=0
failed=0

say() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); say "ok   - $*"; }
bad() { failed=$((failed + 1)); say "FAIL - $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
# cin COMMAND...: run inside the container, with a clean environment.
cin() {
	nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
eq() { [[ $1 == "$2" ]] || { say "     got '$1', want '$2'"; return 1; }; }
prop() { cin systemctl show -P "$2" "$1"; }

cleanup() {
	set +e
	if [[ -n $leader ]] && kill -0 "$leader" 2>/dev/null; then
		cin systemctl poweroff >/dev/null 2>&1
	fi
	if [[ -n $nspawn_pid ]]; then
		for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$nspawn_pid" 2>/dev/null; then
			say "container did not power off; killing systemd-nspawn $nspawn_pid"
			kill -TERM "$nspawn_pid"
			sleep 2
			kill -KILL "$nspawn_pid" 2>/dev/null
		fi
		wait "$nspawn_pid" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
	if [[ -z ${KEEP_ROOT:-} ]]; then rm -rf "$croot"; fi
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || { say "run as root"; exit 2; }
for t in systemd-nspawn nsenter ip node dpkg-deb; do
	command -v "$t" >/dev/null || { say "missing $t"; exit 2; }
done
if ip netns list | grep -qw "$ns"; then say "netns $ns exists: another run in progress?"; exit 2; fi

# --- The tree: copy the base first, it may be deleted by others.
if [[ ! -d $croot ]]; then
	[[ -d $base ]] || { say "no base tree at $base (see the header)"; exit 2; }
	cp -a "$base" "$croot"
fi

# --- Two .debs from the probe: this version and a bumped one (upgrade test).
mkdir -p "$work/bundle"
install -m 0755 "$here/probe-agent.mjs" "$work/bundle/pgduplex-agent.mjs"
printf '%s\n' '#!/usr/bin/node' '// PGDUPLEX-PACKAGING-PROBE: stand-in for the pgduplex CLI' \
	"console.log(process.argv.includes('--version') ? 'probe' : 'pgduplex probe');" >"$work/bundle/pgduplex.mjs"
chmod 0755 "$work/bundle/pgduplex.mjs"
deb1=$(PGDUPLEX_BUNDLE_DIR=$work/bundle PGDUPLEX_OUT_DIR=$work/deb1 bash "$repo/packaging/build-deb.sh")
v1=$(dpkg-deb -f "$deb1" Version)
# The bumped build runs the same script from a copy of the project with a new
# version in package.json and a matching changelog entry.
mkdir -p "$work/proj"
cp -a "$repo/packaging" "$repo/package-lock.json" "$work/proj/"
ln -s "$repo/node_modules" "$work/proj/node_modules"
v2=$(node -e '
	const fs = require("fs"); const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
	const v = p.version.split(".").map(Number); v[2]++; p.version = v.join(".");
	fs.writeFileSync(process.argv[2], JSON.stringify(p, null, 2)); console.log(p.version);' \
	"$repo/package.json" "$work/proj/package.json")
{
	printf 'pgduplex (%s) unstable; urgency=medium\n\n  * Test build for the upgrade check.\n\n' "$v2"
	grep -m1 '^ -- ' "$repo/packaging/debian/changelog"
	printf '\n'
	cat "$repo/packaging/debian/changelog"
} >"$work/proj/packaging/debian/changelog"
deb2=$(PGDUPLEX_BUNDLE_DIR=$work/bundle PGDUPLEX_OUT_DIR=$work/deb2 bash "$work/proj/packaging/build-deb.sh")
mkdir -p "$croot/var/tmp/pgdx"
cp "$deb1" "$deb2" "$croot/var/tmp/pgdx/"
cdeb1=/var/tmp/pgdx/$(basename "$deb1")
cdeb2=/var/tmp/pgdx/$(basename "$deb2")
say "built $(basename "$deb1") and $(basename "$deb2") from the probe"

# --- Boot.
ip netns add "$ns"
ip -n "$ns" link set lo up
setsid systemd-nspawn -D "$croot" -b --register=no --keep-unit --console=passive \
	--capability=CAP_NET_ADMIN,CAP_NET_RAW --network-namespace-path="/run/netns/$ns" \
	--hostname=pkgtest --link-journal=no --resolv-conf=off --timezone=off >"$work/nspawn.log" 2>&1 </dev/null &
nspawn_pid=$!
for _ in $(seq 100); do
	leader=$(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null | awk '{print $1}' || true)
	[[ -n $leader ]] && break
	sleep 0.1
done
[[ -n $leader ]] || { say "container did not start:"; cat "$work/nspawn.log"; exit 1; }
# PID 1's private socket appears a moment after boot starts; then wait for boot to finish.
state=
for _ in $(seq 300); do
	state=$(cin systemctl is-system-running 2>/dev/null || true)
	case $state in running | degraded | maintenance) break ;; esac
	sleep 0.3
done
say "container up (systemd pid $leader on the host): $state"
if [[ $state != running ]]; then cin systemctl --failed --no-legend || true; fi
cin systemctl start postgresql@17-main
check "postgresql@17-main is active" eq "$(cin systemctl is-active postgresql@17-main)" active

if [[ -n ${PGDX_EXTRA_DEBS:-} ]]; then
	mkdir -p "$croot/var/tmp/pgdx/extra"
	cp "$PGDX_EXTRA_DEBS"/*.deb "$croot/var/tmp/pgdx/extra/"
	cin sh -c 'dpkg -i /var/tmp/pgdx/extra/*.deb' >"$work/extra.log" 2>&1 ||
		{ cat "$work/extra.log"; bad "install extra debs"; }
fi

# wait_probe SINCE: waits for the probe's summary line in the journal after SINCE (µs).
wait_probe() {
	local since=$1
	for _ in $(seq 100); do
		if cin journalctl -u pgduplex-agent -o cat --since "@$((since / 1000000))" 2>/dev/null | grep -q '"summary":true'; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
now_us() { cin date +%s%6N; }
restarted_from() { [[ $(prop pgduplex-agent MainPID) != "$1" ]] && wait_active; }
not_active() { [[ $(cin systemctl is-active pgduplex-agent) != active ]]; }
no_agent_process() { ! cin pgrep -f pgduplex-agent >/dev/null; }
enabled_and_active() { eq "$(cin systemctl is-enabled pgduplex-agent)" enabled && wait_active; }
backups_kept() { cin test -d /var/backups/pgduplex && grep -q 'kept /var/backups/pgduplex' "$work/purge.log"; }
# (systemctl status exits 3 for a failed unit, hence no pipe under pipefail)
status_shows() { local out; out=$(cin systemctl status --no-pager pgduplex-agent || true); grep -qF "$1" <<<"$out"; }
wait_active() {
	for _ in $(seq 50); do
		[[ $(cin systemctl is-active pgduplex-agent) == active ]] && return 0
		sleep 0.2
	done
	cin systemctl status --no-pager -n 8 pgduplex-agent | sed 's/^/     | /'
	return 1
}

# --- 1. Fresh install.
t0=$(now_us)
cin dpkg -i "$cdeb1" >"$work/install.log" 2>&1 || { cat "$work/install.log"; bad "dpkg -i $v1"; }
check "fresh install: service active" wait_active
check "fresh install: service enabled" eq "$(cin systemctl is-enabled pgduplex-agent)" enabled
check "/var/lib/pgduplex is 0700 root:root" eq "$(cin stat -c '%a %U:%G' /var/lib/pgduplex)" "700 root:root"
check "/var/backups/pgduplex is 0700 root:root" eq "$(cin stat -c '%a %U:%G' /var/backups/pgduplex)" "700 root:root"
check "/usr/bin/pgduplex runs" eq "$(cin pgduplex --version)" probe
check "the probe finished" wait_probe "$t0"
check "/run/pgduplex is 0700 and holds agent.sock" eq "$(cin stat -c '%a' /run/pgduplex) $(cin stat -c '%F' /run/pgduplex/agent.sock)" "700 socket"
check "the agent answers on tcp/7740" eq "$(cin bash -c 'exec 3<>/dev/tcp/127.0.0.1/7740 && head -n1 <&3')" "pgduplex probe"
say "---- probe report (journalctl -u pgduplex-agent) ----"
cin journalctl -u pgduplex-agent -o cat --since "@$((t0 / 1000000))" | grep '"probe":true' |
	node -e '
	let n = 0;
	require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
		const o = JSON.parse(l);
		if (o.check) console.log(`  ${o.ok ? "ok  " : "FAIL"} [${o.want}] ${o.check}${o.detail ? ` -- ${o.detail}` : ""}${o.error ? ` -- ${o.error}` : ""}`);
		else if (o.summary) console.log(`  summary: passed ${o.passed}, failed ${o.failed}; CapBnd ${o.capBnd} CapEff ${o.capEff} NoNewPrivs ${o.noNewPrivs} Seccomp ${o.seccomp}`);
	});'
say "----"
summary=$(cin journalctl -u pgduplex-agent -o cat --since "@$((t0 / 1000000))" | grep '"summary":true' | tail -n1)
check "every probe check passed under the hardened unit" eq "$(node -p 'JSON.parse(process.argv[1]).failed' "$summary" 2>/dev/null || echo 'no summary')" 0

# --- 2. systemd-analyze security.
cin systemd-analyze security --no-pager pgduplex-agent >"$work/security.txt" 2>&1 || true
score=$(grep -o 'Overall exposure level.*' "$work/security.txt" || true)
check "systemd-analyze security runs" test -n "$score"
say "     $score"
if [[ -n ${PGDX_SHOW_SECURITY:-} ]]; then cat "$work/security.txt"; fi

# --- 3. Stop is clean and quick; a crash restarts; exit 78 does not loop.
s0=$(date +%s%N)
cin systemctl stop pgduplex-agent
ms=$((($(date +%s%N) - s0) / 1000000))
check "systemctl stop took ${ms} ms (< 2000)" test "$ms" -lt 2000
check "stopped cleanly (Result=success, status 0)" eq "$(prop pgduplex-agent Result) $(prop pgduplex-agent ExecMainStatus)" "success 0"
check "/run/pgduplex removed on stop" cin test ! -e /run/pgduplex
cin systemctl start pgduplex-agent
check "started again" wait_active
cin systemctl kill -s SIGKILL pgduplex-agent
sleep 3
check "restarted after a crash (Restart=on-failure)" eq "$(cin systemctl is-active pgduplex-agent) $(prop pgduplex-agent NRestarts)" "active 1"
cin cp -p /etc/pgduplex/agent.json /var/tmp/pgdx/agent.json.orig
cin sh -c 'printf "{ not json\n" > /etc/pgduplex/agent.json'
cin systemctl restart pgduplex-agent || true
sleep 4
check "invalid config: unit failed with status 78, not restarted" \
	eq "$(cin systemctl is-active pgduplex-agent) $(prop pgduplex-agent ExecMainStatus) $(prop pgduplex-agent NRestarts)" "failed 78 0"
check "invalid config: the message is in systemctl status" status_shows 'agent.json: '
cin cp -p /var/tmp/pgdx/agent.json.orig /etc/pgduplex/agent.json
cin systemctl reset-failed pgduplex-agent
cin systemctl start pgduplex-agent
check "fixed config: active again" wait_active

# --- 4. Upgrades: restart, keep a modified conffile, respect an admin's disable.
cin sed -i 's/"info"/"debug"/' /etc/pgduplex/agent.json
pid=$(prop pgduplex-agent MainPID)
cin dpkg -i "$cdeb1" >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log"; bad "dpkg -i $v1 again"; }
check "same-version reinstall restarted the agent" restarted_from "$pid"
pid=$(prop pgduplex-agent MainPID)
cin dpkg -i "$cdeb2" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; bad "upgrade to $v2"; }
check "upgrade to $v2: version installed" eq "$(cin dpkg-query -W -f '${Version}' pgduplex)" "$v2"
check "upgrade to $v2: agent restarted and active" restarted_from "$pid"
check "upgrade kept the modified conffile" cin grep -q '"debug"' /etc/pgduplex/agent.json
check "no .dpkg-new/.dpkg-dist left" cin bash -c '! ls /etc/pgduplex/*.dpkg-* 2>/dev/null'
cin systemctl disable pgduplex-agent >/dev/null 2>&1
cin dpkg -i "$cdeb2" >"$work/upgrade2.log" 2>&1 || { cat "$work/upgrade2.log"; bad "dpkg -i $v2 again"; }
check "an admin's disable survives a package upgrade" eq "$(cin systemctl is-enabled pgduplex-agent)" disabled
cin systemctl enable pgduplex-agent >/dev/null 2>&1
cin systemctl restart pgduplex-agent

# --- 5. Remove, purge, reinstall.
cin dpkg -r pgduplex >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; bad "dpkg -r"; }
check "remove: service not running" not_active
check "remove: no agent process" no_agent_process
check "remove: unit and programs gone" cin bash -c '! test -e /usr/lib/systemd/system/pgduplex-agent.service && ! test -e /usr/bin/pgduplex'
check "remove: systemd forgot the unit (daemon-reload)" eq "$(prop pgduplex-agent LoadState)" not-found
check "remove: config and state kept" cin test -f /etc/pgduplex/agent.json -a -d /var/lib/pgduplex
cin dpkg -i "$cdeb1" >"$work/reinstall2.log" 2>&1 || { cat "$work/reinstall2.log"; bad "reinstall after remove"; }
check "reinstall after remove: enabled and active" enabled_and_active
check "reinstall after remove: the modified conffile is still there" cin grep -q '"debug"' /etc/pgduplex/agent.json
cin dpkg -P pgduplex >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; bad "dpkg -P"; }
check "purge: /etc/pgduplex and /var/lib/pgduplex removed" cin bash -c '! test -e /etc/pgduplex && ! test -e /var/lib/pgduplex'
check "purge: /var/backups/pgduplex kept, and said so" backups_kept
check "purge: no enablement symlink left" cin bash -c '! ls /etc/systemd/system/*/pgduplex-agent.service 2>/dev/null'
t0=$(now_us)
cin dpkg -i "$cdeb1" >"$work/reinstall3.log" 2>&1 || { cat "$work/reinstall3.log"; bad "reinstall after purge"; }
check "reinstall after purge: enabled and active" enabled_and_active
check "reinstall after purge: fresh conffile" cin grep -q '"info"' /etc/pgduplex/agent.json
check "reinstall after purge: the probe ran again" wait_probe "$t0"

say "$passed passed, $failed failed"
[[ $failed == 0 ]]
