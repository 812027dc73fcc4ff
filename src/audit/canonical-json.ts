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
      // Built by appending to one string (no array of parts per object or array): the audit chain hashes
      // several entries per event, and this walk was most of the hashing's time.
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('canonicalJson: only plain objects, arrays and JSON scalars can be serialised');
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (i > 0) out += ',';
        out += `${JSON.stringify(key)}:${canonicalJson(record[key])}`;
      }
      return `${out}}`;
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
