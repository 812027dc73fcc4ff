import type { EventClass } from '../../../taxonomy/taxonomy.js';

/**
 * What a human complaint is about, by weighted cue words (English, German, Spanish) and log-line evidence — a
 * table, not a model, so an analyst can read why a complaint was filed where it was and change a weight.
 *
 * Scoring: every rule that matches adds its weight once (repeating "spam" ten times does not make it ten times
 * more spam); every recognised log line adds its recogniser's weight, capped at 10 lines per category (a
 * thousand sshd lines are no more brute force than ten); pasted blocks (dig output, an SMTP transcript that
 * relayed) add theirs. The best category is always the guess; its confidence is
 *
 *     share × strength,  share = best / (best + 0.6·(sum of the others) + 0.5),  strength = min(1, best / 3)
 *
 * so one clear phrase ("open mail relay", "phishing", "brute force attack") is sure, a lone weak word ("we got
 * spam") or two categories in a tie are not. Below `TRIAGE_CONFIDENCE` (0.6) the desk sends the event to an
 * analyst with this guess shown (`extra.triage_reason: 'low-confidence'`); with no cue at all the class is
 * `other/undetermined`, confidence 0.
 */

export const complaintCategories = [
  'spam',
  'phishing',
  'malware',
  'c2',
  'scanning',
  'brute-force',
  'exploit',
  'ddos',
  'open-relay',
  'open-resolver',
  'open-proxy',
  'amplifier',
  'copyright',
  'harassment',
  'csam',
  'legal-request',
] as const;
export type ComplaintCategory = (typeof complaintCategories)[number];

export const categoryClass: Record<ComplaintCategory, EventClass> = {
  spam: 'abusive-content/spam',
  phishing: 'fraud/phishing',
  malware: 'malicious-code/malware-distribution',
  c2: 'malicious-code/c2-server',
  scanning: 'information-gathering/scanner',
  'brute-force': 'intrusion-attempts/brute-force',
  exploit: 'intrusion-attempts/exploit',
  ddos: 'availability/ddos',
  'open-relay': 'vulnerable/vulnerable-system',
  'open-resolver': 'vulnerable/vulnerable-system',
  'open-proxy': 'vulnerable/vulnerable-system',
  amplifier: 'vulnerable/ddos-amplifier',
  copyright: 'fraud/copyright',
  harassment: 'abusive-content/harmful-speech',
  // RSIT files child sexual exploitation material under abusive-content/violence: the strictest clauses.
  csam: 'abusive-content/violence',
  // Not abuse: a request for information. Labelled (`extra.request_kind`) so the legal workflow takes it.
  'legal-request': 'other/other',
};

/** `classification.identifier` for categories that share a class (as the Shadowserver table names them). */
export const categoryIdentifier: Partial<Record<ComplaintCategory, string>> = {
  'open-relay': 'open-mail-relay',
  'open-resolver': 'openresolver',
  'open-proxy': 'open-proxy',
  csam: 'csam',
};

export const TRIAGE_CONFIDENCE = 0.6;
const LOG_LINE_CAP = 10;

type Rule = { readonly pattern: RegExp; readonly category: ComplaintCategory; readonly weight: number };

