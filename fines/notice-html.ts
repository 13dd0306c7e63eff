/**
 * The printable notice of a camera-detected violation (thông báo vi phạm), server-rendered HTML in
 * Vietnamese with print CSS for A4. Pure: data in, a string out; every value is escaped.
 *
 * Contents follow the law notes (Circular 73/2024 Art 24; Decree 135/2021 Art 15; QCVN 05:2024/BCA):
 * vehicle (type, plate and plate colour), time, place, behaviour, legal basis and fine range, the
 * detecting and resolving unit with its address and phone, where and how to resolve it and by when,
 * the evidence references with their SHA-256, and the notice code. It also says that the police never
 * notify camera fines by phone.
 */

export interface NoticeDocument {
  noticeCode: string;
  /** Case state; a draft prints as a preview. */
  state: string;
  issuedAt: Date | null;
  printedAt: Date;
  violation: {
    id: number;
    observedAt: Date;
    cameraCode: string;
    cameraName: string;
    location: string;
    ruleCode: string;
    /** The behaviour in Vietnamese (sanction_rule.description_vi), or the English text as a fallback. */
    behaviour: string;
    plate: string;
    plateColor: string | null;
    vehicleClass: string;
    /** Measured speed, limit and tolerance for speeding, in words. */
    measurement: string | null;
  };
  sanction: {
    legalBasis: string;
    citation: string;
    fineMinVnd: number;
    fineMaxVnd: number;
    /** The default (midpoint) or decided fine. */
    fineAmountVnd: number;
    decided: boolean;
    points: number;
    provisional: boolean;
  };
  owner: { name: string; address: string; kind: 'individual' | 'organisation' };
  unit: { name: string; address: string; phone: string };
  deadlines: { respondBy: Date | null; payBy: Date | null; limitationEndsAt: Date };
  evidence: { kind: string; sha256: string }[];
  /** Where the owner can look the case up with the notice code. */
  lookupUrl: string | null;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const VN_TIME = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

const VN_DATE = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** '14:05:09 20/11/2026' style, Vietnam time. */
export function formatVnTime(at: Date): string {
  return VN_TIME.format(at);
}

export function formatVnDate(at: Date): string {
  return VN_DATE.format(at);
}

/** 18000000 → '18.000.000 đồng'. */
export function formatVnd(amount: number): string {
  return `${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, '.')} đồng`;
}

const VEHICLE_VI: Record<string, string> = {
  car: 'Ô tô',
  truck: 'Ô tô tải',
  bus: 'Ô tô khách',
  van: 'Ô tô',
  pickup: 'Ô tô bán tải',
  motorbike: 'Mô tô, xe gắn máy',
  motorcycle: 'Mô tô, xe gắn máy',
  moped: 'Xe gắn máy',
  scooter: 'Xe gắn máy',
};

const PLATE_COLOUR_VI: Record<string, string> = {
  white: 'nền trắng, chữ đen',
  yellow: 'nền vàng, chữ đen',
  blue: 'nền xanh, chữ trắng',
  red: 'nền đỏ, chữ trắng',
};

const EVIDENCE_VI: Record<string, string> = {
  still_before: 'Ảnh trước thời điểm vi phạm',
  still_at: 'Ảnh tại thời điểm vi phạm',
  still_after: 'Ảnh sau thời điểm vi phạm',
  vehicle_crop: 'Ảnh phương tiện',
  plate_crop: 'Ảnh biển số',
  clip: 'Đoạn video',
  manifest: 'Bản kê chứng cứ (manifest)',
  signature: 'Chữ ký số của bản kê',
};

const CSS = `
@page { size: A4; margin: 18mm 16mm 18mm 20mm; }
* { box-sizing: border-box; }
body { font-family: "Times New Roman", "Liberation Serif", "DejaVu Serif", serif; font-size: 13pt;
  line-height: 1.4; color: #000; margin: 0 auto; max-width: 210mm; padding: 12mm; background: #fff; }
header { display: flex; justify-content: space-between; text-align: center; gap: 8mm; }
header div { flex: 1; }
h1 { font-size: 15pt; text-align: center; margin: 8mm 0 2mm; text-transform: uppercase; }
.code { text-align: center; font-family: "DejaVu Sans Mono", monospace; margin-bottom: 6mm; }
table { width: 100%; border-collapse: collapse; margin: 3mm 0; }
th, td { border: 1px solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
th { width: 38%; font-weight: normal; background: #f2f2f2; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
.warn { border: 1px solid #000; padding: 2mm 3mm; margin: 4mm 0; }
.preview { color: #a00; text-align: center; font-weight: bold; }
.sign { display: flex; justify-content: flex-end; margin-top: 10mm; text-align: center; }
.sign div { width: 80mm; }
section { break-inside: avoid; }
@media print { body { padding: 0; } .noprint { display: none; } }
`;

/** '6.9.b' → 'Điểm b khoản 9 Điều 6'; '6.9' → 'Khoản 9 Điều 6'. */
export function citationVi(citation: string): string {
  const [article, clause, point] = citation.split('.');
  const parts = [];
  if (point) parts.push(`điểm ${point}`);
  if (clause) parts.push(`khoản ${clause}`);
  parts.push(`Điều ${article ?? citation}`);
  const text = parts.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function row(label: string, value: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`;
}

export function renderNoticeHtml(d: NoticeDocument): string {
  const e = escapeHtml;
  const v = d.violation;
  const s = d.sanction;
  const preview = d.state === 'draft';
  const vehicle = VEHICLE_VI[v.vehicleClass] ?? v.vehicleClass;
  const colour = v.plateColor ? (PLATE_COLOUR_VI[v.plateColor] ?? v.plateColor) : 'không xác định';
  const ownerLabel = d.owner.kind === 'organisation' ? 'Tổ chức' : 'Ông/Bà';
  const fine = s.decided
    ? `${e(formatVnd(s.fineAmountVnd))} (theo quyết định xử phạt)`
    : `Từ ${e(formatVnd(s.fineMinVnd))} đến ${e(formatVnd(s.fineMaxVnd))}; mức phạt thông thường ${e(formatVnd(s.fineAmountVnd))}`;
  const evidence = d.evidence
    .map((a) => `<tr><td>${e(EVIDENCE_VI[a.kind] ?? a.kind)}</td><td class="hash">${e(a.sha256)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Thông báo vi phạm ${e(d.noticeCode)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <div><strong>${e(d.unit.name.toUpperCase())}</strong></div>
  <div><strong>CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM</strong><br><u>Độc lập - Tự do - Hạnh phúc</u></div>
</header>
${preview ? '<p class="preview">BẢN XEM TRƯỚC — CHƯA GỬI (draft)</p>' : ''}
<h1>Thông báo<br>về việc vi phạm hành chính trong lĩnh vực trật tự, an toàn giao thông đường bộ<br>phát hiện qua phương tiện, thiết bị kỹ thuật nghiệp vụ</h1>
<p class="code">Mã thông báo: <strong>${e(d.noticeCode)}</strong>${d.issuedAt ? ` · Ngày gửi: ${e(formatVnDate(d.issuedAt))}` : ''}</p>
<section>
<p>Kính gửi: ${e(ownerLabel)} <strong>${e(d.owner.name)}</strong><br>Địa chỉ: ${e(d.owner.address)}</p>
<p>là chủ phương tiện có đặc điểm dưới đây. ${e(d.unit.name)} thông báo phương tiện đã bị phát hiện vi phạm qua camera giám sát giao thông:</p>
<table>
${row('Loại phương tiện', e(vehicle))}
${row('Biển số', `<strong>${e(v.plate)}</strong> (${e(colour)})`)}
${row('Thời gian vi phạm', e(formatVnTime(v.observedAt)))}
${row('Địa điểm vi phạm', `${e(v.location || v.cameraName)} (camera ${e(v.cameraCode)} — ${e(v.cameraName)})`)}
${row('Hành vi vi phạm', e(v.behaviour))}
${v.measurement ? row('Số liệu đo', e(v.measurement)) : ''}
${row('Căn cứ pháp lý', `${e(citationVi(s.citation))} Nghị định số ${e(s.legalBasis)}`)}
${row('Mức phạt tiền', fine)}
${row('Trừ điểm giấy phép lái xe', s.points > 0 ? `${e(s.points)} điểm` : 'Không')}
${row('Đơn vị phát hiện', e(d.unit.name))}
</table>
${s.provisional ? '<p class="warn">Mức phạt áp dụng theo văn bản sửa đổi chưa được đối chiếu (tạm tính): mức phạt chính thức sẽ được xác định khi lập biên bản.</p>' : ''}
</section>
<section>
<p><strong>Đề nghị</strong> chủ phương tiện hoặc người điều khiển phương tiện tại thời điểm vi phạm đến
<strong>${e(d.unit.name)}</strong>, địa chỉ ${e(d.unit.address)}, điện thoại ${e(d.unit.phone)},
${d.deadlines.respondBy ? `chậm nhất đến hết ngày <strong>${e(formatVnDate(d.deadlines.respondBy))}</strong>` : 'trong thời hạn 20 ngày kể từ ngày nhận thông báo'}
để giải quyết; hoặc giải quyết trực tuyến trên Cổng dịch vụ công quốc gia hoặc ứng dụng VNeTraffic.
Người vi phạm nộp phạt trong thời hạn 10 ngày kể từ ngày nhận quyết định xử phạt; quá hạn phải nộp thêm 0,05% số tiền phạt chưa nộp cho mỗi ngày chậm nộp.</p>
<p>Quá thời hạn trên mà không đến giải quyết, cơ quan công an sẽ thông báo cho cơ quan đăng kiểm và đăng ký xe
(tạm dừng kiểm định, giải quyết thủ tục đăng ký) cho đến khi chấp hành xong.
Trường hợp chủ phương tiện không phải người điều khiển phương tiện khi vi phạm, đề nghị cung cấp thông tin người điều khiển.</p>
${d.deadlines.payBy ? `<p>Hạn nộp phạt theo quyết định: <strong>${e(formatVnDate(d.deadlines.payBy))}</strong>.</p>` : ''}
<p class="warn">Lực lượng Cảnh sát giao thông <strong>không</strong> thông báo vi phạm hoặc yêu cầu nộp phạt qua điện thoại.
Kiểm tra thông báo này bằng mã <strong>${e(d.noticeCode)}</strong>${d.lookupUrl ? ` tại ${e(d.lookupUrl)}` : ''} hoặc tại ${e(d.unit.name)}.</p>
</section>
<section>
<p><strong>Chứng cứ</strong> (mã SHA-256 của từng tệp, đối chiếu được khi xem chứng cứ; vi phạm số ${e(v.id)}):</p>
<table>${evidence || '<tr><td colspan="2">Không có tệp chứng cứ</td></tr>'}</table>
</section>
<div class="sign"><div>${e(formatVnDate(d.issuedAt ?? d.printedAt))}<br><strong>${e(d.unit.name)}</strong><br><br><br></div></div>
<p class="noprint"><small>In lúc ${e(formatVnTime(d.printedAt))}. Văn bản chứa dữ liệu cá nhân: chỉ dùng để gửi cho chủ phương tiện.</small></p>
</body>
</html>
`;
}
