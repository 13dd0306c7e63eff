import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { authorize, type RouteRoles } from './auth.js';

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  roles: RouteRoles;
  summary: string;
}

/**
 * Routes are declared with their roles; the declaration is the single source for authorisation, the route
 * list the security tests iterate over, and (later) the OpenAPI document.
 */
export class RouteTable {
  readonly routes: RouteSpec[] = [];

  constructor(private readonly router: Router) {}

  add(spec: RouteSpec, handler: (req: Request, res: Response) => Promise<void> | void): void {
    this.routes.push(spec);
    const wrapped: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
      Promise.resolve(handler(req, res)).catch(next);
    };
    this.router[spec.method](spec.path, authorize(spec.roles), wrapped);
  }
}
