import { type FlowRecord, readUint } from '../flow-record.js';

/**
 * Templates shared by the NetFlow v9 and IPFIX decoders (both describe records by (type, length) lists;
 * IPFIX adds enterprise numbers and variable-length fields). A template is compiled once, when it
 * arrives, into the positions of the few fields the detectors read, so decoding a record is a handful of
 * DataView reads at known offsets rather than a walk that builds an object per field.
 *
 * Templates are kept per exporter address and observation domain (v9 source id), as RFC 3954 §5.1 and
 * RFC 7011 §8 require: two exporters may use the same template id for different layouts. Over UDP an
 * exporter re-sends its templates periodically; one not refreshed within `timeoutMs` expires, and data
 * for it is dropped as `unknown-template` until it comes again.
 */

/** Information element ids (RFC 3954 §8 / IANA IPFIX registry; the same numbers in both). */
export const IE = {
  octets: 1,
  packets: 2,
  protocol: 4,
  tcpFlags: 6,
  srcPort: 7,
  srcV4: 8,
  inputIf: 10,
  dstPort: 11,
  dstV4: 12,
  outputIf: 14,
  lastSwitched: 21,
  outOctets: 23,
  outPackets: 24,
  srcV6: 27,
  dstV6: 28,
  samplingInterval: 34,
  samplerId: 48,
  samplerRandomInterval: 50,
  flowEndSeconds: 151,
  flowEndMilliseconds: 153,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
} as const;

/** A field id no detector reads (also marks enterprise-specific fields, skipped by length). */
export const IE_OTHER = 0xffff;
/** IPFIX variable-length marker (RFC 7011 §7). */
export const VARIABLE = 0xffff;

const SLOT_COUNT = 18;
const S_SRC4 = 0;
const S_DST4 = 1;
const S_SRC6 = 2;
const S_DST6 = 3;
const S_SPORT = 4;
const S_DPORT = 5;
const S_PROTO = 6;
const S_FLAGS = 7;
const S_PKTS = 8;
const S_BYTES = 9;
const S_IN = 10;
const S_OUT = 11;
const S_LAST = 12;
const S_END_S = 13;
const S_END_MS = 14;
const S_SAMPLER = 15;
const S_INTERVAL = 16;
const S_SPACE = 17;

const slotOf = new Map<number, number>([
  [IE.srcV4, S_SRC4],
  [IE.dstV4, S_DST4],
  [IE.srcV6, S_SRC6],
  [IE.dstV6, S_DST6],
  [IE.srcPort, S_SPORT],
  [IE.dstPort, S_DPORT],
  [IE.protocol, S_PROTO],
  [IE.tcpFlags, S_FLAGS],
  [IE.packets, S_PKTS],
  [IE.outPackets, S_PKTS],
  [IE.octets, S_BYTES],
  [IE.outOctets, S_BYTES],
  [IE.inputIf, S_IN],
  [IE.outputIf, S_OUT],
  [IE.lastSwitched, S_LAST],
  [IE.flowEndSeconds, S_END_S],
  [IE.flowEndMilliseconds, S_END_MS],
  [IE.samplerId, S_SAMPLER],
  [IE.samplingInterval, S_INTERVAL],
  [IE.samplerRandomInterval, S_INTERVAL],
  [IE.samplingPacketInterval, S_INTERVAL],
  [IE.samplingPacketSpace, S_SPACE],
]);

export class FlowTemplate {
  /** Per field: its IE id (IE_OTHER for enterprise fields) and length (VARIABLE for variable-length). */
  readonly types: Uint16Array;
  readonly lengths: Uint16Array;
  /** Field index filling each slot, or -1. */
  readonly slotField = new Int16Array(SLOT_COUNT).fill(-1);
  /** Byte offset of each field within the record: fixed at compile time unless the template is variable. */
  readonly offsets: Int32Array;
  /** Actual length of each field in the current record (differs from `lengths` only for variable fields). */
  readonly sizes: Int32Array;
  /** Record length, or -1 when a field is variable-length. */
  readonly fixedLength: number;
  /** Shortest a record can be (a variable field takes at least its 1-byte length prefix). */
  readonly minLength: number;
  refreshedAt: number;

