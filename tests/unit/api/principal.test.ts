import { describe, expect, it } from 'vitest';
import { admits, inScope, isValidScope, scopeFor, type Principal } from '../../../api/principal.js';

function principal(grants: Principal['grants']): Principal {
  return { kind: 'api_token', credentialId: 'api_token:1', actor: 'user:1', user: null, grants };
}

describe('route roles', () => {
  it('admit anyone to public routes, any principal to authenticated ones, listed roles and admins to the rest', () => {
    const reviewer = principal([{ role: 'reviewer', scope: '*' }]);
    const admin = principal([{ role: 'admin', scope: '*' }]);
    const nobody = principal([]);
    expect(admits(['public'], undefined)).toBe(true);
    expect(admits(['authenticated'], undefined)).toBe(false);
    expect(admits(['authenticated'], nobody)).toBe(true);
    expect(admits(['reviewer', 'supervisor'], reviewer)).toBe(true);
    expect(admits(['operator'], reviewer)).toBe(false);
    expect(admits(['operator'], admin)).toBe(true);
    expect(admits(['operator'], nobody)).toBe(false);
  });
});

describe('scopes', () => {
  it('join the scopes of the grants for the roles asked, admin grants included', () => {
    const p = principal([
      { role: 'reviewer', scope: 'camera:TN-001' },
      { role: 'reviewer', scope: 'unit:CSGT-TN' },
      { role: 'operator', scope: '*' },
      { role: 'admin', scope: 'camera:TN-009' },
    ]);
    expect(scopeFor(p, ['reviewer'])).toEqual({
      all: false,
      cameraCodes: ['TN-001', 'TN-009'],
      units: ['CSGT-TN'],
    });
    expect(scopeFor(p, ['operator'])).toEqual({ all: true });
    expect(scopeFor(p, ['supervisor'])).toEqual({ all: false, cameraCodes: ['TN-009'], units: [] });
  });

  it('never widen on a scope of an unknown form', () => {
    const p = principal([{ role: 'reviewer', scope: 'district:hoan-kiem' }]);
    expect(scopeFor(p, ['reviewer'])).toEqual({ all: false, cameraCodes: [], units: [] });
    expect(isValidScope('district:hoan-kiem')).toBe(false);
    expect(isValidScope('unit:CSGT-TN')).toBe(true);
    expect(isValidScope('*')).toBe(true);
  });

  it('place a camera by its code or its unit', () => {
    const scope = { all: false as const, cameraCodes: ['TN-001'], units: ['CSGT-TN'] };
    expect(inScope(scope, { code: 'TN-001', unit: null })).toBe(true);
    expect(inScope(scope, { code: 'TN-002', unit: 'CSGT-TN' })).toBe(true);
    expect(inScope(scope, { code: 'TN-002', unit: 'CSGT-SC' })).toBe(false);
    expect(inScope(scope, { code: 'TN-002', unit: null })).toBe(false);
    expect(inScope({ all: true }, { code: 'X', unit: null })).toBe(true);
  });
});
