import type { Clause, Obligation, PolicyDocument } from './policy-schema.js';
import { durationMs, severities } from './policy-schema.js';

/**
 * What changed between two versions of one provider's AUP, and whether the change is *material*: the
 * verdict drives iITGEN's "if we change this AUP in a material manner, we will provide you with notice via
 * email" (and any provider with `notify_customers: material-only`).
 *
 * The rule (docs/policy-format.md, "Material changes"): a change is material when it changes what the
 * customer must do or what may be done to it, to its disadvantage, or when a clause is added or removed.
 * Changes in the customer's favour (a longer cure period, a lower fee, a narrower clause) are reported but not
 * material; edits that leave the words the same after normalisation (whitespace, punctuation, case, quotes)
 * or differ by typo-sized word edits are editorial; dates, renumbering, reordering and contact details are
 * not material. A field without a specific rule is material when it changes (conservative).
 */

export interface FieldChange {
  /** Document path, e.g. `terms.enforcement.cure_period`, `clauses[spam].covers`. */
  readonly path: string;
  readonly old: unknown;
  readonly new: unknown;
  readonly material: boolean;
  /** Why it is (not) material, in a few words. */
  readonly note: string;
}

export interface ClauseRef {
  readonly id: string;
  readonly title: string;
}

export interface ClauseChange extends ClauseRef {
  readonly changes: readonly FieldChange[];
}

export interface PolicyDiff {
  readonly provider: string;
  readonly from: string;
  readonly to: string;
  readonly clauses: {
    readonly added: readonly ClauseRef[];
    readonly removed: readonly ClauseRef[];
    readonly changed: readonly ClauseChange[];
    readonly reordered: boolean;
  };
  readonly terms: readonly FieldChange[];
  readonly obligations: {
    readonly added: readonly ClauseRef[];
    readonly removed: readonly ClauseRef[];
    readonly changed: readonly ClauseChange[];
  };
  /** Preamble, sections, non-executable sentences, provider, dates. */
  readonly document: readonly FieldChange[];
  readonly verdict: {
    readonly material: boolean;
    /** The material changes, one sentence each (empty when not material). */
    readonly reasons: readonly string[];
    /** The changes judged not material. */
    readonly editorial: readonly string[];
  };
}

type Rule =
  | 'text'
  | 'not-material'
  | 'any'
  | 'duration-shorter'
  | 'duration-longer'
  | 'became-true'
  | 'became-false'
  | 'set-grew'
  | 'set-shrank'
  | 'number-higher'
  | 'number-lower'
  | 'severity'
  | 'service-kinds'
  | { order: readonly string[] };

/** Rules by path; `*` matches one segment. First match wins; no match means `any`. */
const rules: ReadonlyArray<readonly [string, Rule]> = [
  ['*.text', 'text'],
  ['*.*.text', 'text'],
  ['*.*.*.text', 'text'],
  ['*.source', 'not-material'],
  ['*.*.source', 'not-material'],
  ['*.*.source.*', 'not-material'],
  ['*.operator_defaults', 'not-material'],
  ['*.*.operator_defaults', 'not-material'],
  // Enforcement: shorter or faster is worse for the customer.
  ['terms.enforcement.cure_period', 'duration-shorter'],
  ['terms.enforcement.notice_before_suspension', { order: ['always', 'unless-harming', 'never-required'] }],
  ['terms.enforcement.immediate_suspension_when_endangering', 'became-true'],
  ['terms.enforcement.remedies', 'set-grew'],
  ['terms.enforcement.max_event_age', 'duration-longer'],
  ['terms.enforcement.sla_credit_for_aup_interruptions', 'became-false'],
  ['terms.enforcement.may_report_to_authorities', 'became-true'],
  ['terms.enforcement.reinstatement.requires_analyst', 'not-material'],
  ['terms.enforcement.case_window', 'not-material'],
  // Complaints: any change to anonymity or confidentiality matters to reporters and customers alike.
  ['terms.complaints.channels', 'not-material'],
  // Changes: fewer announcements, less notice, less grace, no waivers are worse.
  ['terms.changes.announce', 'set-shrank'],
  ['terms.changes.notify_customers', { order: ['all', 'material-only', 'none'] }],
  ['terms.changes.effective', { order: ['after-notice', 'on-posting'] }],
  ['terms.changes.notice_period', 'duration-shorter'],
  ['terms.changes.grace_period_previous_version', 'duration-shorter'],
  ['terms.changes.waivers_allowed', 'became-false'],
  ['terms.changes.acceptance', { order: ['explicit', 'continued-use'] }],
  // Information requests: more disclosure, higher fees, less confidentiality are worse.
  ['terms.information_requests.honoured', 'set-grew'],
  ['terms.information_requests.requires_filed_pending_matter', 'became-false'],
  ['terms.information_requests.requires_demonstrated_entitlement', 'became-false'],
  ['terms.information_requests.fee.amount', 'number-higher'],
  ['terms.information_requests.fee.legal_fees_passed_on', 'became-true'],
  ['terms.information_requests.customer_prior_notice', 'became-false'],
  ['terms.information_requests.contact', 'not-material'],
  ['terms.information_requests.contact.*', 'not-material'],
  ['terms.information_requests.contact.*.*', 'not-material'],
  // DMCA: the agent's address is contact data; the procedure is not.
  ['terms.dmca.designated_agent', 'not-material'],
  ['terms.dmca.designated_agent.*', 'not-material'],
  ['terms.dmca.designated_agent.*.*', 'not-material'],
  ['terms.dmca.require_complete_notice', 'became-false'],
  ['terms.dmca.repeat_infringer.strikes', 'number-lower'],
  ['terms.dmca.repeat_infringer.window', 'duration-longer'],
  // Clauses.
  ['clause.number', 'not-material'],
  ['clause.title', 'not-material'],
  ['clause.covers', 'set-grew'],
  ['clause.identifiers', 'any'],
  ['clause.severity', 'severity'],
  ['clause.endangers_infrastructure', 'became-true'],
  ['clause.includes_third_party_networks', 'became-true'],
  ['clause.service_kinds', 'service-kinds'],
  ['clause.executable', 'became-true'],
  ['clause.non_executable_reason', 'not-material'],
  ['clause.text', 'text'],
  // Obligations.
  ['obligation.title', 'not-material'],
  ['obligation.deadline', 'duration-shorter'],
  ['obligation.requires_prior_written_consent', 'became-true'],
  ['obligation.non_executable_reason', 'not-material'],
  ['obligation.executable', 'not-material'],
  ['obligation.text', 'text'],
];

