import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowCollector, receiveBufferNote } from './flow-collector.js';
import type { FlowRecord } from './flow-record.js';

/**
 * The collector's sockets: the receive buffer asked of the kernel and what it granted, and datagrams on
 * loopback reaching the sink. (Decoding itself is tested with hand-built packets in test/detect/.)
 */

const rmemMax = (): number | null => {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return null;
  }
};

let collector: FlowCollector | null = null;
afterEach(async () => {
  await collector?.stop();
  collector = null;
});

function sink() {
  const seen: number[] = [];
  return { now: 0, seen, flow: (r: FlowRecord) => void seen.push(r.srcV4) };
}

describe('FlowCollector', () => {
  it('asks for the receive buffer it is given and reports what the kernel granted', async () => {
    collector = new FlowCollector({ sink: sink(), netflowPort: 0, sflowPort: 0, receiveBufferBytes: 65536 });
    await collector.start();
    for (const b of [collector.receiveBuffers.netflow!, collector.receiveBuffers.sflow!]) {
      expect(b.asked).toBe(65536);
      expect(b.granted).toBeGreaterThanOrEqual(65536);
      expect(b.capped).toBe(false);
    }
    expect(receiveBufferNote('NetFlow/IPFIX', collector.receiveBuffers.netflow!)).not.toMatch(
      /less than asked/,
    );
  });

  it.runIf(process.platform === 'linux' && rmemMax() !== null)(
    'says so when net.core.rmem_max grants less than asked, and still collects',
    async () => {
      const s = sink();
      const asked = rmemMax()! * 4;
      collector = new FlowCollector({ sink: s, netflowPort: 0, receiveBufferBytes: asked });
      await collector.start();
      const b = collector.receiveBuffers.netflow!;
      expect(b).toMatchObject({ asked, capped: true });
      expect(b.granted).toBeLessThan(2 * asked);
      expect(receiveBufferNote('NetFlow/IPFIX', b)).toMatch(
        new RegExp(`kernel granted ${b.granted}, less than asked .*sysctl -w net\\.core\\.rmem_max=${asked}`),
      );
      // A NetFlow v5 datagram of one flow from 10.0.0.1 still arrives.
      const v5 = Buffer.alloc(24 + 48);
      v5.writeUInt16BE(5, 0);
      v5.writeUInt16BE(1, 2);
      v5.writeUInt32BE(0x0a000001, 24);
      const client = dgram.createSocket('udp4');
      client.send(v5, collector.netflowAddress!.port, '127.0.0.1');
      const until = Date.now() + 5000;
      while (s.seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      client.close();
      expect(s.seen).toEqual([0x0a000001]);
      expect(collector.dispatcher.totals).toEqual({ datagrams: 1, flows: 1, dropped: 0 });
    },
  );
});
