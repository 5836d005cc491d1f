#!/usr/bin/env bash
# Make sure every real component the tests use is here: PostgreSQL running, Chromium and
# Prometheus Alertmanager installed from Debian's packages. Under CI=true anything missing is fatal.
set -euo pipefail

need_root() { [ "$(id -u)" = 0 ]; }
missing=()

apt_install() {
  if need_root && command -v apt-get >/dev/null; then
    if [ ! -f /tmp/.warroom-apt-updated ]; then apt-get update -qq && touch /tmp/.warroom-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

# PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  elif need_root; then
    apt_install postgresql && pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || missing+=("PostgreSQL on 127.0.0.1:5432")

# Headless Chromium for the browser tests, Alertmanager as a real alert sender.
[ -x /usr/bin/chromium ] || apt_install chromium
[ -x /usr/bin/chromium ] || missing+=("chromium (/usr/bin/chromium)")
command -v prometheus-alertmanager >/dev/null || apt_install prometheus-alertmanager
command -v prometheus-alertmanager >/dev/null || missing+=("prometheus-alertmanager")

if [ ${#missing[@]} -gt 0 ]; then
  echo "prepare-test-env: missing: ${missing[*]}" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "prepare-test-env: tests that need them will skip loudly (CI=true makes this fatal)" >&2
fi
