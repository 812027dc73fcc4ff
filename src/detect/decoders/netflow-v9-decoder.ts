import { type DecodeReport, FlowRecord, type FlowSink } from '../flow-record.js';
import { IE_OTHER, TemplateCache, type TemplateDomain } from './flow-templates.js';

/**
 * NetFlow v9 (RFC 3954). A 20-byte header, then FlowSets of `id(2) length(2)`:
 *
 *   header:  version(2)=9 count(2) sysUptime(4) unix_secs(4) package_sequence(4) source_id(4)
 *   id 0:    template FlowSet: { template_id(2) field_count(2) { type(2) length(2) }* }*
 *   id 1:    options template FlowSet: { template_id(2) scope_length(2) option_length(2)
 *            { scope type(2) length(2) }* { option type(2) length(2) }* }* (lengths in bytes), padded to 4
 *   ≥ 256:   data FlowSet of that template's records, padded to 4 bytes
 *
 * Templates live per exporter address and source id (flow-templates.ts). Options data sets the sampling
 * rate (SAMPLING_INTERVAL 34 or FLOW_SAMPLER_RANDOM_INTERVAL 50, per FLOW_SAMPLER_ID 48 when named);
 * data records are scaled by the rate of the sampler they name, else the exporter's.
 *
 * Hand-written over a DataView with one reused FlowRecord (no object per record: see flow-record.ts). A
 * FlowSet whose length runs past the datagram, a template with a zero-length field, or data for a template
 * not (or no longer) known is counted and skipped; the rest of the datagram still counts.
 */
const HEADER = 20;

export class NetflowV9Decoder {
  readonly templates: TemplateCache;
  private readonly record = new FlowRecord();
  private readonly sampling = new Float64Array(2);

  constructor(options: { templateTimeoutMs?: number } = {}) {
    this.templates = new TemplateCache(options.templateTimeoutMs ?? 30 * 60_000);
  }

  decode(view: DataView, exporter: string, sink: FlowSink, report: DecodeReport, now = Date.now()): void {
    report.flows = 0;
    report.dropped = null;
    const size = view.byteLength;
    if (size < HEADER) {
      report.dropped = 'truncated';
      return;
    }
    if (view.getUint16(0) !== 9) {
      report.dropped = 'bad-version';
      return;
    }
    const uptime = view.getUint32(4);
    const exportMs = view.getUint32(8) * 1000;
    const domain = this.templates.domain(exporter, view.getUint32(16));
    const r = this.record;
    r.exporter = exporter;
    let o = HEADER;
    while (o + 4 <= size) {
      const id = view.getUint16(o);
      const length = view.getUint16(o + 2);
      if (length < 4 || o + length > size) {
        report.dropped = length < 4 ? 'length-mismatch' : 'truncated';
        return;
      }
      const end = o + length;
      if (id === 0) {
        if (!this.templateSet(view, o + 4, end, domain, now)) report.dropped = 'bad-template';
      } else if (id === 1) {
        if (!this.optionsTemplateSet(view, o + 4, end, domain, now)) report.dropped = 'bad-template';
      } else if (id >= 256) {
        const t = domain.get(id, now, this.templates.timeoutMs);
        if (t === undefined) report.dropped = 'unknown-template';
        else if (t.fixedLength > 0) {
          const n = t.fixedLength;
          for (let p = o + 4; p + n <= end; p += n) {
            if (t.options) {
              if (t.samplingOf(view, p, this.sampling))
                domain.applySampling(this.sampling[0]!, this.sampling[1]!);
            } else if (t.fill(view, p, r, exportMs, uptime, domain.defaultRate, domain.samplerRate)) {
              sink.flow(r);
              report.flows++;
            }
          }
        }
      }
      // ids 2..255 are reserved: skipped by their length.
      o = end;
    }
  }

  private templateSet(view: DataView, o: number, end: number, domain: TemplateDomain, now: number): boolean {
    while (o + 4 <= end) {
      const id = view.getUint16(o);
      const count = view.getUint16(o + 2);
      o += 4;
      if (id < 256 || count === 0 || o + 4 * count > end) return false;
      const types = new Uint16Array(count);
      const lengths = new Uint16Array(count);
      for (let i = 0; i < count; i++, o += 4) {
        types[i] = view.getUint16(o);
        lengths[i] = view.getUint16(o + 2);
        if (lengths[i] === 0 || lengths[i] === 0xffff) return false;
      }
      domain.learn(id, types, lengths, false, now);
    }
    return true;
  }

  private optionsTemplateSet(
    view: DataView,
    o: number,
    end: number,
    domain: TemplateDomain,
    now: number,
  ): boolean {
    // Records are padded to 4 bytes: stop when what is left cannot hold a record header.
    while (o + 6 <= end) {
      const id = view.getUint16(o);
      const scopeBytes = view.getUint16(o + 2);
      const optionBytes = view.getUint16(o + 4);
      if (id === 0 && scopeBytes === 0 && optionBytes === 0) return true; // padding
      o += 6;
      if (id < 256 || scopeBytes % 4 !== 0 || optionBytes % 4 !== 0 || o + scopeBytes + optionBytes > end)
        return false;
      const count = (scopeBytes + optionBytes) / 4;
      if (count === 0) return false;
      const types = new Uint16Array(count);
      const lengths = new Uint16Array(count);
      for (let i = 0; i < count; i++, o += 4) {
        // Scope fields (system, interface, line card…) use their own numbering: not flow fields.
        types[i] = i < scopeBytes / 4 ? IE_OTHER : view.getUint16(o);
        lengths[i] = view.getUint16(o + 2);
        if (lengths[i] === 0 || lengths[i] === 0xffff) return false;
      }
      domain.learn(id, types, lengths, true, now);
    }
    return true;
  }
}
