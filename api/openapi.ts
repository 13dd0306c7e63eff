import { z } from 'zod';
import type { RouteSpec } from './route-table.js';
import { CSRF_HEADER, SESSION_COOKIE } from './security/secrets.js';

/**
 * The OpenAPI 3.1 document, generated from the route table: paths, roles (`x-roles`, and in words in
 * the description), security, parameters and bodies from the zod schemas the routes validate with
 * (z.toJSONSchema, JSON Schema 2020-12 as OpenAPI 3.1 uses). Nothing is written by hand, so the
 * document cannot drift from what the server enforces.
 */

type JsonSchema = Record<string, unknown>;

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input (the message names the field)',
  401: 'No valid credential',
  403: 'The credential may not use this route (role, scope or CSRF token)',
  404: 'Not found (or outside your scope)',
  409: 'Conflict with the current state (reload and retry)',
  413: 'Body too large',
  503: 'A dependency is down',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete out['$schema'];
  return out;
}

/** The properties of an object schema as OpenAPI parameters. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input');
  const properties = (json['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s as { description?: string } & JsonSchema;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description !== undefined && { description }),
      schema: rest,
    };
  });
}

export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationId(spec: RouteSpec): string {
  const words = spec.path
    .replace(/:([A-Za-z0-9_]+)/g, 'by_$1')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [spec.method, ...words].join('_');
}

function rolesInWords(spec: RouteSpec): string {
  const roles = spec.roles as readonly string[];
  if (roles.includes('public')) return 'Public: no credential needed.';
  if (roles.includes('authenticated')) return 'Any signed-in user or API client.';
  return roles.includes('admin') ? `Roles: ${roles.join(', ')}.` : `Roles: ${roles.join(', ')} (and admin).`;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export function buildOpenApi(routes: readonly RouteSpec[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const isPublic = (spec.roles as readonly string[]).includes('public');
    const unsafe = spec.method !== 'get';
    const params = [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')];
    if (unsafe && !isPublic && spec.csrf !== false) {
      params.push({
        name: 'X-CSRF-Token',
        in: 'header',
        required: false,
        description: `Required when the request is authenticated by the ${SESSION_COOKIE} cookie: the csrfToken of POST /api/auth/login or GET /api/auth/me. Not needed with a bearer token.`,
        schema: { type: 'string' },
      });
    }
    const ok = spec.response ?? { status: 200, description: 'OK' };
    const responses: Record<string, unknown> = {
      [String(ok.status)]: {
        description: ok.description,
        ...(ok.schema && {
          content: { [ok.contentType ?? 'application/json']: { schema: jsonSchema(ok.schema, 'output') } },
        }),
        ...(!ok.schema &&
          ok.contentType && { content: { [ok.contentType]: { schema: { type: 'string' } } } }),
      },
    };
    const errors = new Set<number>(spec.errors ?? []);
    if (spec.params || spec.query || spec.body) errors.add(400);
    if (!isPublic) {
      errors.add(401);
      errors.add(403);
    }
    for (const status of [...errors].sort()) {
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const roles = spec.roles as readonly string[];
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = {
      operationId: operationId(spec),
      summary: spec.summary,
      description: [spec.description, rolesInWords(spec)].filter(Boolean).join('\n\n'),
      ...(spec.tags && { tags: [...spec.tags] }),
      'x-roles': isPublic
        ? ['public']
        : roles.includes('authenticated')
          ? ['authenticated']
          : [...new Set([...roles, 'admin'])],
      security: isPublic ? [] : [{ sessionCookie: [] }, { bearerToken: [] }],
      ...(params.length > 0 && { parameters: params }),
      ...(spec.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
        },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      ...(info.description && { description: info.description }),
    },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: `Set by POST /api/auth/login (httpOnly, SameSite=Strict). State-changing requests also need the ${CSRF_HEADER} header.`,
        },
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A personal access token (pnat_…) made by an admin, or a machine token from API_TOKENS.',
        },
      },
    },
  };
}
