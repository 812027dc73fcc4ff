import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { AupError } from '../errors.js';
import { SERVICE_KINDS } from '../registry/registry-repository.js';
import type { ServiceKind } from '../store/tables/registry.table.js';

/**
 * Detector thresholds (`aupdesk flows listen --config <file>`, `serve --flows-config`): a YAML or JSON file
 *
 *   window_seconds: 10            # scan and SMTP-destination windows slide over this
 *   flood_window_seconds: 1       # pps/bps/flows are measured over this (short: a flood is seen in < 1 s)
 *   smtp_window_seconds: 300
 *   realert_seconds: 60           # a running attack reports again (and updates its case) this often
 *   defaults: { scan_destinations: 64, flood_pps: 50000, … }
 *   kinds: { shared-hosting: { flood_pps: 20000 }, colocation: { flood_pps: 500000 } }
 *   interfaces: [{ exporter: 192.0.2.1, if_index: 12, service: SVC-1 }]
 *
 * Thresholds resolve per service kind: the built-in defaults for the kind, then the file's `defaults`,
 * then its `kinds.<kind>`. Built-in kind defaults scale with what a kind legitimately sends: a shared web
 * host is expected to send far less than a colocated rack.
 */
export const thresholdsSchema = z
  .object({
    /** Distinct destination addresses per source in the window (horizontal scan), SYN-only TCP. */
    scan_destinations: z.number().int().positive(),
    /** Distinct destination address:port pairs per source in the window (vertical scan). */
    scan_ports: z.number().int().positive(),
    flood_pps: z.number().positive(),
    flood_bps: z.number().positive(),
    flood_flows: z.number().positive(),
    /** Packets per second from all of the provider's sources to one target. */
    target_pps: z.number().positive(),
    target_bps: z.number().positive(),
    /** Outbound TCP/25 flows per SMTP window that always count as a burst candidate, with … */
    smtp_min_flows: z.number().int().positive(),
    smtp_min_destinations: z.number().int().positive(),
    /** … and this many times the service's own baseline (its usual flows per window). */
    smtp_factor: z.number().min(1),
    /** The baseline a service starts with, before it has history. */
    smtp_initial_baseline: z.number().nonnegative(),
    /** Amplification: bits per second from a reflector port, with at least this mean packet size. */
    amplification_bps: z.number().positive(),
    amplification_min_packet_bytes: z.number().positive(),
    /** Spoofed or unassigned source: packets per second from a customer interface with addresses not its own. */
    spoof_pps: z.number().positive(),
  })
  .strict();
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const builtinDefaults: Thresholds = {
  scan_destinations: 64,
  scan_ports: 256,
  flood_pps: 50_000,
  flood_bps: 400e6,
  flood_flows: 5_000,
  target_pps: 100_000,
  target_bps: 800e6,
  smtp_min_flows: 200,
  smtp_min_destinations: 50,
  smtp_factor: 5,
  smtp_initial_baseline: 20,
  amplification_bps: 20e6,
  amplification_min_packet_bytes: 400,
  spoof_pps: 10,
};

const builtinKinds: Partial<Record<ServiceKind, Partial<Thresholds>>> = {
  'shared-hosting': { flood_pps: 20_000, flood_bps: 200e6, flood_flows: 2_000, smtp_initial_baseline: 50 },
  vps: { flood_pps: 30_000, flood_bps: 300e6 },
  dedicated: { flood_pps: 100_000, flood_bps: 1e9, flood_flows: 10_000 },
  colocation: { flood_pps: 500_000, flood_bps: 5e9, flood_flows: 50_000, scan_destinations: 128 },
  streaming: { flood_pps: 300_000, flood_bps: 5e9, flood_flows: 20_000 },
  mail: { smtp_min_flows: 2_000, smtp_min_destinations: 500, smtp_initial_baseline: 1_000 },
};

const interfaceSchema = z
  .object({
    exporter: z.union([z.ipv4(), z.ipv6()]),
    if_index: z.number().int().min(0).max(0xffffffff),
    service: z.string().min(1).max(200),
  })
  .strict();

export const detectConfigSchema = z
  .object({
    window_seconds: z.number().positive().max(3600).default(10),
    flood_window_seconds: z.number().positive().max(60).default(1),
    smtp_window_seconds: z.number().positive().max(86_400).default(300),
    realert_seconds: z.number().positive().max(86_400).default(60),
    defaults: thresholdsSchema.partial().default({}),
    kinds: z.partialRecord(z.enum(SERVICE_KINDS), thresholdsSchema.partial()).default({}),
    interfaces: z.array(interfaceSchema).default([]),
  })
  .strict();
export type DetectConfigInput = z.input<typeof detectConfigSchema>;

export interface DetectConfig {
  readonly windowMs: number;
  readonly floodWindowMs: number;
  readonly smtpWindowMs: number;
  readonly realertMs: number;
  readonly interfaces: readonly { exporter: string; ifIndex: number; service: string }[];
  thresholds(kind: ServiceKind): Thresholds;
}

export function parseDetectConfig(input: unknown, where = 'detector configuration'): DetectConfig {
  const parsed = detectConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `${where}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const c = parsed.data;
  const cache = new Map<ServiceKind, Thresholds>();
  return {
    windowMs: c.window_seconds * 1000,
    floodWindowMs: c.flood_window_seconds * 1000,
    smtpWindowMs: c.smtp_window_seconds * 1000,
    realertMs: c.realert_seconds * 1000,
    interfaces: c.interfaces.map((i) => ({ exporter: i.exporter, ifIndex: i.if_index, service: i.service })),
    thresholds(kind) {
      let t = cache.get(kind);
      if (!t) {
        t = { ...builtinDefaults, ...builtinKinds[kind], ...c.defaults, ...c.kinds[kind] } as Thresholds;
        cache.set(kind, t);
      }
      return t;
    },
  };
}

/** Read a YAML or JSON detector configuration file. */
export async function loadDetectConfig(file: string): Promise<DetectConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError('AUP_ERR_CONFIG_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (error) {
    throw new AupError('AUP_ERR_CONFIG_INVALID', `${file} is not YAML or JSON: ${(error as Error).message}`);
  }
  return parseDetectConfig(data, file);
}
