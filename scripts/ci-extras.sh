#!/usr/bin/env bash
# System packages some test suites need (Debian's packages only). Idempotent; a no-op when present.
set -euo pipefail
need=()
# IMAP intake tests run against a private Dovecot (test/channels/dovecot-harness.ts).
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
# (later suites add e.g. chromium for browser tests, dovecot-imapd for IMAP intake)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