  constructor(
    readonly id: number,
    types: Uint16Array,
    lengths: Uint16Array,
    /** Options template: its records describe the exporter (sampling), not flows. */
    readonly options: boolean,
    now: number,
  ) {
    this.types = types;
    this.lengths = lengths;
    this.refreshedAt = now;
    const n = types.length;
    this.offsets = new Int32Array(n);
    this.sizes = new Int32Array(n);
    let offset = 0;
    let variable = false;
    let min = 0;
    for (let i = 0; i < n; i++) {
      const length = lengths[i]!;
      const slot = slotOf.get(types[i]!);
      // A field counts only at a size it can hold (a 3-byte "address" is not an address).
      if (slot !== undefined && this.slotField[slot] === -1 && fits(slot, length)) this.slotField[slot] = i;
      if (length === VARIABLE) {
        variable = true;
        min += 1;
      } else {
        this.offsets[i] = offset;
        this.sizes[i] = length;
        offset += length;
        min += length;
      }
    }
    this.fixedLength = variable ? -1 : offset;
    this.minLength = min;
  }

  /**
   * For a variable template: lay out the record starting at `base` (offsets relative to it) and return its
   * length, or -1 when a field runs past `end` (a length lie).
   */
  layout(view: DataView, base: number, end: number): number {
    if (this.fixedLength >= 0) return base + this.fixedLength <= end ? this.fixedLength : -1;
    let o = base;
    const n = this.types.length;
    for (let i = 0; i < n; i++) {
      let length = this.lengths[i]!;
      if (length === VARIABLE) {
        if (o + 1 > end) return -1;
        length = view.getUint8(o);
        o += 1;
        if (length === 255) {
          if (o + 2 > end) return -1;
          length = view.getUint16(o);
          o += 2;
        }
      }
      this.offsets[i] = o - base;
      this.sizes[i] = length;
      o += length;
      if (o > end) return -1;
    }
    return o - base;
  }

  has(slot: number): boolean {
    return this.slotField[slot]! >= 0;
  }

  private read(view: DataView, base: number, slot: number): number {
    const f = this.slotField[slot]!;
    const size = this.sizes[f]!;
    return size === 0 ? 0 : readUint(view, base + this.offsets[f]!, size);
  }

  /**
   * Fill `r` from the record at `base` (after `layout`). `exportMs`/`uptimeMs` place v9 sysUptime times;
   * `rate` is the sampling rate in force for this exporter unless the record names its sampler.
   * Returns false when the record carries no source address (nothing a detector can use).
   */
  fill(
    view: DataView,
    base: number,
    r: FlowRecord,
    exportMs: number,
    uptimeMs: number,
    rate: number,
    samplerRate: (id: number) => number,
  ): boolean {
    const sf = this.slotField;
    if (sf[S_SRC4]! >= 0 && this.sizes[sf[S_SRC4]!] === 4) {
      r.family = 4;
      r.srcV4 = view.getUint32(base + this.offsets[sf[S_SRC4]!]!);
      r.dstV4 =
        sf[S_DST4]! >= 0 && this.sizes[sf[S_DST4]!] === 4
          ? view.getUint32(base + this.offsets[sf[S_DST4]!]!)
          : 0;
    } else if (sf[S_SRC6]! >= 0 && this.sizes[sf[S_SRC6]!] === 16) {
      r.family = 6;
      const s = base + this.offsets[sf[S_SRC6]!]!;
      for (let i = 0; i < 4; i++) r.src6[i] = view.getUint32(s + 4 * i);
      if (sf[S_DST6]! >= 0 && this.sizes[sf[S_DST6]!] === 16) {
        const d = base + this.offsets[sf[S_DST6]!]!;
        for (let i = 0; i < 4; i++) r.dst6[i] = view.getUint32(d + 4 * i);
      } else r.dst6.fill(0);
    } else return false;
    r.srcPort = sf[S_SPORT]! >= 0 ? this.read(view, base, S_SPORT) & 0xffff : 0;
    r.dstPort = sf[S_DPORT]! >= 0 ? this.read(view, base, S_DPORT) & 0xffff : 0;
    r.protocol = sf[S_PROTO]! >= 0 ? this.read(view, base, S_PROTO) & 0xff : 0;
    r.tcpFlags = sf[S_FLAGS]! >= 0 ? this.read(view, base, S_FLAGS) & 0xff : 0;
    r.inputIf = sf[S_IN]! >= 0 ? this.read(view, base, S_IN) : 0;
    r.outputIf = sf[S_OUT]! >= 0 ? this.read(view, base, S_OUT) : 0;
    let applied = rate;
    if (sf[S_SAMPLER]! >= 0) {
      const named = samplerRate(this.read(view, base, S_SAMPLER));
      if (named > 0) applied = named;
    } else if (sf[S_INTERVAL]! >= 0) {
      const own = this.read(view, base, S_INTERVAL);
      if (own > 1) applied = own;
    }
    r.samplingRate = applied;
    r.packets = (sf[S_PKTS]! >= 0 ? this.read(view, base, S_PKTS) : 1) * applied;
    r.bytes = (sf[S_BYTES]! >= 0 ? this.read(view, base, S_BYTES) : 0) * applied;
    if (sf[S_END_MS]! >= 0) r.endMs = this.read(view, base, S_END_MS);
    else if (sf[S_END_S]! >= 0) r.endMs = this.read(view, base, S_END_S) * 1000;
    else if (sf[S_LAST]! >= 0 && uptimeMs >= 0)
      r.endMs = exportMs - ((uptimeMs - this.read(view, base, S_LAST)) >>> 0);
    else r.endMs = exportMs;
    return true;
  }

