import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

/**
 * `/assets/*`: the console's and portal's stylesheet and scripts, and the chart library (Chart.js's UMD
 * bundle, copied from node_modules when the server starts). Everything a page loads is served by aupdesk
 * itself, so the desk works on a network without the internet and no third party sees who opens which case.
 * Files are read once into memory with a content hash as ETag.
 */

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const OWN_FILES: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

/** The folder of our own static files: beside this module in the source tree, or found from dist/. */
export function staticDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'static')];
  // Built code runs from dist/server/assets/: the files stay in the package's src tree.
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) {
      candidates.push(path.join(dir, 'src', 'server', 'assets', 'static'));
      break;
    }
    dir = path.dirname(dir);
  }
  const found = candidates.find((c) => existsSync(path.join(c, 'app.css')));
  if (!found) throw new Error(`aupdesk static assets not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Chart.js's UMD bundle as installed (the package exports no subpath for it; it sits beside its main). */
export function chartBundlePath(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js');
  return path.join(path.dirname(main), 'chart.umd.min.js');
}

export function loadAssets(): Map<string, Asset> {
  const dir = staticDir();
  const assets = new Map<string, Asset>();
  const add = (name: string, file: string, type: string) => {
    const body = readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  };
  for (const [name, type] of Object.entries(OWN_FILES)) add(name, path.join(dir, name), type);
  add('chart.umd.min.js', chartBundlePath(), 'text/javascript; charset=utf-8');
  return assets;
}

export const assetPlugin: FastifyPluginAsync = async (app: FastifyInstance) => {
  const assets = loadAssets();
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    reply
      .header('etag', asset.etag)
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};