export function diffPolicies(oldDoc: PolicyDocument, newDoc: PolicyDocument): PolicyDiff {
  const clauses = diffById(oldDoc.clauses, newDoc.clauses, 'clause', 'clauses');
  const obligations = diffById(oldDoc.obligations, newDoc.obligations, 'obligation', 'obligations');
  const terms = compareValues('terms', oldDoc.terms, newDoc.terms);
  const document = diffDocument(oldDoc, newDoc);

  const oldOrder = oldDoc.clauses.map((c) => c.id).filter((id) => newDoc.clauses.some((c) => c.id === id));
  const newOrder = newDoc.clauses.map((c) => c.id).filter((id) => oldOrder.includes(id));
  const reordered = oldOrder.join('\n') !== newOrder.join('\n');

  const reasons: string[] = [];
  const editorial: string[] = [];
  for (const c of clauses.added) reasons.push(`clause "${c.id}" (${c.title}) added`);
  for (const c of clauses.removed) reasons.push(`clause "${c.id}" (${c.title}) removed`);
  for (const o of obligations.added) reasons.push(`obligation "${o.id}" (${o.title}) added`);
  const removedObligations = oldDoc.obligations.filter((o) => obligations.removed.some((r) => r.id === o.id));
  for (const o of removedObligations) {
    // A duty of the provider that disappears is a protection the customer loses.
    if (o.party === 'provider') reasons.push(`provider obligation "${o.id}" (${o.title}) removed`);
    else editorial.push(`customer obligation "${o.id}" removed (in the customer's favour)`);
  }
  const sort = (changes: readonly FieldChange[]): void => {
    for (const change of changes) (change.material ? reasons : editorial).push(describe(change));
  };
  for (const c of clauses.changed) sort(c.changes);
  for (const o of obligations.changed) sort(o.changes);
  sort(terms);
  sort(document);
  if (reordered) editorial.push('clauses reordered');

  return {
    provider: newDoc.provider.id,
    from: oldDoc.version,
    to: newDoc.version,
    clauses: { ...clauses, reordered },
    terms,
    obligations,
    document,
    verdict: { material: reasons.length > 0, reasons, editorial },
  };
}

