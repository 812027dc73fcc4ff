/**
 * Whether a reporter declined to be identified. A policy that refuses anonymous complaints (terms
 * `complaints.anonymous: reject`) refuses these, even when the mail carried a From: address: an address
 * such as `anonymous@…` or `noreply@…` that nobody answers, with no name to it, identifies nobody; and a person
 * who writes "I'd rather stay anonymous" has told us not to treat them as identified.
 */

// biome-ignore format: one cue per line reads as a table
const DECLINES: readonly RegExp[] = [
  /\b(?:I(?:'d| would)? (?:rather|prefer to|want to|wish to|like to) (?:stay|remain|be) anonymous|I (?:will|won't|will not|do not|don't|can't|cannot) (?:give|share|provide|tell you|disclose) my (?:real )?name|(?:no|without) names?,? please|anonymous (?:report|complaint|tip)|reporting anonymously|I am anonymous)\b/i,
  /\b(?:ich (?:möchte|will|werde) (?:lieber )?(?:anonym bleiben|meinen Namen nicht (?:nennen|angeben))|Meinen Namen (?:möchte|will|werde) ich nicht (?:nennen|angeben)|ohne (?:meinen )?Namen|anonyme (?:Meldung|Beschwerde|Anzeige))\b/i,
  /(?:prefiero (?:permanecer|quedar(?:me)?|seguir) (?:en el )?anónim[oa]|no (?:voy a dar|daré|quiero dar|deseo dar|quiero (?:decir|revelar)) mi nombre|sin (?:dar )?(?:mi )?nombre|denuncia anónima|de forma anónima)/i,
];

export function declinesIdentity(text: string): boolean {
  return DECLINES.some((pattern) => pattern.test(text));
}

/** Local parts of addresses nobody reads or that say they are nobody. */
const ANONYMOUS_LOCAL =
  /^(?:anon|anonym|anonymous|anonimo|anónimo|no-?reply|no-?response|do-?not-?reply|donotreply|nobody|noname|no-?name|unknown|nomail|null|void|throwaway|fake)(?:[+._-]\w*)?$/i;

export function isAnonymousMailbox(address: string | undefined): boolean {
  if (!address) return false;
  const at = address.lastIndexOf('@');
  return at > 0 && ANONYMOUS_LOCAL.test(address.slice(0, at));
}

export function isAnonymousName(name: string | undefined): boolean {
  return (
    name === undefined ||
    /^\s*(?:anon\w*|anónim[oa]|unknown|unbekannt|desconocid[oa]|n\/a|none|no name|nobody|-)\s*$/i.test(name)
  );
}
