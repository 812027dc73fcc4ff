import type { Command } from 'commander';
import pino from 'pino';
import { seedDemo } from '../../demo/demo-seed.js';
import { AupError } from '../../errors.js';
import { type ServeHandle, type ServeRole, serveRoles, startServe } from '../../server/serve.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_OK } from '../exit.js';
import { byteSizeOption } from './flows.js';

/**
 * `aupdesk serve [--http-port 8080] [--smtp-port 2525] [--host 127.0.0.1] [--role api|intake|worker|all]
 * [--policy ./policies] [--provider <id>] [--drop-dir <dir>] [--feeds <file>] [--netflow-port <udp>]
 * [--sflow-port <udp>] [--flows-config <file>] [--flows-receive-buffer <bytes>] [--demo]`: runs the desk until SIGINT/SIGTERM. Logs are pino JSON
 * on stderr; stdout gets the few lines a person needs: where to go, and with `--demo` the logins.
 */
export function registerServeCommand(program: Command, context: () => CliContext): void {
  program
    .command('serve')
    .description(
      'run the abuse desk: HTTP (API, public pages), SMTP intake, the inbox and enforcement workers',
    )
    .option('--http-port <port>', 'HTTP port (0: any free port)', portOption('--http-port'), 8080)
    .option('--smtp-port <port>', 'SMTP intake port (0: any free port)', portOption('--smtp-port'), 2525)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--role <role>', `what this process runs: ${serveRoles.join(', ')}`, roleOption, 'all')
    .option('--policy <dir>', 'folder of policy documents published on start', './policies')
    .option(
      '--provider <id>',
      'the provider whose policy the desk serves (default: the only or first published)',
    )
    .option(
      '--public-url <url>',
      'public base URL for links (default $AUPDESK_PUBLIC_URL, else the listen address)',
    )
    .option('--drop-dir <dir>', 'intake: take files dropped into this directory (default $AUPDESK_DROP_DIR)')
    .option('--feeds <file>', 'intake: pull the feeds listed in this YAML/JSON file (default $AUPDESK_FEEDS)')
    .option(
      '--netflow-port <udp>',
      'intake: NetFlow v5/v9 and IPFIX collector UDP port (0: any free port)',
      portOption('--netflow-port'),
    )
    .option(
      '--sflow-port <udp>',
      'intake: sFlow v5 collector UDP port (0: any free port)',
      portOption('--sflow-port'),
    )
    .option(
      '--flows-config <file>',
      'intake: flow detector thresholds and customer-facing interfaces (YAML/JSON)',
    )
    .option(
      '--flows-receive-buffer <bytes>',
      'intake: receive buffer (SO_RCVBUF) each flow socket asks for (default 33554432; capped by net.core.rmem_max)',
      byteSizeOption('--flows-receive-buffer'),
    )
    .option('--demo', 'seed a demo provider, registry, users and complaints, and print the logins')
    .action(
      async (opts: {
        httpPort: number;
        smtpPort: number;
        host: string;
        role: ServeRole;
        policy: string;
        provider?: string;
        publicUrl?: string;
        dropDir?: string;
        feeds?: string;
        netflowPort?: number;
        sflowPort?: number;
        flowsConfig?: string;
        flowsReceiveBuffer?: number;
        demo?: boolean;
      }) => {
        const ctx = context();
        const out = ctx.out;
        const provider = opts.provider ?? (opts.demo ? 'iitgen' : undefined);
        let demoLines: string[] = [];
        const handle = await startServe(
          {
            role: opts.role,
            host: opts.host,
            httpPort: opts.httpPort,
            smtpPort: opts.smtpPort,
            policyDir: opts.policy,
            provider,
            publicUrl: opts.publicUrl,
            dropDir: opts.dropDir,
            feedsFile: opts.feeds,
            netflowPort: opts.netflowPort,
            sflowPort: opts.sflowPort,
            flowsConfig: opts.flowsConfig,
            flowsReceiveBuffer: opts.flowsReceiveBuffer,
          },
          {
            config: ctx.config,
            // JSON logs on stderr; stdout keeps the few lines meant for a person.
            logger: pino(
              { level: ctx.config.logLevel, base: { service: 'aupdesk', role: opts.role } },
              pino.destination(2),
            ),
            ...(opts.demo
              ? {
                  beforeListen: async (serve) => {
                    const seeded = await seedDemo(serve, { provider: serve.providerId ?? 'iitgen' });
                    demoLines = [
                      '',
                      `Demo data: ${seeded.provider}'s policy, ${seeded.customers} customers, ${seeded.complaints.length} sample complaints.`,
                      'Logins (passwords are new on every --demo start):',
                      ...seeded.logins.map((l) => `  ${l.role.padEnd(8)} ${l.email}  ${l.password}`),
                      'Sample complaints:',
                      ...seeded.complaints.map(
                        (c) =>
                          `  R-${c.inboxId} ${c.label}: ${c.caseRefs.length > 0 ? `case ${c.caseRefs.join(', ')}` : (c.note ?? 'no case')}`,
                      ),
                    ];
                  },
                }
              : {}),
          },
        );
        printWhereToGo(out, handle);
        for (const line of demoLines) out.write(`${line}\n`);
        out.write('\nStop with Ctrl-C.\n');
        await waitForSignal();
        out.write('aupdesk: shutting down\n');
        await handle.stop();
        throw new CliExit(EXIT_OK);
      },
    );
}

