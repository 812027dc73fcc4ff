import type { Command } from 'commander';
import { type DetectConfig, loadDetectConfig, parseDetectConfig } from '../../detect/detect-config.js';
import { detectionJson } from '../../detect/detection-event.js';
import { DetectionReporter } from '../../detect/detection-reporter.js';
import {
  DEFAULT_RECEIVE_BUFFER_BYTES,
  FlowCollector,
  receiveBufferNote,
} from '../../detect/flow-collector.js';
import { FlowDetectors } from '../../detect/flow-detectors.js';
import { AupError } from '../../errors.js';
import { snapshotFromRegistryFile } from '../../registry/registry-file-snapshot.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_OK } from '../exit.js';

/**
 * `aupdesk flows listen --netflow-port <udp> [--sflow-port <udp>] --registry <file> [--config <file>]
 * [--host 127.0.0.1] [--receive-buffer <bytes>] [--json]`: the flow collectors and detectors without a store,
 * for trials, tests and the flows benchmark.
 * NetFlow v5/v9 and IPFIX share the first port; sFlow v5 has its own. Each detection is printed as it
 * happens, with `--json` one JSON object per line:
 *   { "detector", "source.ip", "service", "customer", "window_start", "detected_at", "pps", "bps", "flows",
 *     "destinations" }
 * Where the collectors listen (with port 0, the ports chosen) and the receive buffer each socket was granted
 * go to stderr. On SIGUSR2 the running totals go to stderr (`aupdesk flows: totals: <d> datagrams, <f>
 * flows, <m> malformed`: the benchmark reads them to check every flow sent was counted); on SIGINT/SIGTERM
 * the figures per exporter, then it exits.
 */
export function registerFlowsCommands(program: Command, context: () => CliContext): void {
  const flows = program
    .command('flows')
    .description('flow collectors (NetFlow v5/v9, IPFIX, sFlow v5) and detectors');
  flows
    .command('listen')
    .description('collect flows on UDP and print each detection as it happens (no store)')
    .requiredOption(
      '--netflow-port <udp>',
      'NetFlow v5/v9 and IPFIX UDP port (0: any free port)',
      portOption('--netflow-port'),
    )
    .option('--sflow-port <udp>', 'sFlow v5 UDP port (0: any free port)', portOption('--sflow-port'))
    .requiredOption('--registry <file>', 'registry CSV or JSON, as `aupdesk registry import` reads it')
    .option('--config <file>', 'detector thresholds and customer-facing interfaces (YAML or JSON)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--receive-buffer <bytes>',
      `receive buffer (SO_RCVBUF) each socket asks for (default ${DEFAULT_RECEIVE_BUFFER_BYTES}; capped by net.core.rmem_max)`,
      byteSizeOption('--receive-buffer'),
    )
    .option('--json', 'one JSON object per detection and line')
    .action(
      async (opts: {
        netflowPort: number;
        sflowPort?: number;
        registry: string;
        config?: string;
        host: string;
        receiveBuffer?: number;
        json?: boolean;
      }) => {
        const ctx = context();
        const snapshot = await snapshotFromRegistryFile(opts.registry);
        const config: DetectConfig = opts.config
          ? await loadDetectConfig(opts.config)
          : parseDetectConfig({});
        const reporter = new DetectionReporter({
          onOutcome: (o) => {
            if (o.kind === 'failed') return;
            const line = detectionJson(o.detection, o.kind === 'authorised' ? o.authorisation.id : null);
            ctx.out.write(opts.json ? `${JSON.stringify(line)}\n` : `${humanLine(line)}\n`);
          },
        });
        const detectors = new FlowDetectors({ snapshot, config, onDetection: (d) => reporter.handle(d) });
        const collector = new FlowCollector({
          sink: detectors,
          host: opts.host,
          netflowPort: opts.netflowPort,
          sflowPort: opts.sflowPort,
          receiveBufferBytes: opts.receiveBuffer,
        });
        await collector.start();
        const where = [
          collector.netflowAddress &&
            `NetFlow/IPFIX on ${collector.netflowAddress.host}:${collector.netflowAddress.port}`,
          collector.sflowAddress && `sFlow on ${collector.sflowAddress.host}:${collector.sflowAddress.port}`,
        ].filter(Boolean);
        ctx.err.write(`aupdesk flows: listening: ${where.join(', ')}\n`);
        const buffers = collector.receiveBuffers;
        if (buffers.netflow)
          ctx.err.write(`aupdesk flows: ${receiveBufferNote('NetFlow/IPFIX', buffers.netflow)}\n`);
        if (buffers.sflow) ctx.err.write(`aupdesk flows: ${receiveBufferNote('sFlow', buffers.sflow)}\n`);
        const totals = (): void => {
          const t = collector.dispatcher.totals;
          ctx.err.write(
            `aupdesk flows: totals: ${t.datagrams} datagrams, ${t.flows} flows, ${t.dropped} malformed\n`,
          );
        };
        process.on('SIGUSR2', totals);
        await waitForSignal();
        process.off('SIGUSR2', totals);
        await collector.stop();
        await reporter.idle();
        for (const [exporter, s] of collector.dispatcher.exporters) {
          const dropped = [...s.dropped].map(([k, n]) => `${k} ${n}`).join(', ');
          ctx.err.write(
            `aupdesk flows: ${exporter}: ${s.datagrams} datagrams, ${s.flows} flows${dropped ? `, dropped: ${dropped}` : ''}\n`,
          );
        }
        throw new CliExit(EXIT_OK);
      },
    );
}

function humanLine(d: Record<string, unknown>): string {
  return `${d.detected_at} ${d.detector} ${d['source.ip']} service ${d.service} (customer ${d.customer}): ${d.pps} pps, ${d.bps} bps, ${d.flows} flows, ${d.destinations} destinations${d.authorised_by ? ` [authorised ${d.authorised_by}]` : ''}`;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const on = (): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve();
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/** A byte count for a socket buffer: a whole number from 4 KiB to 2 GiB. */
export function byteSizeOption(flag: string): (value: string) => number {
  return (value) => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 4096 && n <= 2 ** 31 - 1)) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${flag} must be a number of bytes from 4096 to 2147483647, not "${value}"`,
      );
    }
    return n;
  };
}

function portOption(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${flag} must be a UDP port number (0-65535), not "${value}"`,
      );
    }
    return Number(value);
  };
}
