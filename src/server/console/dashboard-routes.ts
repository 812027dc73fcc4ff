import type { FastifyInstance } from 'fastify';
import { dashboardData } from '../../cases/queries/dashboard.js';
import { page, sendPage } from '../views/layout.js';
import { shell } from '../views/page-support.js';
import { type ConsoleContext, consoleSpec } from './console-context.js';
import { renderDashboard } from './dashboard-page.js';

/** The dashboard of the last 30 days. */
export const DASHBOARD_TTL_MS = 30_000;

export function dashboardRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { deps, db } = ctx;
  // The dashboard summarises 30 days: recomputing it more than every DASHBOARD_TTL_MS buys nothing, and one
  // cold computation costs far more than a page (it reads every event of the window).
  let dashboard: { at: number; data: Awaited<ReturnType<typeof dashboardData>> } | undefined;
  app.get('/dashboard', async (request, reply) => {
    const nowMs = deps.clock.now().getTime();
    if (!dashboard || nowMs - dashboard.at > DASHBOARD_TTL_MS || nowMs < dashboard.at) {
      dashboard = { at: nowMs, data: await dashboardData(db, deps.clock.now()) };
    }
    const data = dashboard.data;
    const s = shell(request, reply, consoleSpec, 'dashboard');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Dashboard',
        body: renderDashboard(data),
        scripts: ['/assets/chart.umd.min.js', '/assets/dashboard.js'],
      }),
    );
  });
}
