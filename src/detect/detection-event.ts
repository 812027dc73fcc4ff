import type { Detection } from './detection.js';

/**
 * A detection as the desk takes it in: one IntelMQ event JSON line (the format intake already reads,
 * src/intake/parsers/intelmq-parser.ts), so a detection is stored as evidence and parsed, attributed,
 * judged and put into a case exactly as a CERT's report would be. The line is the evidence: it carries the
 * window's figures and the last flows of the source (`extra.flows`), which an analyst reads in the case.
 *
 * `feed.name` is the detector. `time.source` is when the detector fired (inside the window), so each
 * report of a running attack is a new event that joins the open case of that service and clause.
 */
export function detectionEventLine(
  d: Detection,
  authorisation?: { id: string; reference?: string | undefined },
): string {
  const event: Record<string, unknown> = {
    'feed.name': d.detector,
    'feed.provider': 'aupdesk flow detectors',
    'classification.taxonomy': d.classification.taxonomy,
    'classification.type': d.classification.type,
    'classification.identifier': d.classification.identifier,
    'source.ip': d.sourceIp,
    'time.source': d.detectedAt.toISOString(),
    'time.observation': d.detectedAt.toISOString(),
    ...(d.destinationIp ? { 'destination.ip': d.destinationIp } : {}),
    ...(d.destinationPort !== undefined ? { 'destination.port': d.destinationPort } : {}),
    ...(d.protocol ? { 'protocol.transport': d.protocol === 'other' ? 'other' : d.protocol } : {}),
    'extra.service': d.serviceRef,
    'extra.customer': d.customerRef,
    'extra.window_start': d.windowStart.toISOString(),
    'extra.detected_at': d.detectedAt.toISOString(),
    'extra.pps': d.pps,
    'extra.bps': d.bps,
    'extra.flows': d.flows,
    'extra.destinations': d.destinations,
    ...Object.fromEntries(Object.entries(d.details).map(([k, v]) => [`extra.${k}`, v])),
    ...(d.accountableIp ? { 'extra.accountable_ip': d.accountableIp } : {}),
    ...(authorisation ? { 'extra.authorised_by': authorisation.reference ?? authorisation.id } : {}),
    'extra.flow_sample': d.sample,
  };
  return `${JSON.stringify(event)}\n`;
}

/** The line `aupdesk flows listen --json` prints (names fixed by the issue). */
export function detectionJson(d: Detection, authorisation?: string | null): Record<string, unknown> {
  return {
    detector: d.detector,
    'source.ip': d.sourceIp,
    service: d.serviceRef,
    customer: d.customerRef,
    window_start: d.windowStart.toISOString(),
    detected_at: d.detectedAt.toISOString(),
    pps: d.pps,
    bps: d.bps,
    flows: d.flows,
    destinations: d.destinations,
    ...(authorisation ? { authorised_by: authorisation } : {}),
  };
}
