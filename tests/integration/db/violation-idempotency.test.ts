import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, openDatabaseByUrl, type Database } from '../../../db/database.js';
import { recordViolation, type NewViolation } from '../../../db/repositories/violation.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cameraWithScene } from './fixtures.js';

let t: TestDatabase;
let cameraId: number;
beforeAll(async () => {
  t = await createTestDatabase();
  cameraId = (await cameraWithScene(t.db)).id;
});
afterAll(async () => {
  await t?.drop();
});

const violation = (trackKey: string, ruleCode = 'red_light'): NewViolation => ({
  cameraId,
  trackKey,
  ruleCode,
  observedAt: new Date('2026-11-10T07:30:00.250Z'),
  vehicleClass: 'motorbike',
  sceneConfigVersion: 1,
  details: { redForMs: 800 },
});

async function rowCount(trackKey: string): Promise<number> {
  const r = await t.db
    .selectFrom('violation')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('track_key', '=', trackKey)
    .executeTakeFirstOrThrow();
  return r.n;
}

describe('recording a violation exactly once', () => {
  it('returns created=false and the same id when the same camera, track and rule come again', async () => {
    const first = await recordViolation(t.db, violation('trk-1'));
    const second = await recordViolation(t.db, { ...violation('trk-1'), details: { redForMs: 900 } });
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    expect(await rowCount('trk-1')).toBe(1);
  });

  it('records a different rule on the same track as a separate violation', async () => {
    const red = await recordViolation(t.db, violation('trk-2'));
    const line = await recordViolation(t.db, violation('trk-2', 'stop_line'));
    expect(line.created).toBe(true);
    expect(line.id).not.toBe(red.id);
  });

  it('yields one row when many processes record the same violation at once', async () => {
    // Separate pools: separate server sessions, as separate worker processes would have.
    const pools: Database[] = Array.from({ length: 4 }, () => openDatabaseByUrl(t.url, 4));
    try {
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          recordViolation(pools[i % pools.length]!.db, violation('trk-race')),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(await rowCount('trk-race')).toBe(1);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('is idempotent inside transactions racing each other, leaving the transactions usable', async () => {
    const pools: Database[] = Array.from({ length: 3 }, () => openDatabaseByUrl(t.url, 2));
    try {
      const results = await Promise.all(
        pools.map((p) =>
          inTransaction(p.db, async (trx) => {
            const r = await recordViolation(trx, violation('trk-trx'));
            // the transaction is still healthy after a conflict: it can keep working
            await trx.selectFrom('violation').select('id').where('id', '=', r.id).executeTakeFirstOrThrow();
            return r;
          }),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('leaves nothing behind when the recording transaction rolls back', async () => {
    await expect(
      inTransaction(t.db, async (trx) => {
        await recordViolation(trx, violation('trk-rollback'));
        throw new Error('evidence check failed');
      }),
    ).rejects.toThrow('evidence check failed');
    expect(await rowCount('trk-rollback')).toBe(0);
    expect((await recordViolation(t.db, violation('trk-rollback'))).created).toBe(true);
  });
});
