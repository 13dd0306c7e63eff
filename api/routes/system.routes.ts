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
      summary: 'Cameras with their live stream state (no stream URLs)',
      tags: ['system'],
    },
    async ({ res }) => {
      res.json({ items: await services.listCameras() });
    },
  );
}
