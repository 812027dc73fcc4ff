import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { IngestProgress } from './ingest-progress.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('IngestProgress', () => {
  it('writes plain lines off a terminal: percent, files, events, events/s and ETA, throttled', () => {
    let t = 0;
    const out = capture();
    const progress = new IngestProgress(out.stream, 1_000, 4, {
      tty: false,
      intervalMs: 2_000,
      now: () => t,
    });
    progress.processing();
    t = 1_000;
    progress.processed(250, 5_000); // first line at once
    t = 1_500;
    progress.processed(250, 5_000); // within 2 s of the last line: quiet
    t = 4_000;
    progress.processed(250, 10_000);
    t = 5_000;
    progress.processed(250, 0);
    progress.stop();
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'ingest: 25% (1/4 files), 5000 events, 5000 events/s, ETA 3 s',
      'ingest: 75% (3/4 files), 20000 events, 5000 events/s, ETA 1 s',
      'ingest: 100% (4/4 files), 20000 events, 4000 events/s',
    ]);
  });

  it('moves through one big file segment by segment, with an ETA from the bytes read', () => {
    let t = 0;
    const out = capture();
    const progress = new IngestProgress(out.stream, 1_000, 1, { tty: false, intervalMs: 0, now: () => t });
    progress.processing();
    t = 2_000;
    progress.segment(10_000, 200); // a fifth of the file read, 2 s in: 8 s to go
    t = 4_000;
    progress.segment(10_000, 200);
    t = 10_000;
    progress.processed(600, 30_000); // the rest of the file and its last segment's events
    progress.stop();
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'ingest: 20% (0/1 files), 10000 events, 5000 events/s, ETA 8 s',
      'ingest: 40% (0/1 files), 20000 events, 5000 events/s, ETA 6 s',
      'ingest: 100% (1/1 files), 50000 events, 5000 events/s',
      'ingest: 100% (1/1 files), 50000 events, 5000 events/s',
    ]);
  });

  it('draws a bar with the rate and ETA on a terminal', () => {
    const out = capture();
    const progress = new IngestProgress(out.stream, 100, 2, { tty: true });
    progress.processing();
    progress.processed(50, 1_234);
    progress.processed(50, 1);
    progress.stop();
    const text = out.text();
    expect(text).toContain('ingest [');
    expect(text).toContain('2/2 files');
    expect(text).toContain('1235 events');
    expect(text).toMatch(/events\/s \| ETA/);
  });
});