  /**
   * An options record's sampling: `[samplerId, rate]` written into `out` (samplerId -1 when the record
   * names none); false when it carries no sampling rate.
   */
  samplingOf(view: DataView, base: number, out: Float64Array): boolean {
    if (!this.has(S_INTERVAL)) return false;
    let rate = this.read(view, base, S_INTERVAL);
    // IPFIX's interval/space pair: `interval` packets selected, then `space` skipped.
    if (this.types[this.slotField[S_INTERVAL]!] === IE.samplingPacketInterval && this.has(S_SPACE)) {
      const selected = rate;
      rate = selected > 0 ? (selected + this.read(view, base, S_SPACE)) / selected : 0;
    }
    if (!(rate >= 1)) return false;
    out[0] = this.has(S_SAMPLER) ? this.read(view, base, S_SAMPLER) : -1;
    out[1] = rate;
    return true;
  }
}

function fits(slot: number, length: number): boolean {
  switch (slot) {
    case S_SRC4:
    case S_DST4:
      return length === 4;
    case S_SRC6:
    case S_DST6:
      return length === 16;
    default:
      return length >= 1 && length <= 8;
  }
}

/** Templates and sampling state of one (exporter, observation domain). */
export class TemplateDomain {
  readonly templates = new Map<number, FlowTemplate>();
  /** Sampler id → rate, from options data; `-1` holds the exporter-wide rate. */
  readonly samplers = new Map<number, number>();
  defaultRate = 1;
  readonly samplerRate = (id: number): number => this.samplers.get(id) ?? 0;

  get(id: number, now: number, timeoutMs: number): FlowTemplate | undefined {
    const t = this.templates.get(id);
    if (t === undefined) return undefined;
    if (now - t.refreshedAt > timeoutMs) {
      this.templates.delete(id);
      return undefined;
    }
    return t;
  }

  /** A template re-sent unchanged only refreshes its time; a changed one replaces it. */
  learn(id: number, types: Uint16Array, lengths: Uint16Array, options: boolean, now: number): void {
    const old = this.templates.get(id);
    if (old && old.options === options && sameArrays(old.types, types) && sameArrays(old.lengths, lengths)) {
      old.refreshedAt = now;
      return;
    }
    this.templates.set(id, new FlowTemplate(id, types, lengths, options, now));
  }

  applySampling(samplerId: number, rate: number): void {
    if (samplerId < 0) this.defaultRate = rate;
    else this.samplers.set(samplerId, rate);
  }
}

function sameArrays(a: Uint16Array, b: Uint16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Template domains per exporter address and source id, bounded so a flood of spoofed exporters cannot exhaust memory. */
export class TemplateCache {
  private readonly exporters = new Map<string, Map<number, TemplateDomain>>();
  private domainCount = 0;

  constructor(
    readonly timeoutMs: number,
    private readonly maxDomains = 4096,
  ) {}

  domain(exporter: string, sourceId: number): TemplateDomain {
    let byId = this.exporters.get(exporter);
    if (byId === undefined) {
      byId = new Map();
      this.exporters.set(exporter, byId);
    }
    let d = byId.get(sourceId);
    if (d === undefined) {
      if (this.domainCount >= this.maxDomains) {
        this.exporters.clear();
        this.domainCount = 0;
        byId = new Map();
        this.exporters.set(exporter, byId);
      }
      d = new TemplateDomain();
      byId.set(sourceId, d);
      this.domainCount++;
    }
    return d;
  }

  get size(): number {
    return this.domainCount;
  }
}
