/**
 * The canonical serialisation the audit chain hashes: JSON with no insignificant whitespace, object
 * members sorted by key (UTF-16 code units, JavaScript's default string order), arrays in order, strings
 * and numbers exactly as `JSON.stringify` writes them (ECMAScript shortest round-trip numbers). For the
 * JSON values we store this is RFC 8785 (JSON Canonicalization Scheme).
 *
 * The input must already be plain JSON (see `toJsonValue`): anything else is refused rather than guessed,
 * because a serialisation that silently changes a value would make a verified chain mean less.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('canonicalJson: only plain objects, arrays and JSON scalars can be serialised');
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
  }
}

/**
 * What a value becomes once stored as JSON and read back: dates become ISO strings, `undefined` members
 * vanish, non-finite numbers become null. Hashing this (not the caller's object) is what lets the hash be
 * recomputed from the stored row.
 */
export function toJsonValue(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('toJsonValue: the value has no JSON form');
  return JSON.parse(text);
}
