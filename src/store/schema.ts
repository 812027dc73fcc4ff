import type {
  ApiKeyTable,
  LoginAttemptTable,
  ReportSubmissionTable,
  SessionTable,
  UserTable,
} from './tables/accounts.table.js';
import type { AuditHeadTable, AuditLogTable } from './tables/audit.table.js';
import type {
  BlocklistEntryTable,
  CaseEventTable,
  CaseMessageTable,
  CaseNoteTable,
  CaseTable,
  FeeTable,
  ReporterAckSendTable,
  ReportTable,
} from './tables/cases.table.js';
import type {
  ConsentEvidenceTable,
  LicenceCertificationTable,
  PrivacyRequestTable,
  SanctionsListTable,
  SanctionsMatchTable,
  TestConsentTable,
} from './tables/compliance.table.js';
import type {
  DashboardCaseDayTable,
  DashboardCaseReachedTable,
  DashboardCaseStatusTable,
  DashboardCaseWeekTable,
  DashboardEventDayTable,
  DashboardReportDayTable,
} from './tables/dashboard.table.js';
import type { DmcaNoticeTable, DmcaStrikeTable } from './tables/dmca.table.js';
import type { IntakeInboxTable } from './tables/intake.table.js';
import type { LegalDisclosureTable, LegalRequestTable } from './tables/legal.table.js';
import type { OutboxActionTable, ScheduledStepTable } from './tables/outbox.table.js';
import type { PolicyVersionTable, ProviderTable } from './tables/policy.table.js';
import type {
  AssignmentTable,
  CustomerTable,
  PolicyWaiverTable,
  RegistryRevisionTable,
  ServiceTable,
} from './tables/registry.table.js';
import type { TriageItemTable } from './tables/triage.table.js';

/**
 * The whole database as Kysely sees it. Each table's type lives in `tables/<area>.table.ts`; a module
 * queries only the tables of its own area (DESIGN.md: no module reaches into another's tables).
 */
export interface Database {
  providers: ProviderTable;
  policy_versions: PolicyVersionTable;
  customers: CustomerTable;
  services: ServiceTable;
  assignments: AssignmentTable;
  registry_revision: RegistryRevisionTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  outbox_actions: OutboxActionTable;
  scheduled_steps: ScheduledStepTable;
  reports: ReportTable;
  case_events: CaseEventTable;
  cases: CaseTable;
  case_messages: CaseMessageTable;
  case_notes: CaseNoteTable;
  fees: FeeTable;
  blocklist_entries: BlocklistEntryTable;
  reporter_ack_sends: ReporterAckSendTable;
  users: UserTable;
  sessions: SessionTable;
  api_keys: ApiKeyTable;
  login_attempts: LoginAttemptTable;
  report_submissions: ReportSubmissionTable;
  intake_inbox: IntakeInboxTable;
  dashboard_event_days: DashboardEventDayTable;
  dashboard_report_days: DashboardReportDayTable;
  dashboard_case_days: DashboardCaseDayTable;
  dashboard_case_weeks: DashboardCaseWeekTable;
  dashboard_case_status: DashboardCaseStatusTable;
  dashboard_case_reached: DashboardCaseReachedTable;
  dmca_notices: DmcaNoticeTable;
  dmca_strikes: DmcaStrikeTable;
  legal_requests: LegalRequestTable;
  legal_disclosures: LegalDisclosureTable;
  test_consents: TestConsentTable;
  sanctions_lists: SanctionsListTable;
  sanctions_matches: SanctionsMatchTable;
  consent_evidence: ConsentEvidenceTable;
  privacy_requests: PrivacyRequestTable;
  licence_certifications: LicenceCertificationTable;
  policy_waivers: PolicyWaiverTable;
  triage_items: TriageItemTable;
}