function describe(change: FieldChange): string {
  return `${change.path}: ${show(change.old)} → ${show(change.new)} (${change.note})`;
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function diffById<T extends Clause | Obligation>(
  oldItems: readonly T[],
  newItems: readonly T[],
  kind: 'clause' | 'obligation',
  label: string,
): { added: ClauseRef[]; removed: ClauseRef[]; changed: ClauseChange[] } {
  const oldById = new Map(oldItems.map((c) => [c.id, c]));
  const newById = new Map(newItems.map((c) => [c.id, c]));
  const ref = (c: T): ClauseRef => ({ id: c.id, title: c.title });
  const changed: ClauseChange[] = [];
  for (const item of newItems) {
    const before = oldById.get(item.id);
    if (!before) continue;
    const changes = compareValues(`${label}[${item.id}]`, before, item, kind);
    if (changes.length > 0) changed.push({ ...ref(item), changes });
  }
  return {
    added: newItems.filter((c) => !oldById.has(c.id)).map(ref),
    removed: oldItems.filter((c) => !newById.has(c.id)).map(ref),
    changed,
  };
}

function diffDocument(oldDoc: PolicyDocument, newDoc: PolicyDocument): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const key of ['version', 'title', 'published_at', 'effective_at', 'supersedes', 'origin'] as const) {
    if (!same(oldDoc[key], newDoc[key])) {
      changes.push({ path: key, old: oldDoc[key], new: newDoc[key], material: false, note: 'metadata' });
    }
  }
  if (!same(oldDoc.provider, newDoc.provider)) {
    changes.push(
      ...compareValues('provider', oldDoc.provider, newDoc.provider).map((c) => ({
        ...c,
        material: false,
        note: 'provider details',
      })),
    );
  }
  const preamble = compareText('preamble', oldDoc.preamble, newDoc.preamble);
  if (preamble) changes.push(preamble);
  // Sections are presentation: matched by id; their prose is judged like clause text, titles and order not.
  const oldSections = new Map(oldDoc.sections.map((s) => [s.id, s]));
  for (const section of newDoc.sections) {
    const before = oldSections.get(section.id);
    for (const key of ['text', 'text_after'] as const) {
      const change = compareText(`sections[${section.id}].${key}`, before?.[key], section[key]);
      if (change) changes.push(change);
    }
    if (before && before.title !== section.title) {
      changes.push({
        path: `sections[${section.id}].title`,
        old: before.title,
        new: section.title,
        material: false,
        note: 'heading',
      });
    }
  }
  // The sentences kept as text still bind as text: matched by normalised wording.
  const oldSentences = new Set(oldDoc.non_executable.map((n) => normalise(n.text)));
  const newSentences = new Set(newDoc.non_executable.map((n) => normalise(n.text)));
  for (const n of newDoc.non_executable) {
    if (!oldSentences.has(normalise(n.text))) {
      changes.push({
        path: 'non_executable',
        old: undefined,
        new: n.text,
        material: true,
        note: 'provision added',
      });
    }
  }
  for (const n of oldDoc.non_executable) {
    if (!newSentences.has(normalise(n.text))) {
      changes.push({
        path: 'non_executable',
        old: n.text,
        new: undefined,
        material: true,
        note: 'provision removed',
      });
    }
  }
  return changes;
}

/** Compare two values field by field, applying the rules; arrays of scalars compare as sets. */
function compareValues(path: string, oldValue: unknown, newValue: unknown, scope?: string): FieldChange[] {
  if (same(oldValue, newValue)) return [];
  const rulePath = scope ? `${scope}${path.slice(path.indexOf(']') + 1)}` : path;
  const rule = ruleFor(rulePath);
  if (isPlainObject(oldValue) && isPlainObject(newValue) && !isLeafRule(rule)) {
    const keys = [...new Set([...Object.keys(oldValue), ...Object.keys(newValue)])].sort();
    return keys.flatMap((key) => compareValues(`${path}.${key}`, oldValue[key], newValue[key], scope));
  }
  return [judge(path, rule, oldValue, newValue)];
}

function isLeafRule(rule: Rule): boolean {
  return rule === 'not-material' || rule === 'text';
}

function ruleFor(path: string): Rule {
  const segments = path.split('.');
  for (const [pattern, rule] of rules) {
    const parts = pattern.split('.');
    if (parts.length === segments.length && parts.every((p, i) => p === '*' || p === segments[i]))
      return rule;
  }
  return 'any';
}

