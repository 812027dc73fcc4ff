import type { EventClass } from '../../../taxonomy/taxonomy.js';

/**
 * What a human complaint is about, by weighted keywords and log-line patterns — a table, not a model, so an
 * analyst can read why a complaint was filed where it was and change a weight.
 *
 * Scoring: every keyword hit adds its weight once per distinct phrase (repeating "spam" ten times does not make
 * it ten times more spam); every recognised log line adds its pattern's weight, capped at 10 lines per category
 * (a thousand sshd lines are no more brute force than ten). The winning category needs a score of at least
 * `MIN_SCORE` (3: one strong phrase such as "brute force attack", or a weak one backed by evidence) and a
 * confidence of at least `MIN_CONFIDENCE` (0.5), where confidence = best / (sum of all scores + 1): two
 * categories in a tie, or a lone weak word, fall below it and the complaint is `other/undetermined`.
 */

export const complaintCategories = [
  'spam',
  'phishing',
  'malware',
  'scanning',
  'brute-force',
  'ddos',
  'copyright',
  'other',
] as const;
export type ComplaintCategory = (typeof complaintCategories)[number];

export const categoryClass: Record<ComplaintCategory, EventClass> = {
  spam: 'abusive-content/spam',
  phishing: 'fraud/phishing',
  malware: 'malicious-code/malware-distribution',
  scanning: 'information-gathering/scanner',
  'brute-force': 'intrusion-attempts/brute-force',
  ddos: 'availability/ddos',
  copyright: 'fraud/copyright',
  other: 'other/other',
};

export const MIN_SCORE = 3;
export const MIN_CONFIDENCE = 0.5;
const LOG_LINE_CAP = 10;

// biome-ignore format: one rule per line reads as a table
export const keywordWeights: ReadonlyArray<{ readonly pattern: RegExp; readonly category: ComplaintCategory; readonly weight: number }> = [
  { pattern: /\bspam(?:med|ming|s)?\b|\bunsolicited (?:e-?mail|mail|message|bulk)|\bjunk mail\b/i, category: 'spam', weight: 2 },
  { pattern: /\bUBE\b|\bUCE\b|\bbulk e-?mail\b|\bspam ?trap\b|\bspamvertis/i, category: 'spam', weight: 2 },
  { pattern: /\bunsubscribe\b|\bmailing list\b|\bnewsletter\b/i, category: 'spam', weight: 1 },
  { pattern: /\bphish(?:ing|ed|er|y)?\b/i, category: 'phishing', weight: 3 },
  { pattern: /\b(?:fake|fraudulent|spoofed|imitat\w+) (?:login|log-in|sign-in|bank|paypal|website|page|site)\b|\bcredential (?:harvest|theft|steal)/i, category: 'phishing', weight: 3 },
  { pattern: /\bverify your (?:account|identity)\b|\baccount (?:suspended|locked)\b/i, category: 'phishing', weight: 1 },
  { pattern: /\bmalware\b|\btrojan\b|\bransomware\b|\bvirus\b|\bbotnet\b|\bdropper\b|\bpayload\b/i, category: 'malware', weight: 2 },
  { pattern: /\bcommand[- ]and[- ]control\b|\bC2 server\b|\bC&C\b|\bmalicious (?:file|download|executable|binary)\b|\bhosting malware\b/i, category: 'malware', weight: 3 },
  { pattern: /\bport ?scan(?:s|ning|ned)?\b|\bscann(?:ing|er|ed)\b|\bprob(?:ing|es)\b|\bnmap\b|\bmasscan\b|\bzmap\b/i, category: 'scanning', weight: 3 },
  { pattern: /\bvulnerability scan|\bcrawl(?:ing|er) (?:for|our) /i, category: 'scanning', weight: 2 },
  { pattern: /\bbrute[- ]?forc(?:e|ing)\b|\bdictionary attack\b|\bcredential stuffing\b|\bpassword (?:guessing|spraying)\b/i, category: 'brute-force', weight: 3 },
  { pattern: /\bfailed (?:login|password|authentication)s?\b|\blogin attempts?\b|\bauthentication failures?\b/i, category: 'brute-force', weight: 2 },
  { pattern: /\bd?dos\b|\bdenial[- ]of[- ]service\b|\b(?:syn|udp|http) flood(?:ing)?\b|\bamplification attack\b|\bflood(?:ing|ed) (?:our|my|the)\b/i, category: 'ddos', weight: 3 },
  { pattern: /\bGbps\b|\bMpps\b|\bpackets per second\b|\bbandwidth\b/i, category: 'ddos', weight: 1 },
  { pattern: /\bcopyright(?:ed)?\b|\bDMCA\b|\b512\(c\)|\binfring(?:ing|es|ement)\b|\bpirat(?:ed|ing|es)\b|\btorrent\b/i, category: 'copyright', weight: 3 },
  { pattern: /\btrademark\b|\bunauthori[sz]ed (?:copy|copies|distribution)\b|\bintellectual property\b/i, category: 'copyright', weight: 1 },
  { pattern: /\bharass(?:ment|ing)\b|\bdefamat\w*\b|\bthreat(?:s|ening)\b|\bhate speech\b|\bdoxx?ing\b/i, category: 'other', weight: 3 },
];

export interface CategoryScore {
  readonly category: ComplaintCategory;
  readonly score: number;
}

export interface Classification {
  readonly eventClass: EventClass | 'other/undetermined';
  readonly category: ComplaintCategory | undefined;
  readonly confidence: number;
  readonly scores: Readonly<Partial<Record<ComplaintCategory, number>>>;
}

/** Score text by the keyword table, plus evidence from recognised log lines (category → line count). */
export function classifyComplaint(
  text: string,
  logEvidence: Readonly<Partial<Record<ComplaintCategory, { lines: number; weight: number }>>> = {},
): Classification {
  const scores: Partial<Record<ComplaintCategory, number>> = {};
  for (const rule of keywordWeights) {
    if (rule.pattern.test(text)) scores[rule.category] = (scores[rule.category] ?? 0) + rule.weight;
  }
  for (const [category, evidence] of Object.entries(logEvidence) as Array<
    [ComplaintCategory, { lines: number; weight: number }]
  >) {
    scores[category] = (scores[category] ?? 0) + Math.min(evidence.lines, LOG_LINE_CAP) * evidence.weight;
  }
  return decide(scores);
}

export function decide(scores: Partial<Record<ComplaintCategory, number>>): Classification {
  const ranked = (Object.entries(scores) as Array<[ComplaintCategory, number]>)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = ranked.reduce((sum, [, s]) => sum + s, 0);
  const [best] = ranked;
  const rounded = Object.fromEntries(ranked.map(([c, s]) => [c, Math.round(s * 100) / 100]));
  if (!best) return { eventClass: 'other/undetermined', category: undefined, confidence: 0, scores: rounded };
  const confidence = Math.round((best[1] / (total + 1)) * 100) / 100;
  if (best[1] < MIN_SCORE || confidence < MIN_CONFIDENCE)
    return { eventClass: 'other/undetermined', category: undefined, confidence, scores: rounded };
  return { eventClass: categoryClass[best[0]], category: best[0], confidence, scores: rounded };
}
