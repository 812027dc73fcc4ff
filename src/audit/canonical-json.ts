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

/**
 * `canonicalJson(toJsonValue(value))` in one walk: the canonical JSON of what `value` becomes once stored as
 * JSON, without building that copy (a `JSON.stringify` and a `JSON.parse` per value) first. The pipeline
 * hashes an event's fingerprint and several audit payloads per event, and the copies were a tenth of its
 * allocations. It follows `JSON.stringify`'s rules (a `toJSON` method is called with the member's key,
 * `undefined`, functions and symbols are left out of objects and are null in arrays, non-finite numbers are
 * null); for what those rules make rare (a boxed primitive, a bigint, a structure too deep or cyclic) it
 * takes the two steps, so the result and the errors are always theirs.
 */
export function canonicalJsonOf(value: unknown): string {
  try {
    const text = jsonFormOf(value, '', 0);
    if (text !== undefined) return text;
  } catch (error) {
    if (error !== UNUSUAL) throw error;
  }
  return canonicalJson(toJsonValue(value));
}

/** Thrown by `jsonFormOf` where the two-step path decides (it is never seen outside this module). */
const UNUSUAL: unique symbol = Symbol('unusual JSON form');

/** Deeper than this, the two-step path decides (and names a cycle). */
const MAX_DEPTH = 200;

function jsonFormOf(input: unknown, key: string, depth: number): string | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = toJSON.call(value, key);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object': {
      if (value === null) return 'null';
      if (
        depth >= MAX_DEPTH ||
        value instanceof Number ||
        value instanceof String ||
        value instanceof Boolean
      )
        throw UNUSUAL;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += jsonFormOf(value[i], String(i), depth + 1) ?? 'null';
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const member = jsonFormOf(record[k], k, depth + 1);
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${member}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      // A bigint (JSON.stringify refuses it, with its own message).
      throw UNUSUAL;
  }
}
