import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../core/errors.js';
import { authenticate, parseApiTokens } from './auth.js';
import { errorMiddleware } from './error-middleware.js';
import { buildOpenApi } from './openapi.js';
import { RouteTable } from './route-table.js';
import { registerAdminRoutes } from './routes/admin.routes.js';
import { registerAuthRoutes } from './routes/auth.routes.js';
import { registerCaseRoutes } from './routes/case.routes.js';
import { registerPublicRoutes } from './routes/public.routes.js';
import { registerReviewRoutes } from './routes/review.routes.js';
import { registerSceneRoutes } from './routes/scene.routes.js';
import { registerSignalRoutes } from './routes/signal.routes.js';
import { registerSystemRoutes } from './routes/system.routes.js';
import { registerViolationRoutes } from './routes/violation.routes.js';
import type { ApiServices } from './services/types.js';

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

export interface AppOptions {
  services: ApiServices;
  log: Logger;
  /** API_TOKENS: static bearer tokens of machine clients. */
  apiTokens?: string | undefined;
  /** AUTH_COOKIE_SECURE (default 'auto': Secure when the request came over https). */
  cookieSecure?: 'auto' | 'always';
}

export function createApp(opts: AppOptions): { app: Express; routes: RouteTable } {
  const { services, log } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: '256kb' }));

  const router = express.Router();
  const routes = new RouteTable(
    router,
    authenticate({ staticTokens: parseApiTokens(opts.apiTokens), auth: services.auth }),
  );

  registerSystemRoutes(routes, services);
  registerAuthRoutes(routes, services, { cookieSecure: opts.cookieSecure ?? 'auto' });
  registerViolationRoutes(routes, services);
  registerReviewRoutes(routes, services);
  registerCaseRoutes(routes, services);
  registerAdminRoutes(routes, services);
  registerPublicRoutes(routes, services);
  registerSceneRoutes(routes, services);
  registerSignalRoutes(routes, services);

  let openApi: unknown;
  routes.add(
    {
      method: 'get',
      path: '/api/openapi.json',
      roles: ['public'],
      summary: 'This document: every route with its roles, parameters and bodies',
      tags: ['system'],
      response: { status: 200, description: 'OpenAPI 3.1' },
    },
    ({ res }) => {
      openApi ??= buildOpenApi(routes.routes, {
        title: 'Phạt nguội API',
        version: '1',
        description:
          'Camera traffic fines: monitoring, the review queue and administration. Each operation lists the roles allowed to call it (x-roles).',
      });
      res.json(openApi);
    },
  );

  app.use(router);
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '5m' }));
  app.use((_req, _res, next) => next(new AppError('not_found', 'no such route')));
  app.use(errorMiddleware(log));
  return { app, routes };
}
