import type { ServiceKind } from '../store/tables/registry.table.js';

/**
 * A detection: what a detector saw one source (or one service) do over one window. It becomes an event
 * (detection-event.ts) that enters the desk like any report; `aupdesk flows listen --json` prints it.
 */
export const detectorNames = ['port-scan', 'dos', 'smtp-burst', 'spoofed-source', 'amplification'] as const;
export type DetectorName = (typeof detectorNames)[number];

/** One flow kept as evidence (the last flows of the source before the detection). */
export interface SampledFlow {
  readonly at: string;
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly tcpFlags: number;
  readonly packets: number;
  readonly bytes: number;
  readonly exporter: string;
}

export interface Detection {
  readonly detector: DetectorName;
  readonly sourceIp: string;
  readonly serviceRef: string;
  readonly serviceKind: ServiceKind;
  readonly customerRef: string;
  readonly windowStart: Date;
  readonly detectedAt: Date;
  /** Rates over the detector's window (per second), and counts within it. */
  readonly pps: number;
  readonly bps: number;
  readonly flows: number;
  /** Distinct destinations (a HyperLogLog estimate for scans and SMTP). */
  readonly destinations: number;
  /** RSIT classification (taxonomy/taxonomy.ts's vocabulary; test/detect checks each is a known class). */
  readonly classification: { readonly taxonomy: string; readonly type: string; readonly identifier: string };
  /** Transport and target when one stands out (a flood's target, the SMTP port). */
  readonly protocol?: 'tcp' | 'udp' | 'icmp' | 'other';
  readonly destinationIp?: string;
  readonly destinationPort?: number;
  /** Targets the authorisation check compares with (a flood's target, a scan's sampled destinations). */
  readonly targets: readonly string[];
  /** Detector-specific figures (threshold crossed, baseline, distinct ports, ingress interface…). */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  readonly sample: readonly SampledFlow[];
  /**
   * Set when the detection is not about the source address itself (a spoofed source): an address the
   * accountable service holds, which attribution uses instead of `sourceIp`.
   */
  readonly accountableIp?: string;
}

export const classificationOf: Readonly<Record<DetectorName, Detection['classification']>> = {
  'port-scan': { taxonomy: 'information-gathering', type: 'scanner', identifier: 'port-scan' },
  dos: { taxonomy: 'availability', type: 'dos', identifier: 'dos' },
  amplification: { taxonomy: 'availability', type: 'ddos', identifier: 'amplification' },
  // No RSIT type says "used addresses not assigned to it"; using another's address space is an
  // unauthorised use of resources. The identifier keeps it apart from other such events.
  'spoofed-source': {
    taxonomy: 'fraud',
    type: 'unauthorized-use-of-resources',
    identifier: 'unassigned-source',
  },
  // A rise in outgoing mail is not spam by itself: the policy has it reviewed. `undetermined` keeps it
  // from falling under the spam clauses; the identifier lets the review clause pick it.
  'smtp-burst': { taxonomy: 'other', type: 'undetermined', identifier: 'smtp-burst' },
};
