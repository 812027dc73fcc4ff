import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type RegistryStatus = 'active' | 'suspended' | 'terminated';
export type ServiceKind =
  | 'shared-hosting'
  | 'vps'
  | 'dedicated'
  | 'colocation'
  | 'streaming'
  | 'mail'
  | 'other';

/** A customer of the provider. `ref` is the provider's own stable reference (billing id), unique. */
export interface CustomerTable {
  id: Generated<number>;
  ref: string;
  name: string;
  emails: ColumnType<string[], string[] | undefined, string[]>;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  status: ColumnType<RegistryStatus, RegistryStatus | undefined, RegistryStatus>;
  /** The AUP the customer accepted: provider id and version text, and when. */
  accepted_policy_provider: string | null;
  accepted_policy_version: string | null;
  accepted_policy_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** What a customer buys. `ref` is the provider's stable service reference, unique across customers. */
export interface ServiceTable {
  id: Generated<number>;
  ref: string;
  customer_id: number;
  kind: ServiceKind;
  status: ColumnType<RegistryStatus, RegistryStatus | undefined, RegistryStatus>;
  /** The provisioning system's id for the service (for suspend/restore hooks). */
  provisioning_ref: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/**
 * A prefix (`cidr`, exactly one of prefix/domain) or a domain held by a service over the half-open
 * interval [valid_from, valid_to); valid_to null is open-ended. `customer_id` mirrors the service's
 * customer (composite foreign key) for the exclusion constraints.
 */
export interface AssignmentTable {
  id: Generated<number>;
  service_id: number;
  customer_id: number;
  /** PostgreSQL returns cidr as text in canonical form, e.g. `192.0.2.0/24`, `2001:db8::/48`. */
  prefix: string | null;
  domain: string | null;
  valid_from: ColumnType<Date, Date | string, Date | string>;
  valid_to: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Single row (id = 1): bumped by trigger on every registry write, polled by snapshot holders. */
export interface RegistryRevisionTable {
  id: number;
  revision: ColumnType<string, never, never>;
  changed_at: ColumnType<Date, never, never>;
}

/** A policy version waived for one customer (src/registry/policy-waiver-repository.ts). */
export interface PolicyWaiverTable {
  id: Generated<number>;
  customer_id: ColumnType<number, number, never>;
  provider_id: ColumnType<string, string, never>;
  version: ColumnType<string, string, never>;
  reason: string;
  granted_at: Date;
  granted_by: string;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  revoked_by: ColumnType<string | null, string | null | undefined, string | null>;
}
