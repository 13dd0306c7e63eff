import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSanction, listSanctionRules } from '../../../db/repositories/sanction-rule.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const IN_2025 = new Date('2025-06-01T08:00:00+07:00');

describe('sanction rules seeded from Decree 168/2024', () => {
  it('fines a car running a red light 18–20 million VND and 4 points', async () => {
    const rule = await findSanction(t.db, 'red_light', 'car', IN_2025);
    expect(rule).toMatchObject({
      citation: '6.9.b',
      legalBasis: '168/2024/NĐ-CP',
      fineMinVnd: 18_000_000,
      fineMaxVnd: 20_000_000,
      fineDefaultVnd: 19_000_000,
      points: 4,
      provisional: false,
    });
  });

  it.each([
    ['red_light', 'motorbike', '7.7.c', 4_000_000, 6_000_000, 4],
    ['stop_line', 'car', '6.1.a', 400_000, 600_000, 0],
    ['stop_line', 'motorbike', '7.1.a', 200_000, 400_000, 0],
    ['wrong_way', 'car', '6.9.d', 18_000_000, 20_000_000, 4],
    ['wrong_way', 'motorbike', '7.7.a', 4_000_000, 6_000_000, 2],
    ['wrong_lane', 'car', '6.5.b', 4_000_000, 6_000_000, 2],
    ['wrong_lane', 'motorbike', '7.3.d', 600_000, 800_000, 0],
    ['sidewalk', 'car', '6.6.d', 6_000_000, 8_000_000, 4],
    ['sidewalk', 'motorbike', '7.7.a', 4_000_000, 6_000_000, 2],
    ['no_parking', 'car', '6.3.e', 800_000, 1_000_000, 0],
    ['no_parking', 'motorbike', '7.2.e', 400_000, 600_000, 0],
  ] as const)('%s by %s: %s', async (rule, vehicle, citation, min, max, points) => {
    expect(await findSanction(t.db, rule, vehicle, IN_2025)).toMatchObject({
      citation,
      fineMinVnd: min,
      fineMaxVnd: max,
      points,
    });
  });

  it.each([
    ['car', 4.9, undefined],
    ['car', 5, '6.3.a'],
    ['car', 9.99, '6.3.a'],
    ['car', 10, '6.5.đ'],
    ['car', 20, '6.5.đ'],
    ['car', 20.01, '6.6.a'],
    ['car', 35, '6.6.a'],
    ['car', 35.5, '6.7.a'],
    ['car', 80, '6.7.a'],
    ['motorbike', 7, '7.2.b'],
    ['motorbike', 20, '7.4.a'],
    ['motorbike', 21, '7.8.a'],
    ['motorbike', 60, '7.8.a'],
  ] as const)('speeding %s %s km/h over: %s', async (vehicle, excess, citation) => {
    const rule = await findSanction(t.db, 'speeding', vehicle, IN_2025, { speedExcessKmh: excess });
    expect(rule?.citation).toBe(citation);
  });

  it('finds no speeding sanction without the measured excess', async () => {
    expect(await findSanction(t.db, 'speeding', 'car', IN_2025)).toBeUndefined();
  });

  it('finds nothing before Decree 168 took effect, or for an unknown rule', async () => {
    expect(
      await findSanction(t.db, 'red_light', 'car', new Date('2024-12-31T23:59:59.999+07:00')),
    ).toBeUndefined();
    expect(await findSanction(t.db, 'red_light', 'car', new Date('2025-01-01T00:00:00+07:00'))).toBeDefined();
    expect(await findSanction(t.db, 'jaywalking', 'car', IN_2025)).toBeUndefined();
  });

  it('switches to the provisional carry-over at midnight of 15 Aug 2026 (Vietnam time)', async () => {
    const before = await findSanction(t.db, 'red_light', 'car', new Date('2026-08-14T23:59:59.999+07:00'));
    const after = await findSanction(t.db, 'red_light', 'car', new Date('2026-08-15T00:00:00+07:00'));
    expect(before).toMatchObject({ provisional: false, validTo: new Date('2026-08-15T00:00:00+07:00') });
    expect(after).toMatchObject({ provisional: true, validTo: null, fineMinVnd: 18_000_000 });
    expect(after?.id).not.toBe(before?.id);
  });

  it('applies a newly added amendment only from its first day', async () => {
    const amendmentFrom = new Date('2027-01-01T00:00:00+07:00');
    await sql`UPDATE sanction_rule SET valid_to = ${amendmentFrom}
              WHERE rule_code = 'stop_line' AND vehicle_class = 'car' AND valid_to IS NULL`.execute(t.db);
    await t.db
      .insertInto('sanction_rule')
      .values({
        rule_code: 'stop_line',
        vehicle_class: 'car',
        description: 'test amendment',
        legal_basis: 'test/2027',
        citation: '6.1.a',
        fine_min_vnd: 500_000,
        fine_max_vnd: 700_000,
        valid_from: amendmentFrom,
      })
      .execute();
    expect(
      (await findSanction(t.db, 'stop_line', 'car', new Date('2026-12-31T12:00:00+07:00')))?.fineMinVnd,
    ).toBe(400_000);
    expect((await findSanction(t.db, 'stop_line', 'car', amendmentFrom))?.fineMinVnd).toBe(500_000);
    expect((await findSanction(t.db, 'stop_line', 'car', IN_2025))?.fineMinVnd).toBe(400_000);
  });

  it('refuses a rule overlapping another in validity and tier', async () => {
    await expect(
      t.db
        .insertInto('sanction_rule')
        .values({
          rule_code: 'speeding',
          vehicle_class: 'car',
          speed_excess_kmh: '[8,12)',
          description: 'overlapping tier',
          legal_basis: 'test',
          citation: '6.3.a',
          fine_min_vnd: 1,
          fine_max_vnd: 2,
          valid_from: new Date('2025-03-01T00:00:00+07:00'),
          valid_to: new Date('2025-04-01T00:00:00+07:00'),
        })
        .execute(),
    ).rejects.toThrow(/overlaps/);
  });

  it('lists the rules in force on a day, one per rule, class and tier', async () => {
    const rules = await listSanctionRules(t.db, IN_2025);
    const keys = rules.map((r) => `${r.ruleCode}/${r.vehicleClass}/${r.speedExcessKmh ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(rules.length).toBe(29);
    expect(rules.every((r) => !r.provisional)).toBe(true);
  });
});
