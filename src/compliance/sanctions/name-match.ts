/**
 * Fuzzy name matching for sanctions screening, written here (no dependency): Jaro-Winkler over normalised
 * names, taking the best of the names as written, their tokens sorted (so `DOE, John` meets `John Doe`),
 * and a token-by-token alignment (each token of the shorter name against its best partner), so a missing
 * middle name or a transliteration variant costs a little, not everything. Legal-form words (Ltd, LLC,
 * GmbH…) and punctuation are ignored; diacritics are folded.
 */

const LEGAL_FORMS = new Set([
  'ltd',
  'limited',
  'llc',
  'inc',
  'incorporated',
  'corp',
  'corporation',
  'co',
  'company',
  'gmbh',
  'ag',
  'sa',
  'sarl',
  'srl',
  'bv',
  'nv',
  'plc',
  'oy',
  'ab',
  'as',
  'spa',
  'jsc',
  'ooo',
  'pjsc',
  'fze',
  'fzco',
  'the',
]);

export function normaliseName(name: string): string[] {
  return (
    name
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      // Dotted abbreviations are one word: "L.L.C." is "llc", "S.A." is "sa".
      .replace(/\./g, '')
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .split(' ')
      .filter((t) => t !== '' && !LEGAL_FORMS.has(t))
  );
}

export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  if (a.length === 0 || b.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const aMatched = new Array<boolean>(a.length).fill(false);
  const bMatched = new Array<boolean>(b.length).fill(false);
  let matches = 0;
  for (let i = 0; i < a.length; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(b.length - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (bMatched[j] || a[i] !== b[j]) continue;
      aMatched[i] = true;
      bMatched[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!aMatched[i]) continue;
    while (!bMatched[k]) k++;
    if (a[i] !== b[k]) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / a.length + m / b.length + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/** 0..1: how alike two names are. */
export function nameScore(a: string, b: string): number {
  const ta = normaliseName(a);
  const tb = normaliseName(b);
  if (ta.length === 0 || tb.length === 0) return 0;
  const written = jaroWinkler(ta.join(' '), tb.join(' '));
  const sorted = jaroWinkler([...ta].sort().join(' '), [...tb].sort().join(' '));
  const [short, long] = ta.length <= tb.length ? [ta, tb] : [tb, ta];
  // One word alone ("Acme") would meet every longer name containing it: only whole names compare then.
  if (short.length < 2) return Math.max(written, sorted);
  let sum = 0;
  for (const t of short) sum += Math.max(...long.map((u) => jaroWinkler(t, u)));
  // Tokens of the longer name left unmatched (a missing given name) cost a little.
  const aligned = (sum / short.length) * (1 - 0.05 * (long.length - short.length));
  return Math.max(written, sorted, aligned);
}