function printWhereToGo(out: NodeJS.WritableStream, handle: ServeHandle): void {
  out.write(
    `aupdesk serve (${handle.role}) on the ${handle.store.kind === 'pglite' ? 'embedded store' : 'PostgreSQL store'}\n`,
  );
  if (handle.http) {
    const url = handle.http.url;
    out.write(`  Analyst console:  ${url}/console\n`);
    out.write(`  Customer portal:  ${url}/portal\n`);
    out.write(`  Published AUP:    ${url}/aup\n`);
    out.write(`  Complaint form:   ${url}/report\n`);
    out.write(`  DMCA agent:       ${url}/dmca\n`);
    out.write(`  security.txt:     ${url}/.well-known/security.txt\n`);
    out.write(`  JSON API:         ${url}/api/v1 (OpenAPI at ${url}/api/docs)\n`);
    out.write(`  Health, metrics:  ${url}/healthz ${url}/readyz ${url}/metrics\n`);
  }
  if (handle.smtp) {
    const domains = handle.smtp.domains.length > 0 ? `@${handle.smtp.domains.join(', @')}` : 'any domain';
    const tls = handle.smtp.starttls ? ', STARTTLS' : '';
    out.write(
      `  SMTP intake:      ${handle.smtp.host}:${handle.smtp.port} (abuse@, dmca@, security@ ${domains}${tls})\n`,
    );
  }
  if (handle.flows?.netflow) {
    out.write(`  NetFlow/IPFIX:    ${handle.flows.netflow.host}:${handle.flows.netflow.port} (UDP)\n`);
  }
  if (handle.flows?.sflow)
    out.write(`  sFlow:            ${handle.flows.sflow.host}:${handle.flows.sflow.port} (UDP)\n`);
  if (handle.pull?.imap) out.write(`  IMAP mailbox:     ${handle.pull.imap}\n`);
  if (handle.pull?.dropDir) out.write(`  Drop directory:   ${handle.pull.dropDir}\n`);
  if (handle.pull && handle.pull.feeds.length > 0) {
    out.write(`  Feed pulls:       ${handle.pull.feeds.join(', ')}\n`);
  }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

function portOption(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
      throw new AupError('AUP_ERR_INPUT_INVALID', `${flag} must be a port number (0-65535), not "${value}"`);
    }
    return Number(value);
  };
}

function roleOption(value: string): ServeRole {
  if (!(serveRoles as readonly string[]).includes(value)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `--role must be one of ${serveRoles.join(', ')}, not "${value}"`,
    );
  }
  return value as ServeRole;
}
