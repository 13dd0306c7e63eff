import express from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApi, openApiPath } from '../../../api/openapi.js';
import { RouteTable } from '../../../api/route-table.js';
import { decisionBody, idParams, reviewQueueQuery } from '../../../api/schemas.js';

function table(): RouteTable {
  const routes = new RouteTable(express.Router());
  routes.add({ method: 'get', path: '/health', roles: ['public'], summary: 'health' }, () => undefined);
  routes.add(
    {
      method: 'get',
      path: '/api/review/queue',
      roles: ['reviewer', 'supervisor'],
      summary: 'queue',
      query: reviewQueueQuery,
      response: { status: 200, description: 'page', schema: z.object({ total: z.number() }) },
    },
    () => undefined,
  );
  routes.add(
    {
      method: 'post',
      path: '/api/review/:id/decision',
      roles: ['reviewer', 'supervisor'],
      summary: 'decide',
      params: idParams,
      body: decisionBody,
      errors: [404, 409],
    },
    () => undefined,
  );
  routes.add(
    { method: 'post', path: '/api/auth/logout', roles: ['authenticated'], summary: 'logout' },
    () => undefined,
  );
  return routes;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApi(table().routes, { title: 't', version: '1' }) as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };

  it('converts Express paths', () => {
    expect(openApiPath('/api/violations/:id/evidence/:sha256')).toBe(
      '/api/violations/{id}/evidence/{sha256}',
    );
    expect(Object.keys(doc.paths)).toEqual([
      '/health',
      '/api/review/queue',
      '/api/review/{id}/decision',
      '/api/auth/logout',
    ]);
  });

  it('lists the roles of each operation, admins included, and its security', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/health']!['get']).toMatchObject({ 'x-roles': ['public'], security: [] });
    const queue = doc.paths['/api/review/queue']!['get']!;
    expect(queue['x-roles']).toEqual(['reviewer', 'supervisor', 'admin']);
    expect(queue['description']).toContain('Roles: reviewer, supervisor (and admin).');
    expect(queue['security']).toEqual([{ sessionCookie: [] }, { bearerToken: [] }]);
    expect(doc.paths['/api/auth/logout']!['post']!['x-roles']).toEqual(['authenticated']);
  });

  it('takes parameters and bodies from the zod schemas', () => {
    const queue = doc.paths['/api/review/queue']!['get']!;
    const params = queue['parameters'] as { name: string; in: string; required: boolean; schema: object }[];
    expect(params.find((p) => p.name === 'stage')).toMatchObject({
      in: 'query',
      required: false,
      schema: { enum: ['first', 'second'], default: 'first' },
    });
    expect(params.find((p) => p.name === 'maxConfidence')!.schema).toMatchObject({ minimum: 0, maximum: 1 });
    expect(queue['responses']).toMatchObject({
      '200': { content: { 'application/json': { schema: { type: 'object' } } } },
    });

    const decision = doc.paths['/api/review/{id}/decision']!['post']!;
    const dparams = decision['parameters'] as { name: string; in: string; required: boolean }[];
    expect(dparams[0]).toMatchObject({ name: 'id', in: 'path', required: true });
    expect(dparams.find((p) => p.name === 'X-CSRF-Token')).toMatchObject({ in: 'header', required: false });
    const body = (decision['requestBody'] as { content: Record<string, { schema: { oneOf: object[] } }> })
      .content['application/json']!.schema;
    expect(body.oneOf).toHaveLength(3);
    expect(JSON.stringify(body)).toContain('"no_violation"');
    expect(Object.keys(decision['responses'] as object).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '409',
    ]);
  });
});
