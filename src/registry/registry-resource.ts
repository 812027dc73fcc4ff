import { AupError } from '../errors.js';
import { labelCount, normalizeDomain } from './domain-name.js';
import { formatPrefix, type IpPrefix, parseIpAddress, parsePrefix } from './ip-address.js';

/**
 * What an assignment holds, parsed from its text: a prefix (`192.0.2.0/24`, a bare address meaning /32
 * or /128, IPv4-mapped IPv6 folded to IPv4) or a registered domain (at least two labels, normalised).
 */
export type RegistryResource =
  | { readonly kind: 'prefix'; readonly prefix: IpPrefix; readonly text: string }
  | { readonly kind: 'domain'; readonly text: string };

export function parseResource(input: string): RegistryResource {
  const text = input.trim();
  if (text === '') throw new AupError('AUP_ERR_INPUT_INVALID', 'the resource is empty');
  if (text.includes('/') || text.includes(':') || parseIpAddress(text)) {
    const prefix = parsePrefix(text);
    return { kind: 'prefix', prefix, text: formatPrefix(prefix) };
  }
  if (/^[0-9.]+$/.test(text)) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `bad prefix "${text}": not a dotted-quad IPv4 address`);
  }
  const name = normalizeDomain(text);
  if (!name)
    throw new AupError('AUP_ERR_INPUT_INVALID', `"${text}" is neither a prefix nor a valid domain name`);
  if (labelCount(name) < 2) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `"${text}" is a single label; a registered domain has at least two`,
    );
  }
  return { kind: 'domain', text: name };
}