function judge(path: string, rule: Rule, oldValue: unknown, newValue: unknown): FieldChange {
  const change = (material: boolean, note: string): FieldChange => ({
    path,
    old: oldValue,
    new: newValue,
    material,
    note,
  });
  const favour = 'in the customer’s favour';
  if (typeof rule === 'object') {
    const rank = (v: unknown): number => rule.order.indexOf(String(v));
    return rank(newValue) > rank(oldValue) ? change(true, 'less protective') : change(false, favour);
  }
  switch (rule) {
    case 'text': {
      const c = compareText(path, asText(oldValue), asText(newValue));
      return c ?? change(false, 'editorial');
    }
    case 'not-material':
      return change(false, path.includes('source') ? 'traceability' : 'contact, label or presentation');
    case 'duration-shorter':
    case 'duration-longer': {
      const before = oldValue === undefined ? undefined : durationMs(String(oldValue));
      const after = newValue === undefined ? undefined : durationMs(String(newValue));
      if (before === after) return change(false, 'same duration, written differently');
      if (rule === 'duration-shorter') {
        if (after === undefined) return change(true, 'removed');
        if (before === undefined) return change(false, `introduced (${favour})`);
        return after < before ? change(true, 'shortened') : change(false, `lengthened (${favour})`);
      }
      if (before === undefined || after === undefined)
        return change(true, before === undefined ? 'introduced' : 'removed');
      return after > before ? change(true, 'lengthened') : change(false, `shortened (${favour})`);
    }
    case 'became-true':
      return newValue === true ? change(true, 'now applies') : change(false, favour);
    case 'became-false':
      return newValue === true ? change(false, favour) : change(true, 'withdrawn');
    case 'set-grew':
    case 'set-shrank': {
      const before = new Set(asList(oldValue));
      const after = new Set(asList(newValue));
      const added = [...after].filter((v) => !before.has(v));
      const removed = [...before].filter((v) => !after.has(v));
      const worse = rule === 'set-grew' ? added.length > 0 : removed.length > 0;
      const parts = [
        added.length ? `added ${added.join(', ')}` : '',
        removed.length ? `removed ${removed.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      if (!added.length && !removed.length) return change(false, 'reordered');
      return change(worse, worse ? `widened: ${parts}` : `${parts} (${favour})`);
    }
    case 'number-higher':
    case 'number-lower': {
      const before = Number(oldValue ?? 0);
      const after = Number(newValue ?? 0);
      const worse = rule === 'number-higher' ? after > before : after < before;
      return change(worse, worse ? (rule === 'number-higher' ? 'raised' : 'lowered') : favour);
    }
    case 'severity': {
      const rank = (v: unknown): number => severities.indexOf(v as (typeof severities)[number]);
      return rank(newValue) > rank(oldValue)
        ? change(true, 'severity raised')
        : change(false, `severity lowered (${favour})`);
    }
    case 'service-kinds': {
      // Absent means every kind of service.
      if (newValue === undefined) return change(true, 'now applies to every kind of service');
      if (oldValue === undefined)
        return change(false, `limited to ${asList(newValue).join(', ')} (${favour})`);
      const before = new Set(asList(oldValue));
      const grew = asList(newValue).some((k) => !before.has(k));
      return change(grew, grew ? 'applies to more kinds of service' : favour);
    }
    default:
      return change(true, 'changed');
  }
}

/** A text change, or undefined when the texts are the same after normalisation. */
function compareText(
  path: string,
  oldText: string | undefined,
  newText: string | undefined,
): FieldChange | undefined {
  if ((oldText ?? '') === (newText ?? '')) return undefined;
  const base = { path, old: oldText, new: newText };
  if (oldText === undefined || oldText.trim() === '') return { ...base, material: true, note: 'text added' };
  if (newText === undefined || newText.trim() === '')
    return { ...base, material: true, note: 'text removed' };
  if (normalise(oldText) === normalise(newText)) {
    return { ...base, material: false, note: 'editorial: whitespace, punctuation or case only' };
  }
  if (typoLevel(oldText, newText))
    return { ...base, material: false, note: 'editorial: typo-level word edits only' };
  return { ...base, material: true, note: 'wording changed' };
}

/** Lower case, typographic quotes and dashes unified, punctuation dropped, whitespace collapsed. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[‘’‚‛′]/g, "'")
    .replace(/[“”„‟″]/g, '"')
    .replace(/[‐‑‒–—―]/g, '-')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Same number of words and every differing word within a small edit distance (`recieve` → `receive`), with
 * at most one word in ten touched. Inserting "not" changes the word count and is never typo-level.
 */
function typoLevel(oldText: string, newText: string): boolean {
  const a = normalise(oldText).split(' ');
  const b = normalise(newText).split(' ');
  if (a.length !== b.length) return false;
  let touched = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x === y) continue;
    touched++;
    if (/\d/.test(x) || /\d/.test(y)) return false; // 72 → 24 hours is not a typo
    if (wordDistance(x, y) > Math.min(2, Math.floor(Math.max(x.length, y.length) / 4))) return false;
  }
  return touched <= Math.max(1, Math.floor(a.length / 10));
}

function wordDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (dp[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = dp[i] as number[];
      const prev = dp[i - 1] as number[];
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return (dp[a.length] as number[])[b.length] ?? 0;
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : value === undefined ? undefined : JSON.stringify(value);
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) : [];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => value[k] !== undefined)
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}
