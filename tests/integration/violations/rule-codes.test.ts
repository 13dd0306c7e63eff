/**
 * The rules' codes and speed tiers against the sanction table the migrations seed: every code a rule can
 * flag has a fine for both class families, and every speed tier the rule reports is the table's range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSanction } from '../../../db/repositories/sanction-rule.repository.js';
import { DEFAULT_RULES } from '../../../violations/engine.js';
import { RULE_CODES } from '../../../violations/rules/rule.js';
import { SPEED_TIERS, speedTier } from '../../../violations/rules/speeding.rule.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const IN_2025 = new Date('2025-06-01T08:00:00+07:00');

describe('rule codes and the sanction table', () => {
  it.each(RULE_CODES.filter((c) => c !== 'speeding'))(
    '%s has a fine for cars and for motorbikes',
    async (code) => {
      expect(await findSanction(t.db, code, 'car', IN_2025)).toBeDefined();
      expect(await findSanction(t.db, code, 'motorbike', IN_2025)).toBeDefined();
    },
  );

  it('every code the engine can flag is a code of the table', () => {
    for (const rule of DEFAULT_RULES)
      for (const code of rule.codes ?? [rule.code]) expect(RULE_CODES).toContain(code);
  });

  for (const family of ['car', 'motorbike'] as const) {
    it(`the ${family} speed tiers are the table's ranges, edges included`, async () => {
      for (const tier of SPEED_TIERS[family]) {
        const samples = [
          tier.lo,
          tier.lo + 0.01,
          Number.isFinite(tier.hi) ? tier.hi : tier.lo + 50,
          tier.hi - 0.01,
        ];
        for (const excess of samples.filter(Number.isFinite)) {
          const label = speedTier(family, excess);
          const row = await findSanction(t.db, 'speeding', family, IN_2025, { speedExcessKmh: excess });
          expect(row?.speedExcessKmh, `${family} ${excess} km/h over`).toBe(label);
        }
      }
      expect(await findSanction(t.db, 'speeding', family, IN_2025, { speedExcessKmh: 4.99 })).toBeUndefined();
      expect(speedTier(family, 4.99)).toBeUndefined();
    });
  }
});
