import type { Migration } from 'kysely';
import * as m0001 from './0001_policies.js';
import * as m0002 from './0002_registry.js';
import * as m0004 from './0004_audit.js';
import * as m0005 from './0005_outbox.js';
import * as m0006 from './0006_cases.js';
import * as m0007 from './0007_accounts.js';
import * as m0008 from './0008_intake_inbox.js';
import * as m0009 from './0009_console_indexes.js';
import * as m0010 from './0010_dashboard_rollups.js';
import * as m0011 from './0011_backlog_indexes.js';
import * as m0012 from './0012_reporter_ack_sends.js';
import * as m0014 from './0014_triage.js';
import * as m0016 from './0016_login_attempts.js';
import * as m0017 from './0017_third_party_replies.js';
import * as m0018 from './0018_audit_head_batches.js';
import * as m0020 from './0020_dmca.js';
import * as m0021 from './0021_legal.js';
import * as m0023 from './0023_test_consents.js';
import * as m0024 from './0024_policy_waivers.js';
import * as m0025 from './0025_privacy_and_certifications.js';
import * as m0026 from './0026_inbox_authorised_kind.js';
import * as m0027 from './0027_sanctions_consent_evidence.js';
import * as m0028 from './0028_btree_gist_in_public.js';
import * as m0029 from './0029_checks_without_regex.js';
import * as m0030 from './0030_inbox_progress.js';
import * as m0031 from './0031_cases_hot_updates.js';

/**
 * Every migration, in order. Listed statically (not read from the file system) so the compiled CLI, the
 * tests and a bundled build all see the same set. Add new ones at the end; never edit a released one.
 */
export const migrations: Record<string, Migration> = {
  '0001_policies': m0001,
  '0002_registry': m0002,
  '0004_audit': m0004,
  '0005_outbox': m0005,
  '0006_cases': m0006,
  '0007_accounts': m0007,
  '0008_intake_inbox': m0008,
  '0009_console_indexes': m0009,
  '0010_dashboard_rollups': m0010,
  '0011_backlog_indexes': m0011,
  '0012_reporter_ack_sends': m0012,
  '0014_triage': m0014,
  '0016_login_attempts': m0016,
  '0017_third_party_replies': m0017,
  '0018_audit_head_batches': m0018,
  '0020_dmca': m0020,
  '0021_legal': m0021,
  '0023_test_consents': m0023,
  '0024_policy_waivers': m0024,
  '0025_privacy_and_certifications': m0025,
  '0026_inbox_authorised_kind': m0026,
  '0027_sanctions_consent_evidence': m0027,
  '0028_btree_gist_in_public': m0028,
  '0029_checks_without_regex': m0029,
  '0030_inbox_progress': m0030,
  '0031_cases_hot_updates': m0031,
};
