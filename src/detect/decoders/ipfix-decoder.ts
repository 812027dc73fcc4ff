import { type DecodeReport, FlowRecord, type FlowSink } from '../flow-record.js';
import { IE_OTHER, TemplateCache, type TemplateDomain } from './flow-templates.js';

/**
 * IPFIX (RFC 7011, information elements of RFC 7012 / IANA). A 16-byte message header, then Sets:
 *
 *   header:    version(2)=10 length(2: the whole message) export_time(4) sequence(4) observation_domain(4)
 *   set:       set_id(2) length(2); 2 = templates, 3 = options templates, ≥ 256 = data of that template
 *   template:  template_id(2) field_count(2) { ie_id(2) length(2) [enterprise(4) when ie_id bit 15 is set] }*
 *   options:   template_id(2) field_count(2) scope_field_count(2) { field specifiers }*
 *   withdrawal: a template record with field_count 0 withdraws that id; id 2 (or 3) withdraws every
 *              template (options template) of the domain (§8.1)
 *   data:      records per the template; a field of length 65535 is variable: a 1-byte length, or 255
 *              and a 2-byte length (§7); what is left too short for a record is padding
 *
 * Enterprise-specific elements are kept only as lengths so records are walked past them cleanly. The
 * message length must equal the datagram's (a length lie drops it); a set or variable field running past
 * its end stops that set. Hand-written over a DataView with one reused FlowRecord (see flow-record.ts).
 */
const HEADER = 16;

export class IpfixDecoder {
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
    if (view.getUint16(0) !== 10) {
      report.dropped = 'bad-version';
      return;
    }
    const length = view.getUint16(2);
    if (length !== size) {
      report.dropped = length > size ? 'truncated' : 'length-mismatch';
      return;
    }
    const exportMs = view.getUint32(4) * 1000;
    const domain = this.templates.domain(exporter, view.getUint32(12));
    const r = this.record;
    r.exporter = exporter;
    let o = HEADER;
    while (o + 4 <= size) {
      const id = view.getUint16(o);
      const setLength = view.getUint16(o + 2);
      if (setLength < 4 || o + setLength > size) {
        report.dropped = setLength < 4 ? 'length-mismatch' : 'truncated';
        return;
      }
      const end = o + setLength;
      if (id === 2 || id === 3) {
        if (!this.templateSet(view, o + 4, end, domain, id === 3, now)) report.dropped = 'bad-template';
      } else if (id >= 256) {
        const t = domain.get(id, now, this.templates.timeoutMs);
        if (t === undefined) report.dropped = 'unknown-template';
        else {
          let p = o + 4;
          while (end - p >= t.minLength && t.minLength > 0) {
            const n = t.layout(view, p, end);
            if (n < 0) {
              report.dropped = 'length-mismatch';
              break;
            }
            if (t.options) {
              if (t.samplingOf(view, p, this.sampling))
                domain.applySampling(this.sampling[0]!, this.sampling[1]!);
            } else if (t.fill(view, p, r, exportMs, -1, domain.defaultRate, domain.samplerRate)) {
              sink.flow(r);
              report.flows++;
            }
            p += n;
          }
        }
      }
      o = end;
    }
  }

  private templateSet(
    view: DataView,
    o: number,
    end: number,
    domain: TemplateDomain,
    options: boolean,
    now: number,
  ): boolean {
    const head = options ? 6 : 4;
    while (o + 4 <= end) {
      const id = view.getUint16(o);
      const count = view.getUint16(o + 2);
      if (count === 0) {
        // Withdrawal (§8.1): one template, or all of this kind when the id is the set id.
        if (id === 2 || id === 3) {
          for (const [tid, t] of domain.templates) if (t.options === (id === 3)) domain.templates.delete(tid);
        } else domain.templates.delete(id);
        o += 4;
        continue;
      }
      if (o + head > end) return false;
      const scopeCount = options ? view.getUint16(o + 4) : 0;
      if (id < 256 || (options && (scopeCount === 0 || scopeCount > count))) return false;
      o += head;
      const types = new Uint16Array(count);
      const lengths = new Uint16Array(count);
      for (let i = 0; i < count; i++) {
        if (o + 4 > end) return false;
        const raw = view.getUint16(o);
        lengths[i] = view.getUint16(o + 2);
        o += 4;
        const enterprise = (raw & 0x8000) !== 0;
        if (enterprise) {
          if (o + 4 > end) return false;
          o += 4;
        }
        types[i] = enterprise || i < scopeCount ? IE_OTHER : raw;
      }
      domain.learn(id, types, lengths, options, now);
      if (lengths.every((l) => l === 0)) domain.templates.delete(id);
    }
    return true;
  }
}
