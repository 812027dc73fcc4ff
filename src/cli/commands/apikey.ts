import type { Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-key-repository.js';
import type { CliContext } from '../context.js';
import { parseRole, resolveCustomer } from './account-options.js';

/**
 * `aupdesk apikey create --role <role> [--customer <id>] [--name <n>]`: prints the new key on stdout, alone
 * on its line, once (only its hash is stored); what it is goes to stderr so `KEY=$(aupdesk apikey create …)`
 * captures just the key.
 * `aupdesk apikey list`: one line per key (id, prefix, role, customer, name, created, last used, revoked).
 * `aupdesk apikey revoke <id|prefix>`.
 */
export function registerApikeyCommands(program: Command, context: () => CliContext): void {
  const apikey = program.command('apikey').description('API keys for machines (Authorization: Bearer <key>)');

  apikey
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--role <role>', 'admin, analyst, customer or reporter')
    .option('--customer <id>', 'the customer a customer-role key speaks for (registry reference)')
    .option('--name <name>', 'what the key is for (shown in lists)')
    .action(async (options: { role: string; customer?: string; name?: string }) => {
      const ctx = context();
      const role = parseRole(options.role);
      const store = await ctx.openStore();
      try {
        const customerId = await resolveCustomer(store.db, options.customer);
        const { key, record } = await createApiKey(store.db, {
          name: options.name ?? `${role} key`,
          role,
          customerId,
          now: new Date(),
        });
        ctx.out.write(`${key}\n`);
        ctx.err.write(
          `created API key ${record.id} (${record.prefix}…, role ${record.role}${options.customer ? `, customer ${options.customer}` : ''}); it is shown only now: store it safely\n`,
        );
      } finally {
        await store.close();
      }
    });

  apikey
    .command('list')
    .description('list API keys (never the keys themselves)')
    .action(async () => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        for (const k of await listApiKeys(store.db)) {
          ctx.out.write(
            `${[
              k.id,
              k.prefix,
              k.role,
              k.customerId ?? '-',
              JSON.stringify(k.name),
              k.createdAt.toISOString(),
              k.lastUsedAt?.toISOString() ?? '-',
              k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'live',
            ].join('\t')}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });

  apikey
    .command('revoke <key>')
    .description('revoke a key by its id or visible prefix (aupk_xxxxxxxx)')
    .action(async (key: string) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        const record = await revokeApiKey(store.db, /^[0-9]+$/.test(key) ? Number(key) : key, new Date());
        ctx.out.write(`revoked API key ${record.id} (${record.prefix}…)\n`);
      } finally {
        await store.close();
      }
    });
}
