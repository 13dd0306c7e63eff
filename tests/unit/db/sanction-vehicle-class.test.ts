import { describe, expect, it } from 'vitest';
import { sanctionVehicleClass } from '../../../db/repositories/sanction-rule.repository.js';

describe('sanction vehicle class', () => {
  it.each([
    ['car', 'car'],
    ['truck', 'car'],
    ['bus', 'car'],
    ['Motorcycle', 'motorbike'],
    ['motorbike', 'motorbike'],
    ['moped', 'motorbike'],
    ['bicycle', undefined],
    ['person', undefined],
  ])('maps a detected %s to %s', (detected, expected) => {
    expect(sanctionVehicleClass(detected)).toBe(expected);
  });
});
