/**
 * The case tag `[AUP-<case>]` that opens the subject of every message we send about a case. It is how a
 * reply finds its case when the threading headers were lost on the way (a forward, a webmail client).
 */

export function caseTag(caseId: string): string {
  return `[AUP-${caseId}]`;
}

/** Finds the case reference in a subject line (`[AUP-123]`): how a reply threads when headers were lost. */
export function caseIdFromSubject(subject: string): string | undefined {
  return /\[AUP-([A-Za-z0-9][A-Za-z0-9._-]*)\]/.exec(subject)?.[1];
}