// biome-ignore format: one rule per line reads as a table
export const keywordWeights: readonly Rule[] = [
  { pattern: /\bspam(?:med|ming|s|mer|mers)?\b|\bspam-?\w*/i, category: 'spam', weight: 3 },
  { pattern: /\bunsolicited (?:commercial |bulk )?(?:e-?mails?|mails?|messages?|bulk|advertis\w*)|\bUBE\b|\bUCE\b|\bbulk e-?mails?\b|\bspam ?traps?\b|\bspamvertis\w*/i, category: 'spam', weight: 3 },
  { pattern: /\bmass[- ]?mail\w*|\bbulk[- ]?mail\w*|\bnever opted[- ]in\b|\bwithout (?:our |my )?(?:consent|permission|opt-?in)\b|\bMassen-?(?:mail|versand)\w*|\benvío masivo\b/i, category: 'spam', weight: 3 },
  { pattern: /\bjunk (?:e-?)?mail\b|\bnever signed up\b|\bunsubscrib\w*|\bmailing list\b|\bnewsletter\b|\bopt[- ]?in\b/i, category: 'spam', weight: 1 },
  { pattern: /unerwünschte\w* (?:E-?Mails?|Mails?|Werbung|Nachrichten)|\bWerbe-?(?:E-)?Mails?\b|\bMassen-?(?:E-)?Mails?\b/i, category: 'spam', weight: 3 },
  { pattern: /\bcorreos? (?:basura|no deseados?|masivos?|no solicitados?)\b|\bpublicidad no solicitada\b/i, category: 'spam', weight: 3 },
  { pattern: /\bphish\w*/i, category: 'phishing', weight: 4 },
  { pattern: /\b(?:fake|fraudulent|spoofed|cloned|bogus|counterfeit) (?:bank(?:ing)? |paypal )?(?:login|log-in|sign-?in|bank|banking|website|web ?site|page|site|portal)\b|\bcredential (?:harvest\w*|theft|steal\w*)|\b(?:harvest|collect|steal)\w* (?:\w+'?s? ){0,2}(?:credentials|passwords|log-?ins)\b/i, category: 'phishing', weight: 3 },
  { pattern: /\bsteal\w* (?:\w+ ){0,2}(?:credit card|card|bank|banking|login|account|payment)s? (?:numbers|details|data|credentials|information)\b|\bscam(?:s|mer|mers|ming)?\b|\bfake (?:shop|store|webshop)\b|\bBetrug\w*|\bFake-?Shop\b|\bestafa\w*/i, category: 'phishing', weight: 3 },
  { pattern: /\bimitat\w*|\bimpersonat\w*|\bpretend\w* to be\b|\bposing as\b/i, category: 'phishing', weight: 2 },
  { pattern: /\bverify your (?:account|identity)\b|\baccount (?:has been )?(?:suspended|locked|limited)\b/i, category: 'phishing', weight: 1 },
  { pattern: /gefälschte\w* (?:Login|Anmelde|Bank)\w*|\bgibt sich als\b|\bsich als \S+ ausgibt\b|\bZugangsdaten ab\w*/i, category: 'phishing', weight: 3 },
  { pattern: /\bsuplant\w*|\bpágina falsa\b|\bsitio falso\b|\bweb falsa\b|\brobo de credenciales\b/i, category: 'phishing', weight: 3 },
  { pattern: /\bmalware\b|\btrojan\w*|\bransomware\b|\bvirus(?:es)?\b|\bworm\b|\bspyware\b|\bkeylogger\b|\bdropper\b|\binfostealer\b|\bstealer\b/i, category: 'malware', weight: 2 },
  { pattern: /\b(?:distribut|serv|host|spread|deliver)\w* (?:the |a |an )?(?:malware|trojan|virus|ransomware|malicious)|\bmalicious (?:file|download|executable|binary|payload|document|attachment)s?\b|\bhosting malware\b/i, category: 'malware', weight: 3 },
  { pattern: /\bexploit kits?\b|\bdrive-?by\b|\bmalicious (?:javascript|script|redirect|code|iframe)s?\b|\binjected (?:\w+ )?(?:script|code|javascript|iframe)\b|\bredirects? (?:the )?visitors\b|\bwebshell\b|\bweb shell\b/i, category: 'malware', weight: 4 },
  { pattern: /\battachment\w* (?:\S+ ){0,3}(?:contains?|with|is|has) (?:an? )?(?:\.exe|exe|executable|macro|payload|malware|trojan)|\bmalicious attachments?\b|\.(?:exe|scr|vbs|hta)\b/i, category: 'malware', weight: 3 },
  { pattern: /\bSchadsoftware\b|\bSchadcode\b|\bTrojaner\b|\bverteilt (?:Malware|Schad\w*)/i, category: 'malware', weight: 3 },
  { pattern: /\btroyano\w*|\b(?:programa|software|archivo) malicioso\b|\bdistribuye malware\b/i, category: 'malware', weight: 3 },
  { pattern: /\bcommand[- ](?:and|&)[- ]control\b|\bC2\b|\bC&C\b|\bCnC\b|\bbotnet (?:controller|panel)\b|\bbeacon\w*|\bSteuerserver\b|\bservidor de (?:mando|comando) y control\b/i, category: 'c2', weight: 4 },
  { pattern: /\bbotnet\b/i, category: 'malware', weight: 1 },
  { pattern: /\bport ?scan\w*|\bscann(?:ing|er|ed|t)\b|\bscans\b|\bprob(?:ing|es)\b|\bnmap\b|\bmasscan\b|\bzmap\b|\bsweeps?\b/i, category: 'scanning', weight: 3 },
  { pattern: /\bvulnerability scan\w*|\bconnection attempts\b|\bRDP probes\b/i, category: 'scanning', weight: 2 },
  { pattern: /\bPortscan\w*|\bgescannt\b|\bescane\w*|\bbarrido de puertos\b|\bsondeo\w*/i, category: 'scanning', weight: 3 },
  { pattern: /\bbrute[- ]?forc\w*|\bdictionary attack\b|\bcredential stuffing\b|\bpassword (?:guessing|spraying)\b/i, category: 'brute-force', weight: 3 },
  { pattern: /\bfailed (?:login|password|authentication|log-in|sign-in)s?\b/i, category: 'brute-force', weight: 2 },
  { pattern: /\b(?:attempt\w*|tried|trying|tries) to (?:log ?in|login|sign ?in|authenticate|guess (?:the |our )?passwords?)\b|\b(?:log-?in|login|password|sign-?in) attempts?\b/i, category: 'brute-force', weight: 3 },
  { pattern: /\blog-?in attempts?\b|\bauthentication failures?\b|\bpassword attempts?\b|\bauth(?:entication)? attempts?\b/i, category: 'brute-force', weight: 2 },
  { pattern: /\bBrute-?Force\w*|\bAnmeldeversuch\w*|\bLogin-?Versuch\w*|\bfuerza bruta\b|\bintentos de (?:inicio de sesión|acceso|login)\b/i, category: 'brute-force', weight: 3 },
  { pattern: /\bexploit(?!s? kits?\b)\w*|\bsql[- ]?injection\b|\bsqli\b|\bremote code execution\b|\bRCE\b|\bcommand injection\b|\bpath traversal\b|\bXSS\b|\bcross-site scripting\b|\bhacking attempts?\b|\bintrusion attempts?\b|\blog4shell\b|\bshellshock\b/i, category: 'exploit', weight: 3 },
  { pattern: /\bAngriffsversuch\w*|\bEinbruchsversuch\w*|\bSQL-Injection\b|\binyección SQL\b|\bintentos de intrusión\b|\bexplotaci\w*/i, category: 'exploit', weight: 3 },
  { pattern: /\bdenial[- ]of[- ]service\b|\b(?:syn|udp|http|icmp|ack)[- ]?flood\w*|\bamplification attacks?\b|\bflood(?:ing|ed) (?:our|my|the)\b/i, category: 'ddos', weight: 3 },
  // Case-sensitive: "dos" is Spanish for two.
  { pattern: /\bD?DoS\b|\bD?DOS\b|\bDDoS-?\w*|\bddos\b/, category: 'ddos', weight: 3 },
  { pattern: /\bÜberlastungsangriff\w*|\bdenegación de servicio\b/i, category: 'ddos', weight: 3 },
  { pattern: /\bGbps\b|\bGbit\/s\b|\bMpps\b|\bpackets per second\b|\bbandwidth\b|\bnull-?route\b/i, category: 'ddos', weight: 1 },
  { pattern: /\bopen (?:dns )?resolvers?\b|\bopen recursive\b|\banswers recursive\b|\brecursive (?:queries|resolver|dns)\b|\boffene\w* (?:DNS-?)?Resolver\b|\brekursive Anfragen\b|\bresolver (?:dns )?abierto\b|\bDNS abierto\b/i, category: 'open-resolver', weight: 4 },
  { pattern: /\bopen (?:mail |smtp |e-?mail )?relay\b|\brelay(?:ing|s)? (?:mail )?for (?:any|third[- ]party|anyone)\b|\bwithout authentication\b|\boffene\w* (?:Mail-?|SMTP-?)?Relay\b|\brelay abierto\b|\bretransmisión abierta\b/i, category: 'open-relay', weight: 4 },
  { pattern: /\bused (?:to amplify|for amplification|as (?:an? )?(?:reflector|amplifier))|\breflectors?\b|\breflection attack|\bmemcached\b|\bmonlist\b|\bchargen\b|\bssdp\b|\bcldap\b|\bVerstärk\w*|\breflector\w*|\bamplificador\w*/i, category: 'amplifier', weight: 3 },
  { pattern: /\b(?:is |are )?(?:exposed|reachable|accessible) (?:to|from) the (?:whole )?internet\b|\bpublicly (?:exposed|accessible|reachable)\b/i, category: 'amplifier', weight: 1 },
  { pattern: /\bopen (?:http |https |socks\d? |web )?proxy\b|\boffene\w* Proxy\b|\bproxy abierto\b/i, category: 'open-proxy', weight: 4 },
  { pattern: /\bcopyright\w*|\bDMCA\b|\b512\(c\)|\binfring\w*|\bpirat\w*|\bbit ?torrent\b|\binfohash\b|\bUrheberrecht\w*|\burheberrechtlich\w*|\bderechos de autor\b/i, category: 'copyright', weight: 3 },
  { pattern: /\btorrent\b|\btrademark\b|\bunauthori[sz]ed (?:copy|copies|distribution)\b|\bintellectual property\b|\bpropiedad intelectual\b/i, category: 'copyright', weight: 1 },
  { pattern: /\bharass\w*|\bdefamat\w*|\bthreat(?:s|en\w*)?\b|\bhate speech\b|\bdoxx?\w*|\bstalk\w*|\bbully\w*|\bextortion\b|\bblackmail\w*/i, category: 'harassment', weight: 3 },
  { pattern: /\bBelästigung\w*|\bbedroh\w*|\bDrohung\w*|\bbeleidig\w*|\bHassrede\b|\bVerleumdung\b|\bamenaza\w*|\bacoso\b|\bdifamaci\w*|\bdiscurso de odio\b/i, category: 'harassment', weight: 3 },
  { pattern: /\bchild (?:sexual )?(?:abuse|exploitation) (?:material|imagery|images|content)\b|\bCSAM\b|\bCSEM\b|\bchild porn\w*|\bKinderporn\w*|\bKindesmissbrauch\w*|\bpornografía infantil\b|\babuso sexual infantil\b/i, category: 'csam', weight: 6 },
  { pattern: /\bsubpoena\w*|\bcourt order\b|\bsearch warrant\b|\bpreservation (?:letter|request|order)\b|\bMLAT\b|\blaw enforcement request\b|\bemergency disclosure request\b|\bcustodian of records\b|\bRule 45\b|\bYOU ARE COMMANDED\b/i, category: 'legal-request', weight: 4 },
  { pattern: /\bGerichtsbeschluss\w*|\brichterliche\w* Beschluss\w*|\bAuskunftsersuchen\b|\bStaatsanwaltschaft\b|\borden judicial\b|\brequerimiento judicial\b|\bjuzgado\b|\bmandamiento\b|\bdiligencias previas\b/i, category: 'legal-request', weight: 4 },
  { pattern: /\bsubscriber (?:information|records|data)\b|\bdatos del titular\b|\bBestandsdaten\b/i, category: 'legal-request', weight: 2 },
];

export interface Classification {
  readonly eventClass: EventClass | 'other/undetermined';
  readonly category: ComplaintCategory | undefined;
  readonly confidence: number;
  readonly scores: Readonly<Partial<Record<ComplaintCategory, number>>>;
}

export type CategoryEvidence = Readonly<
  Partial<Record<ComplaintCategory, { lines: number; weight: number }>>
>;

/** Score text by the cue table, plus evidence from recognised log lines and pasted blocks (category → lines). */
export function classifyComplaint(text: string, evidence: CategoryEvidence = {}): Classification {
  const scores: Partial<Record<ComplaintCategory, number>> = {};
  for (const rule of keywordWeights) {
    if (rule.pattern.test(text)) scores[rule.category] = (scores[rule.category] ?? 0) + rule.weight;
  }
  for (const [category, e] of Object.entries(evidence) as Array<
    [ComplaintCategory, { lines: number; weight: number }]
  >) {
    scores[category] = (scores[category] ?? 0) + Math.min(e.lines, LOG_LINE_CAP) * e.weight;
  }
  return decide(scores);
}

export function decide(scores: Partial<Record<ComplaintCategory, number>>): Classification {
  const ranked = (Object.entries(scores) as Array<[ComplaintCategory, number]>)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1]);
  const rounded = Object.fromEntries(ranked.map(([c, s]) => [c, Math.round(s * 100) / 100]));
  const [best] = ranked;
  if (!best) return { eventClass: 'other/undetermined', category: undefined, confidence: 0, scores: rounded };
  const rest = ranked.slice(1).reduce((sum, [, s]) => sum + s, 0);
  const share = best[1] / (best[1] + 0.6 * rest + 0.5);
  const strength = Math.min(1, best[1] / 3);
  const confidence = Math.round(share * strength * 100) / 100;
  return { eventClass: categoryClass[best[0]], category: best[0], confidence, scores: rounded };
}
