#!/usr/bin/env bash
# api-dump.sh - writes the introspection XML of dlrd's interfaces, as "scripts/dbus-api live" gives it, to
# $abs_top_builddir/org.dlrd1.xml: one lab host with a router and a LIF, so that org.dlrd1.Router and
# org.dlrd1.Lif have objects to introspect. Run through tests/run-integration (the test VM when this
# kernel lacks VRF) by "make update-api-docs", which then puts the result into docs/.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${abs_top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=lab.sh
. "$abs_top_srcdir/tests/lib/lab.sh"

lab_init vrf vxlan bridge veth
lab_host hostA 192.0.2.1
dlr_create_router hostA blue 1001 >/dev/null
dlr_create_lif hostA blue web vxlan 5000 0 10.0.0.1/24 >/dev/null
out=$abs_top_builddir/org.dlrd1.xml
"$abs_top_srcdir/scripts/dbus-api" live "$(lab_bus hostA)" >"$out.tmp" || fail "introspection failed"
mv "$out.tmp" "$out"
echo "api-dump: wrote $out"
