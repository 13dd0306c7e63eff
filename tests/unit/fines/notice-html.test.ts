import { describe, expect, it } from 'vitest';
import {
  citationVi,
  escapeHtml,
  formatVnd,
  renderNoticeHtml,
  type NoticeDocument,
} from '../../../fines/notice-html.js';

const doc = (over: Partial<NoticeDocument> = {}): NoticeDocument => ({
  noticeCode: 'PN-AB12-CD34-EF56',
  state: 'issued',
  issuedAt: new Date('2026-11-25T02:00:00Z'),
  printedAt: new Date('2026-11-25T03:00:00Z'),
  violation: {
    id: 42,
    observedAt: new Date('2026-11-20T01:15:09Z'),
    cameraCode: 'TN-001',
    cameraName: 'Ngã tư Đồng Quang',
    location: 'Đường Hoàng Văn Thụ × Đường Lương Ngọc Quyến',
    ruleCode: 'red_light',
    behaviour: 'Không chấp hành hiệu lệnh của đèn tín hiệu giao thông',
    plate: '20A12345',
    plateColor: 'white',
    vehicleClass: 'car',
    measurement: null,
  },
  sanction: {
    legalBasis: '168/2024/NĐ-CP',
    citation: '6.9.b',
    fineMinVnd: 18_000_000,
    fineMaxVnd: 20_000_000,
    fineAmountVnd: 19_000_000,
    decided: false,
    points: 4,
    provisional: false,
  },
  owner: { name: 'Nguyễn Văn Demo', address: 'Số 10 Phố Thử', kind: 'individual' },
  unit: { name: 'Phòng CSGT Thái Nguyên', address: 'Số 1 Đường Demo', phone: '0208 000 0000' },
  deadlines: {
    respondBy: new Date('2026-12-15T16:59:59.999Z'),
    payBy: null,
    limitationEndsAt: new Date('2027-11-20T01:15:09Z'),
  },
  evidence: [{ kind: 'still_at', sha256: 'a'.repeat(64) }],
  lookupUrl: 'https://phatnguoi.example/tra-cuu',
  ...over,
});

describe('printable notice', () => {
  it('shows what the law requires: vehicle, time, place, behaviour, basis, range, unit, deadline, evidence, code', () => {
    const html = renderNoticeHtml(doc());
    for (const text of [
      'PN-AB12-CD34-EF56',
      '20A12345',
      'nền trắng, chữ đen',
      'Ô tô',
      '08:15:09 20/11/2026', // Vietnam time
      'Ngã tư Đồng Quang',
      'Không chấp hành hiệu lệnh của đèn tín hiệu giao thông',
      'Điểm b khoản 9 Điều 6 Nghị định số 168/2024/NĐ-CP',
      'Từ 18.000.000 đồng đến 20.000.000 đồng',
      '4 điểm',
      'Phòng CSGT Thái Nguyên',
      'Số 1 Đường Demo',
      '0208 000 0000',
      'chậm nhất đến hết ngày <strong>15/12/2026</strong>',
      'a'.repeat(64),
      'Nguyễn Văn Demo',
      'không</strong> thông báo vi phạm hoặc yêu cầu nộp phạt qua điện thoại',
      '@page { size: A4;',
    ]) {
      expect(html, text).toContain(text);
    }
    expect(html).not.toContain('BẢN XEM TRƯỚC');
    expect(renderNoticeHtml(doc({ state: 'draft' }))).toContain('BẢN XEM TRƯỚC');
  });

  it('escapes every value, so registry or camera text cannot inject markup', () => {
    const evil = '<script>alert("x")</script>&\'';
    const html = renderNoticeHtml(
      doc({
        owner: { name: evil, address: `<img src=x onerror=alert(1)>`, kind: 'organisation' },
        violation: { ...doc().violation, cameraName: evil, location: '"><svg onload=1>' },
      }),
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('"><svg');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(html).toContain('Tổ chức');
  });

  it('shows a decided fine and its payment deadline, and a provisional amount as unconfirmed', () => {
    const html = renderNoticeHtml(
      doc({
        sanction: { ...doc().sanction, decided: true, fineAmountVnd: 18_500_000, provisional: true },
        deadlines: { ...doc().deadlines, payBy: new Date('2026-12-12T16:59:59.999Z') },
      }),
    );
    expect(html).toContain('18.500.000 đồng (theo quyết định xử phạt)');
    expect(html).toContain('Hạn nộp phạt theo quyết định: <strong>12/12/2026</strong>');
    expect(html).toContain('tạm tính');
  });

  it('formats amounts, citations and escapes', () => {
    expect(formatVnd(400_000)).toBe('400.000 đồng');
    expect(formatVnd(999)).toBe('999 đồng');
    expect(citationVi('7.4.đ')).toBe('Điểm đ khoản 4 Điều 7');
    expect(citationVi('6.9')).toBe('Khoản 9 Điều 6');
    expect(escapeHtml(`a<b>"c"&'d'`)).toBe('a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;');
  });
});
