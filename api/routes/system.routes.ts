import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import type { ApiServices } from '../services/types.js';

/** Health, metrics and the camera list: public, for operators' monitoring and load balancers. */
export function registerSystemRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'get',
      path: '/health',
      roles: ['public'],
      summary: 'Database, Redis and camera states',
      tags: ['system'],
      response: { status: 200, description: 'Up or degraded (503 when a dependency is down)' },
      errors: [503],
    },
    async ({ res }) => {
      const report = await services.health();
      res.status(report.status === 'down' ? 503 : 200).json(report);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/metrics',
      roles: ['public'],
      summary: 'Prometheus metrics',
      tags: ['system'],
      response: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
    },
    async ({ res }) => {
      const m = await services.metrics();
      res.type(m.contentType).send(m.body);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/cameras',
      roles: ['public'],
      summary: 'Cameras with their live stream state (no stream URLs), and the violations queue backlog',
      tags: ['system'],
    },
    async ({ res }) => {
      const [items, queue] = await Promise.all([services.listCameras(), services.queueStats()]);
      res.json({ items, queue });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/cameras/events',
      roles: ['public'],
      summary:
        'The camera list as server-sent events, every 2 s (event "cameras"), for live dashboards; ?once=1 sends one event and ends',
      tags: ['system'],
      query: z.strictObject({ once: z.enum(['1']).optional() }),
      response: { status: 200, description: 'text/event-stream', contentType: 'text/event-stream' },
    },
    async ({ req, res, query }) => {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.write('retry: 3000\n\n');
      let closed = false;
      const send = async () => {
        try {
          const [items, queue] = await Promise.all([services.listCameras(), services.queueStats()]);
          if (!closed) res.write(`event: cameras\ndata: ${JSON.stringify({ items, queue })}\n\n`);
        } catch {
          // A failed read is skipped; the next tick tries again and the client keeps its last state.
          if (!closed) res.write(': camera state unavailable\n\n');
        }
      };
      await send();
      if (query.once) {
        res.end();
        return;
      }
      const timer = setInterval(() => void send(), SSE_INTERVAL_MS);
      await new Promise<void>((resolve) => {
        req.once('close', () => {
          closed = true;
          clearInterval(timer);
          resolve();
        });
      });
    },
  );
}

const SSE_INTERVAL_MS = 2000;
