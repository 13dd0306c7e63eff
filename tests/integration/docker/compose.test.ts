/**
 * The production compose file, parsed: the services a deployment needs, wired the way the system relies on
 * (no Docker engine runs here, so this is the check that the file says what we mean).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Service = {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  secrets?: string[];
  build?: { target?: string };
  deploy?: { resources?: { reservations?: { devices?: { driver: string; capabilities: string[] }[] } } };
};
const compose = parse(readFileSync(new URL('../../../docker/compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
const s = compose.services;

describe('docker compose', () => {
  it('has the database, the queue and every process role', () => {
    expect(Object.keys(s).sort()).toEqual([
      'api',
      'ingest',
      'ingest-gpu',
      'migrate',
      'postgres',
      'redis',
      'worker',
    ]);
  });

  it('runs Redis with AOF persistence and no eviction (BullMQ must never lose keys)', () => {
    expect(s['redis']!.command).toEqual(
      expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']),
    );
  });

  it('migrates before the API and the workers start', () => {
    for (const role of ['api', 'worker', 'ingest', 'ingest-gpu']) {
      expect(s[role]!.depends_on?.['migrate']?.condition, role).toBe('service_completed_successfully');
    }
    expect(s['migrate']!.depends_on?.['postgres']?.condition).toBe('service_healthy');
  });

  it('health-checks the stateful services and the API', () => {
    for (const name of ['postgres', 'redis', 'api']) expect(s[name]!.healthcheck, name).toBeDefined();
  });

  it('takes secrets from the environment, never from the file', () => {
    const text = readFileSync(new URL('../../../docker/compose.yml', import.meta.url), 'utf8');
    expect(text).toMatch(/POSTGRES_PASSWORD:\?/);
    expect(s['api']!.environment?.['API_TOKENS']).toBe('${API_TOKENS:-}');
  });

  it('gives the signing key to the ingest workers only, and the API only its public half', () => {
    for (const role of ['ingest', 'ingest-gpu']) {
      expect(s[role]!.environment?.['EVIDENCE_SIGNING_KEY_PATH'], role).toBe(
        '/run/secrets/evidence_signing_key',
      );
      expect(s[role]!.secrets, role).toEqual(['evidence_signing_key']);
    }
    expect(s['api']!.environment?.['EVIDENCE_PUBLIC_KEY_PATH']).toBe('/run/secrets/evidence_public_key');
    expect(s['api']!.secrets).toEqual(['evidence_public_key']);
    for (const role of ['api', 'worker', 'migrate']) {
      expect(s[role]!.secrets ?? [], role).not.toContain('evidence_signing_key');
      expect(s[role]!.environment?.['EVIDENCE_SIGNING_KEY_PATH'], role).toBeUndefined();
    }
  });

  it('offers a GPU ingest worker using the CUDA execution provider', () => {
    const gpu = s['ingest-gpu']!;
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.build?.target).toBe('runtime-gpu');
    expect(gpu.environment?.['DETECTOR_PROVIDER']).toBe('cuda');
    expect(gpu.deploy?.resources?.reservations?.devices?.[0]).toMatchObject({
      driver: 'nvidia',
      capabilities: ['gpu'],
    });
  });

  it('builds a non-root runtime image', () => {
    const dockerfile = readFileSync(new URL('../../../docker/Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/^USER phatnguoi$/m);
    expect(dockerfile).toMatch(/^FROM .* AS runtime$/m);
    expect(dockerfile).toMatch(/^FROM .* AS runtime-gpu$/m);
  });
});
