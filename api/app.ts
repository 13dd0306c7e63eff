import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { authenticate, parseApiTokens } from './auth.js';
import { errorMiddleware } from './error-middleware.js';
import { RouteTable } from './route-table.js';
import type { ApiServices } from './services/types.js';

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

const violationQuerySchema = z.strictObject({
  camera: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional(),
  rule: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional(),
  status: z
    .string()
    .regex(/^[a-z_]{1,20}$/)
    .optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/)
    .optional(),
});

const idSchema = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a numeric id')
  .transform(Number);

export interface AppOptions {
  services: ApiServices;
  log: Logger;
  apiTokens?: string | undefined;
}

export function createApp(opts: AppOptions): { app: Express; routes: RouteTable } {
  const { services, log } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: '256kb' }));
  app.use(authenticate(parseApiTokens(opts.apiTokens)));

  const router = express.Router();
  const routes = new RouteTable(router);

  routes.add(
    { method: 'get', path: '/health', roles: ['public'], summary: 'Database, Redis and camera states' },
    async (_req, res) => {
      const report = await services.health();
      res.status(report.status === 'down' ? 503 : 200).json(report);
    },
  );

  routes.add(
    { method: 'get', path: '/metrics', roles: ['public'], summary: 'Prometheus metrics' },
    async (_req, res) => {
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
    },
    async (_req, res) => {
      res.json({ items: await services.listCameras() });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations',
      roles: ['reviewer', 'supervisor', 'operator'],
      summary: 'Flagged violations, newest first',
    },
    async (req, res) => {
      const q = violationQuerySchema.parse(req.query);
      res.json(
        await services.listViolations({
          cameraId: q.camera === undefined ? undefined : Number(q.camera),
          ruleCode: q.rule,
          status: q.status,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
          limit: q.limit,
          cursor: q.cursor,
        }),
      );
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations/:id',
      roles: ['reviewer', 'supervisor'],
      summary: 'One violation with its evidence',
    },
    async (req, res) => {
      const v = await services.getViolation(idSchema.parse(req.params['id']));
      if (!v) throw new AppError('not_found', 'no such violation');
      res.json(v);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations/:id/evidence/:sha256',
      roles: ['reviewer', 'supervisor'],
      summary: 'An evidence file of a violation',
    },
    async (req, res) => {
      const id = idSchema.parse(req.params['id']);
      const sha = z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .parse(req.params['sha256']);
      const file = await services.readEvidence(id, sha);
      if (!file) throw new AppError('not_found', 'no such evidence');
      res.setHeader('Cache-Control', 'private, max-age=3600, immutable');
      res.type(file.mediaType).send(file.bytes);
    },
  );

  app.use(router);
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '5m' }));
  app.use((_req, _res, next) => next(new AppError('not_found', 'no such route')));
  app.use(errorMiddleware(log));
  return { app, routes };
}
