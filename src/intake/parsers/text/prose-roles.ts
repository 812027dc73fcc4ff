/**
 * The role a complaint's prose gives each address it names, from the words around it — a table of cues, tried
 * in order, the first that fits deciding:
 *
 * - `impersonated`: the brand a phishing page pretends to be ("pretending to be examplebank.example", "our
 *   official site is …"): never a source;
 * - `own`: the reporter's own hosts ("our server at 192.0.2.10", "unseren Webserver …", "nuestro servidor …"):
 *   targets, never a source;
 * - `target`: what was attacked ("against 192.0.2.60", "targeting …", "… is being attacked");
 * - `source`: what did it ("from 198.51.100.7", "your customer at …", "hosted on …", "… is scanning us",
 *   "desde …", "von …");
 * - `unknown`: nothing says. The parser decides what to do with those (one address in a complaint is its
 *   subject; several without a word about them go to an analyst).
 *
 * A cue before the address must end right at it (a few filler words at most); a cue after it must start right
 * after it. An address joined to the previous one by "and", ",", "through", "(" or a line break shares its role
 * ("from 203.0.113.201 and 203.0.113.202"; "our mail server mail.example (192.0.2.25)").
 */
export type ProseRole = 'source' | 'target' | 'own' | 'impersonated' | 'unknown';

interface Cue {
  readonly role: Exclude<ProseRole, 'unknown'>;
  readonly before?: RegExp;
  readonly after?: RegExp;
}

const OWN_NOUNS = String.raw`(?:\/\d{1,3}|apis?|services?|apps?|applications?|portals?|platforms?|stores?|webshops?|forums?|blogs?|game ?servers?|name ?servers?|dns|infrastructure|backends?|endpoints?|gateways?|vpn|clusters?|tienda|servicio|Dienst|servers?|hosts?|ips?|ip addresses|addresses|address|networks?|net|range|subnet|prefix|machines?|sites?|websites?|web ?servers?|webserver|mail ?servers?|mx|honeypots?|firewall|router|office\w*|bastion(?: host)?|box|vps|shop|domain|mailbox|inbox|Server|Netz|Netzwerk|Webserver|Mailserver|Rechner|Seite|Webseite|servidor(?:es)?|red|sitio|equipo|dominio|web)`;
/** A filler word between a cue and what it is about: not a pronoun of someone else, not a preposition of source. */
const FILLER = String.raw`(?!(?:your|their|his|her|ihr\w*|su|sus|from|by|von|desde|at|on)\b)[\w'-]+\s+`;
const ARTICLE = String.raw`(?:(?:the|der|die|den|dem|el|la|los|las)\s+)?`;
const NOUN_AFTER = String.raw`(?:(?:ip(?:v[46])?(?:[- ]address)?|host|address|server|IP-Adresse|dirección(?: IP)?|servidor|IP|Adresse)\s+)?`;

