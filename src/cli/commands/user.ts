import type { Command } from 'commander';
import { createUser, listUsers, setUserPassword } from '../../accounts/user-repository.js';
import { AupError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { parseRole, resolveCustomer } from './account-options.js';

/**
 * `aupdesk user add --email <e> --role <role> [--customer <id>] [--password-stdin]`: a person who logs in to
 * the API and console. The password is read from the first line of standard input (never from a flag: argv
 * is visible to every local user); without `--password-stdin` the user exists but cannot log in until
 * `aupdesk user password --email <e> --password-stdin`.
 * `aupdesk user list`.
 */
export function registerUserCommands(program: Command, context: () => CliContext): void {
  const user = program.command('user').description('people who log in (password + session)');

  user
    .command('add')
    .description('add a user')
    .requiredOption('--email <email>', 'the login e-mail')
    .requiredOption('--role <role>', 'admin, analyst, customer or reporter')
    .option('--customer <id>', 'the customer a customer-role user speaks for (registry reference)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (options: { email: string; role: string; customer?: string; passwordStdin?: boolean }) => {
      const ctx = context();
      const role = parseRole(options.role);
      const password = options.passwordStdin ? await readPassword(ctx.in) : undefined;
      const store = await ctx.openStore();
      try {
        const customerId = await resolveCustomer(store.db, options.customer);
        const record = await createUser(store.db, {
          email: options.email,
          role,
          customerId,
          ...(password === undefined ? {} : { password }),
          now: new Date(),
        });
        ctx.out.write(
          `added user ${record.email} (id ${record.id}, role ${record.role}${options.customer ? `, customer ${options.customer}` : ''})${record.hasPassword ? '' : '; no password set: the user cannot log in yet'}\n`,
        );
      } finally {
        await store.close();
      }
    });

  user
    .command('password')
    .description("set a user's password from standard input")
    .requiredOption('--email <email>', 'the login e-mail')
    .requiredOption('--password-stdin', 'read the password from the first line of standard input')
    .action(async (options: { email: string }) => {
      const ctx = context();
      const password = await readPassword(ctx.in);
      const store = await ctx.openStore();
      try {
        await setUserPassword(store.db, options.email, password);
        ctx.out.write(`password set for ${options.email.toLowerCase()}\n`);
      } finally {
        await store.close();
      }
    });

  user
    .command('list')
    .description('list users')
    .action(async () => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        for (const u of await listUsers(store.db)) {
          ctx.out.write(
            `${[u.id, u.email, u.role, u.customerId ?? '-', u.hasPassword ? 'password' : 'no-password', u.lastLoginAt?.toISOString() ?? '-'].join('\t')}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
}

/** The first line of the stream, without its line ending (at most 4 KiB read). */
async function readPassword(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.includes('\n') || text.length > 4096) break;
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length === 0) {
    throw new AupError('AUP_ERR_INPUT_INVALID', '--password-stdin: standard input had no password line');
  }
  return line;
}
