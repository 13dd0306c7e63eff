import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditCanonical, auditHash } from '../../../db/audit-canonical.js';

// Vectors computed by PostgreSQL 15 with the audit_log_canonical() function of migration
// 2026_11_22_090600_audit_log and encode(sha256(convert_to(prev || canonical, 'UTF8')), 'hex').

describe('audit canonical form', () => {
  it('matches the database byte for byte, escaping control characters as to_json() does', () => {
    const canonical = auditCanonical({
      id: 123456789,
      at: new Date('2026-11-22T23:59:59.999+07:00'),
      actor: 'user:\t\u0001\u001f\u007f"\\/x',
      action: 'notice.view',
      entityType: 'notice',
      entityId: 'Hà Nội 🚦 \u2028',
      detailsText: '{"k": "v"}',
    });
    expect(canonical).toBe(
      '["v1","123456789","2026-11-22T16:59:59.999Z","user:\\t\\u0001\\u001f\u007f\\"\\\\/x",' +
        '"notice.view","notice","Hà Nội 🚦 \u2028","{\\"k\\": \\"v\\"}"]',
    );
    expect(auditHash('ab' + 'c'.repeat(62), canonical)).toBe(
      '5e837661f742c7af0920fb968c55af94fd6b0eb4eb9a7f75705717b53857d41d',
    );
  });

  it('takes the jsonb text verbatim, numbers and key order included', () => {
    const detailsText = String.raw`{"a": "Đ\u0001\n\"q\\\\", "b": [1, 2.50, "x"]}`;
    const canonical = auditCanonical({
      id: 1,
      at: new Date('2026-01-02T03:04:05.678Z'),
      actor: 'user:1',
      action: 'violation.approve',
      entityType: 'violation',
      entityId: '42',
      detailsText,
    });
    expect(canonical).toBe(
      String.raw`["v1","1","2026-01-02T03:04:05.678Z","user:1","violation.approve","violation","42","{\"a\": \"Đ\\u0001\\n\\\"q\\\\\\\\\", \"b\": [1, 2.50, \"x\"]}"]`,
    );
    expect(auditHash(AUDIT_GENESIS_HASH, canonical)).toBe(
      'd499d0835ae2162922c01b35c6500b8e3bdac5cfa285abf767ecc99c1705378c',
    );
  });

  it('writes a missing entity id as JSON null and whole seconds with three decimals', () => {
    expect(
      auditCanonical({
        id: 7,
        at: new Date('2026-01-02T03:04:05Z'),
        actor: 'system:worker',
        action: 'camera.update',
        entityType: 'camera',
        entityId: null,
        detailsText: '{}',
      }),
    ).toBe('["v1","7","2026-01-02T03:04:05.000Z","system:worker","camera.update","camera",null,"{}"]');
  });

  it('changes the hash when any field or the previous hash changes', () => {
    const row = {
      id: 2,
      at: new Date('2026-01-02T03:04:05.000Z'),
      actor: 'a',
      action: 'x.y',
      entityType: 'e',
      entityId: '1',
      detailsText: '{}',
    };
    const base = auditHash(AUDIT_GENESIS_HASH, auditCanonical(row));
    const variants = [
      { ...row, id: 3 },
      { ...row, at: new Date('2026-01-02T03:04:05.001Z') },
      { ...row, actor: 'b' },
      { ...row, action: 'x.z' },
      { ...row, entityType: 'f' },
      { ...row, entityId: null },
      { ...row, detailsText: '{"a": 1}' },
    ];
    for (const v of variants) expect(auditHash(AUDIT_GENESIS_HASH, auditCanonical(v))).not.toBe(base);
    expect(auditHash('1'.repeat(64), auditCanonical(row))).not.toBe(base);
  });

  it('refuses an invalid date or an unsafe id', () => {
    const row = {
      id: 1,
      at: new Date('x'),
      actor: 'a',
      action: 'a',
      entityType: 'a',
      entityId: null,
      detailsText: '{}',
    };
    expect(() => auditCanonical(row)).toThrow(RangeError);
    expect(() => auditCanonical({ ...row, at: new Date(0), id: 2 ** 53 })).toThrow(RangeError);
  });
});
