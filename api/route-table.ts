import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { AppError } from '../core/errors.js';
import { authorize, requireCsrf } from './auth.js';
import { zodMessage } from './error-middleware.js';
import type { Principal, RouteRoles } from './principal.js';

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path, e.g. '/api/review/:id/claim'. */
  path: string;
  roles: RouteRoles;
  summary: string;
  description?: string;
  tags?: readonly string[];
  /** Path parameters (a strict object of strings). */
  params?: z.ZodType;
  /** Query string (a strict object of strings). */
  query?: z.ZodType;
  /** JSON body. */
  body?: z.ZodType;
  /** The success answer, for the OpenAPI document (default: 200 with no schema). */
  response?: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** Statuses a caller should expect beyond 400/401/403 (e.g. 404, 409), for the OpenAPI document. */
  errors?: readonly number[];
  /**
   * false exempts a state-changing route from the CSRF check: the login (it has no session yet) and the
   * anonymous citizen routes (they act on no session).
   */
  csrf?: boolean;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  principal: Principal | undefined;
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AppError('bad_request', zodMessage(result.error, where));
}

/**
 * Routes are declared with their roles and their zod schemas; the declaration is the single source for
 * authorisation, input validation (a 400 naming the field before the handler runs), the route list the
 * security tests iterate over, and the OpenAPI document.
 */
export class RouteTable {
  readonly routes: RouteSpec[] = [];

  /**
   * `authenticate` resolves the principal before a non-public route's role check. Public routes skip it,
   * so /health, /metrics and the login keep answering when the credential store (the database) does not.
   */
  constructor(
    private readonly router: Router,
    private readonly authenticate?: RequestHandler,
  ) {}

  add<
    PS extends z.ZodType | undefined = undefined,
    QS extends z.ZodType | undefined = undefined,
    BS extends z.ZodType | undefined = undefined,
  >(
    spec: RouteSpec & { params?: PS; query?: QS; body?: BS },
    handler: (ctx: RouteContext<Parsed<PS>, Parsed<QS>, Parsed<BS>>) => Promise<void> | void,
  ): void {
    this.routes.push(spec);
    const wrapped: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
      Promise.resolve()
        .then(() =>
          handler({
            req,
            res,
            params: parse(spec.params, { ...req.params }, 'path') as Parsed<PS>,
            query: parse(spec.query, { ...req.query }, 'query') as Parsed<QS>,
            body: parse(spec.body, req.body, 'body') as Parsed<BS>,
            principal: req.principal,
          }),
        )
        .catch(next);
    };
    const isPublic = (spec.roles as readonly string[]).includes('public');
    const chain: RequestHandler[] = [];
    if (this.authenticate && !isPublic) chain.push(this.authenticate);
    chain.push(authorize(spec.roles));
    if (spec.csrf !== false) chain.push(requireCsrf());
    this.router[spec.method](spec.path, ...chain, wrapped);
  }
}
