#!/usr/bin/env bash
# Debian packages the test suite uses besides Java, Maven and PostgreSQL:
# chromium (the dashboard browser test), prometheus (the server and promtool, which
# check our rules and metrics) and prometheus-alertmanager (the alertmanager binary and
# amtool, which the alerting tests compare onexgen's decisions with). Installs them when
# missing and we are root; otherwise says what to install.
source "$(dirname "$0")/common.sh"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  die "missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'"
fi
command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install them by hand"
say "installing ${missing[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1  # RUNLEVEL=1: do not start prometheus' service
apt-get update -qq >"$LOCAL/apt.log" 2>&1 || { tail -5 "$LOCAL/apt.log" >&2; die "apt-get update failed"; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOCAL/apt.log" 2>&1 \
  || { tail -20 "$LOCAL/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $LOCAL/apt.log)"; }