// biome-ignore format: one cue per line reads as a table
export const proseCues: readonly Cue[] = [
  // The brand a phishing page imitates, or the genuine site named beside the fake one.
  { role: 'impersonated', before: /\b(?:impersonat\w*|pretend\w* to be|posing as|spoof\w*|imitat\w*|mimic\w*|suplant\w*)\b[^:\n]{0,40}$/i },
  { role: 'impersonated', before: new RegExp(String.raw`\b(?:legitimate|genuine|official|oficial|offiziell\w*|echte\w*|real|verdader[oa]|auténtic[oa])\s+(?:${FILLER}){0,3}(?:(?:is|are|ist|es|sind|son)\s+)?:?\s*$`, 'i') },
  { role: 'impersonated', before: /\bweb oficial es\s*$/i },
  { role: 'impersonated', before: /\b(?:claim(?:s|ed|ing)? to (?:be|come) from|purport\w* to (?:be|come) from|supposedly from|allegedly from|as if (?:it (?:was|were|came) )?from|in the name of|disguised as|branded as|looks? like (?:it (?:is|was|came) )?from|im Namen (?:von|der|des)|angeblich (?:von|vom)|en nombre de|supuestamente de)\s+(?:the\s+|der\s+|la\s+|el\s+)?(?:[\w&'-]+\s+){0,3}\(?\s*$/i },
  // The reporter's own hosts.
  { role: 'own', before: new RegExp(String.raw`\b(?:our|my|unser\w*|mein\w*|nuestr[oa]s?|mis?)\s+(?:own\s+)?(?:${FILLER}){0,3}?${OWN_NOUNS}\b[^.!?:]{0,25}$`, 'i') },
  { role: 'own', before: /\b(?:we are|we run|we operate|we host|we have|we own|I run|I operate|I host|I own|I manage|we manage|(?:I'm|I am|we are) the (?:admin|administrator|owner|operator)s? of|my (?:ip|address) is|our (?:ip|address) is)\s+[^.!?]{0,20}$/i },
  { role: 'own', before: /\b(?:us|me|uns|mich|nos|nosotros)\s*\(\s*$/i },
  { role: 'own', after: /^\s*\(\s*(?:our|my|unser\w*|mein\w*|nuestr[oa]s?|mis?)\b/i },
  // Where the bad content lives, what a phishing domain resolves to.
  { role: 'source', before: /\bhosted (?:by|with|at) (?:you|your (?:company|network|service|servers?))\s*[,:(]?\s*$/i },
  { role: 'source', after: /^\s*\(\s*(?:hosted|gehostet|alojad[oa]|on your|auf Ihre|en su)\b/i },
  { role: 'source', before: /\b(?:hosted (?:at|on|by|with)|gehostet (?:auf|bei)|alojad[oa] en|resolves to|resolving to|points to|redirect\w* to|link(?:s|ed|ing)? to|leads? to|goes to|located at|live at|lives at|sits at|served from|is at)\s*:?\s*$/i },
  { role: 'source', before: /\b(?:advertis\w*|promot\w*|spamvertis\w*|beworben\w*|anuncia\w*)\s+(?:the\s+)?(?:(?:site|domain|url|website)\s+)?$/i },
  // What was attacked.
  { role: 'target', before: new RegExp(String.raw`\b(?:against|targeting|targeted|target(?:ed)?|victim(?:'s)?|to|towards|destination|dst|gegen|Ziel\w*|contra|hacia|destino|víctima|attack(?:s|ed|ing)? (?:on|at)|flood(?:s|ed|ing)? (?:on|at)|aimed at)\s*:?\s*(?:(?:was|is|were|are|war|ist|fue|es)\s+)?${ARTICLE}${NOUN_AFTER}$`, 'i') },
  // Who did it.
  { role: 'source', before: new RegExp(String.raw`\b(?:from|by|source|src|attacker(?:'s)?|attacking (?:ip|host|address)|offending|originating|origin|sender|spammer|scanner|von|vom|aus|Quelle|Angreifer|Absender|desde|origen|atacante|remitente|your (?:customer|client|server|host|ip|user|network|subscriber|machine|range)s?(?: at| on| with(?: the)? ip(?: address)?)?|one of your customers (?:at|on)|(?:in|on|from) your (?:network|range|net|AS|block|cloud)|ihr(?:e[mnrs]?)? (?:Kunde|Server|Host|Rechner|Netz)\w*(?: mit der IP(?:-Adresse)?)?|su (?:cliente|servidor|red)(?: con (?:la )?(?:IP|dirección IP))?|(?:someone|somebody|a user|user|customer|client|host|machine|attacker|jemand|alguien) (?:at|on|from|with(?: the)? ip))\s*[:(]?\s*${ARTICLE}${NOUN_AFTER}$`, 'i') },
  { role: 'source', before: /\b(?:relay|resolver|proxy|kit|trojan|malware|page|site|panel|server|memcached|ntp|ssdp|snmp|service|daemon|instance)\s+(?:at|on|auf|en|bei)\s*$/i },
  // After the address: what happened to it, or what it did.
  { role: 'target', after: /^\s*(?:\)|:\d+)?\s*(?:is|are|was|were|wird|werden|está|están)\s+(?:being\s+|getting\s+|constantly\s+|siendo\s+)?(?:attacked|targeted|hit\b|flooded|scanned|under attack|the (?:target|victim)|angegriffen|atacad[oa]s?)/i },
  { role: 'source', after: /^\s*(?:\)|\]|:\d{1,5})?\s*(?:\([^)]{0,40}\)\s*)?,?\s*(?:(?:is|are|was|were|has|have|had|keeps?|kept|continues? to|started|seems to|appears to|still|now|all(?: \w+)?|both|each|they|which|who|that)\s+)*(?:been\s+|still\s+|constantly\s+|actively\s+)*(?:attack|scan|prob|send|sent|spam|host|distribut|serv(?:es|ing)|brute|flood|hit|hammer|tr(?:y|ies|ying)|connect|abus|run|an? (?:open|active|compromised|infected|botnet|c2|phishing|scam|fraud\w*|fake|malicious|spam\w*)|open|compromised|infected|imitat|impersonat|pretend|redirect|deliver|infect|beacon|shar|post|publish|upload|distribuye|aloja|envía|ataca|escanea|greift|scannt|sendet|verteilt|hostet|läuft|versendet|publica)/i },
];

/** Words that join an address to the previous one, so it shares that one's role. */
const JOINER =
  /^[\s,;/&(-]*(?:and|or|und|oder|y|e|o|through|thru|bis|hasta|as well as|sowie|also|plus)?[\s,;/&()-]*$/i;
/** After a source, "on"/"at" names where it lives ("hxxps://kit.example on 198.51.100.77"): a source too. */
const HOSTING_JOINER = /^[\s,;(-]*(?:on|at|auf|en|hosted (?:on|at)|gehostet auf|alojad[oa] en)[\s,;()-]*$/i;

export interface RoleContext {
  /** Index where the previous address ended, and its role. */
  readonly previous?: { readonly end: number; readonly role: ProseRole } | undefined;
}

/** Whether the words between two addresses join them ("A, B and C"), so they share a role. */
export function joined(text: string, previousEnd: number, start: number): boolean {
  if (start - previousEnd > 40) return false;
  const between = text.slice(previousEnd, start);
  return JOINER.test(between) && !/\n\s*\n/.test(between);
}

/** The role the words around `text[start, end)` give it. */
export function proseRole(text: string, start: number, end: number, context: RoleContext = {}): ProseRole {
  const prev = context.previous;
  if (prev && prev.role !== 'unknown' && start - prev.end <= 40) {
    const between = text.slice(prev.end, start);
    const joined =
      prev.role === 'source' ? HOSTING_JOINER.test(between) || JOINER.test(between) : JOINER.test(between);
    if (joined && !/\n\s*\n/.test(between)) return prev.role;
  }
  // A cue speaks of the nearest address after it: the window stops at the previous address.
  let before = sentenceBefore(text, start);
  if (prev && prev.end > start - before.length) before = text.slice(prev.end, start);
  const after = sentenceAfter(text, end);
  for (const cue of proseCues) {
    if (cue.before?.test(before)) return cue.role;
    if (cue.after?.test(after)) return cue.role;
  }
  return 'unknown';
}

/** Up to 100 characters before `index`, from the start of its sentence (a paragraph break or `. `). */
function sentenceBefore(text: string, index: number): string {
  const window = text.slice(Math.max(0, index - 100), index);
  const cut = Math.max(window.lastIndexOf('\n\n'), lastSentenceEnd(window));
  return cut >= 0 ? window.slice(cut) : window;
}

function lastSentenceEnd(window: string): number {
  let last = -1;
  for (const m of window.matchAll(/[.!?](?=\s)/g)) last = m.index + 1;
  return last;
}

function sentenceAfter(text: string, index: number): string {
  const window = text.slice(index, index + 80);
  const m = /[.!?](?:\s|$)|\n\s*\n/.exec(window);
  return m ? window.slice(0, m.index) : window;
}
