#!/usr/bin/env bash
# System packages some test suites need (Debian's packages only). Idempotent; a no-op when present.
set -euo pipefail
need=()
# IMAP intake tests run against a private Dovecot (test/intake/channels/dovecot-harness.ts).
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
# Browser tests (test/browser/) drive Debian's Chromium through playwright-core (no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
