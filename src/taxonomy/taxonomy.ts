/**
 * The classification taxonomy aupdesk uses for events: the Reference Security Incident Taxonomy as IntelMQ
 * ships it (`classification.taxonomy` / `classification.type`). Kept as data so judgement can map clauses to
 * it and a test can check every parser only emits known pairs.
 */
export const taxonomy = {
  'abusive-content': ['spam', 'harmful-speech', 'violence'],
  'malicious-code': ['infected-system', 'c2-server', 'malware-distribution', 'malware-configuration'],
  'information-gathering': ['scanner', 'sniffing', 'social-engineering'],
  'intrusion-attempts': ['ids-alert', 'brute-force', 'exploit'],
  intrusions: [
    'privileged-account-compromise',
    'unprivileged-account-compromise',
    'application-compromise',
    'system-compromise',
    'burglary',
  ],
  availability: ['ddos', 'dos', 'outage', 'sabotage'],
  'information-content-security': [
    'unauthorised-information-access',
    'unauthorised-information-modification',
    'data-loss',
    'data-leak',
  ],
  fraud: ['unauthorized-use-of-resources', 'copyright', 'masquerade', 'phishing'],
  vulnerable: [
    'ddos-amplifier',
    'information-disclosure',
    'potentially-unwanted-accessible',
    'vulnerable-system',
    'weak-crypto',
  ],
  other: ['blacklist', 'other', 'undetermined', 'unknown', 'tor'],
  test: ['test'],
} as const satisfies Record<string, readonly string[]>;

export type Taxonomy = keyof typeof taxonomy;
export type ClassificationType = (typeof taxonomy)[Taxonomy][number];

/** `taxonomy/type`, the form policies use to say which events a clause covers (e.g. `abusive-content/spam`). */
export type EventClass = {
  [T in Taxonomy]: `${T}/${(typeof taxonomy)[T][number]}`;
}[Taxonomy];

export const taxonomies = Object.keys(taxonomy) as Taxonomy[];

export const eventClasses: readonly EventClass[] = taxonomies.flatMap((t) =>
  (taxonomy[t] as readonly string[]).map((type) => `${t}/${type}` as EventClass),
);

export function isEventClass(value: string): value is EventClass {
  return (eventClasses as readonly string[]).includes(value);
}

/** The taxonomy a type belongs to (types are unique across taxonomies in RSIT). */
export function taxonomyOf(type: ClassificationType): Taxonomy {
  for (const t of taxonomies) if ((taxonomy[t] as readonly string[]).includes(type)) return t;
  /* c8 ignore next */
  throw new Error(`unknown classification type ${type}`);
}
