// The citizen lookup page: solve the server's proof of work in a Web Worker, then look up the plate;
// Vietnamese first, English on request. Everything shown comes from the API and is set as text, never HTML.
import { searchNonce } from './pow.js';

const STRINGS = {
  vi: {
    skip: 'Bỏ qua đến nội dung chính',
    title: 'Tra cứu vi phạm giao thông qua hình ảnh',
    lookupHeading: 'Tra cứu theo biển số',
    intro:
      'Nhập biển số và loại phương tiện. Kết quả chỉ gồm các vi phạm đã được cán bộ xác nhận; không hiển thị thông tin chủ phương tiện. Cơ quan công an không thông báo phạt nguội qua điện thoại.',
    plate: 'Biển số xe',
    plateHint: 'Ví dụ: 30A-123.45, 29-MĐ1 013.53 (có thể gõ D thay Đ)',
    plateInvalid: 'Biển số gồm 4 đến 12 chữ cái và chữ số.',
    vehicleType: 'Loại phương tiện',
    car: 'Ô tô',
    motorbike: 'Xe máy, xe máy điện',
    search: 'Tra cứu',
    solving: 'Đang xác minh trình duyệt (vài giây)…',
    searching: 'Đang tra cứu…',
    results: 'Kết quả',
    none: 'Không có vi phạm đã xác nhận nào của biển số {plate}.',
    found: 'Biển số {plate}: {n} vi phạm đã xác nhận.',
    time: 'Thời gian',
    place: 'Địa điểm',
    behaviour: 'Hành vi',
    status: 'Trạng thái',
    fine: 'Mức phạt',
    fineRange: '{min} – {max} đồng',
    decided: 'Đã quyết định: {amount} đồng',
    points: 'Trừ {n} điểm giấy phép lái xe',
    basis: 'Căn cứ',
    provisional: '(mức phạt chưa được đối chiếu với văn bản sửa đổi)',
    detectingUnit: 'Đơn vị phát hiện',
    resolvingUnit: 'Nơi giải quyết',
    phone: 'Điện thoại',
    plateColor: 'Màu biển',
    thumbnail: 'Ảnh vi phạm: chỉ phương tiện vi phạm được hiển thị rõ, phần còn lại được làm mờ',
    unknown: 'Chưa rõ',
    colors: { white: 'trắng', yellow: 'vàng', blue: 'xanh', red: 'đỏ' },
    rateLimited: 'Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {s} giây.',
    failed: 'Không tra cứu được lúc này. Vui lòng thử lại sau.',
    ownerHeading: 'Chủ phương tiện: xem toàn bộ chứng cứ',
    ownerIntro: 'Nhập mã thông báo in trên thông báo vi phạm bạn nhận được và biển số xe.',
    noticeCode: 'Mã thông báo',
    openEvidence: 'Xem chứng cứ',
    ownerNotFound: 'Không có thông báo nào với mã này cho biển số này.',
    verified: 'Chứng cứ toàn vẹn: mọi tệp khớp mã băm và chữ ký số hợp lệ.',
    notVerified: 'Cảnh báo: kiểm tra chứng cứ không đạt — {problems}',
    kinds: {
      still_before: 'Ảnh trước vi phạm',
      still_at: 'Ảnh lúc vi phạm',
      still_after: 'Ảnh sau vi phạm',
      vehicle_crop: 'Ảnh phương tiện',
      plate_crop: 'Ảnh biển số',
      clip: 'Video',
      manifest: 'Biên bản chứng cứ (JSON, có chữ ký số)',
      signature: 'Chữ ký',
    },
    switchTo: 'English',
    footer: 'Căn cứ: Nghị định 168/2024/NĐ-CP; Thông tư 73/2024/TT-BCA, Điều 24.',
  },
  en: {
    skip: 'Skip to main content',
    title: 'Camera traffic fine lookup',
    lookupHeading: 'Look up by plate',
    intro:
      'Enter the plate and the vehicle type. Only violations confirmed by an officer are listed; no owner information is shown. The police never notify camera fines by phone.',
    plate: 'Licence plate',
    plateHint: 'For example 30A-123.45, 29-MĐ1 013.53 (D may be typed for Đ)',
    plateInvalid: 'A plate has 4 to 12 letters and digits.',
    vehicleType: 'Vehicle type',
    car: 'Car',
    motorbike: 'Motorbike or e-motorbike',
    search: 'Look up',
    solving: 'Checking your browser (a few seconds)…',
    searching: 'Looking up…',
    results: 'Results',
    none: 'No confirmed violations for plate {plate}.',
    found: 'Plate {plate}: {n} confirmed violation(s).',
    time: 'Time',
    place: 'Place',
    behaviour: 'Behaviour',
    status: 'Status',
    fine: 'Fine',
    fineRange: '{min} – {max} VND',
    decided: 'Decided: {amount} VND',
    points: '{n} licence points deducted',
    basis: 'Legal basis',
    provisional: '(amounts not yet checked against the amending decree)',
    detectingUnit: 'Detected by',
    resolvingUnit: 'Resolved by',
    phone: 'Phone',
    plateColor: 'Plate colour',
    thumbnail: 'Violation image: only the offending vehicle is shown sharp, the rest is blurred',
    unknown: 'Unknown',
    colors: { white: 'white', yellow: 'yellow', blue: 'blue', red: 'red' },
    rateLimited: 'Too many lookups. Please try again in {s} seconds.',
    failed: 'The lookup is unavailable right now. Please try again later.',
    ownerHeading: 'Vehicle owners: see the full evidence',
    ownerIntro: 'Enter the notice code printed on the notice you received, and the plate.',
    noticeCode: 'Notice code',
    openEvidence: 'Open evidence',
    ownerNotFound: 'No notice with this code for this plate.',
    verified: 'Evidence intact: every file matches its hash and the digital signature is valid.',
    notVerified: 'Warning: the evidence check failed — {problems}',
    kinds: {
      still_before: 'Before the violation',
      still_at: 'At the violation',
      still_after: 'After the violation',
      vehicle_crop: 'Vehicle',
      plate_crop: 'Plate',
      clip: 'Video',
      manifest: 'Evidence manifest (signed JSON)',
      signature: 'Signature',
    },
    switchTo: 'Tiếng Việt',
    footer: 'Legal basis: Decree 168/2024/NĐ-CP; Circular 73/2024/TT-BCA, Article 24.',
  },
};

let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'vi';
let lastAnswer;
let lastOwner;
const $ = (id) => document.getElementById(id);
const t = (key, vars = {}) =>
  String(STRINGS[lang][key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
const money = (n) => new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB').format(n);
const when = (iso) =>
  new Date(iso).toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh' });
const compact = (s) =>
  s
    .normalize('NFC')
    .replace(/đ/g, 'Đ')
    .toUpperCase()
    .replace(/[^A-Z0-9Đ]/g, '');

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const button = $('lang');
  button.textContent = t('switchTo');
  button.lang = lang === 'vi' ? 'en' : 'vi';
  document.title = t('title');
  if (lastAnswer) renderResults(lastAnswer);
  if (lastOwner) renderOwner(lastOwner);
}

/** Solves a challenge in a Web Worker (module workers), or on this thread in slices where there is none. */
function solve(challenge, bits, onProgress) {
  if (typeof Worker === 'function') {
    return new Promise((resolve, reject) => {
      let worker;
      try {
        worker = new Worker('/pow-worker.js', { type: 'module' });
      } catch {
        resolve(solveHere(challenge, bits, onProgress));
        return;
      }
      worker.onmessage = (e) => {
        if (e.data.progress !== undefined) onProgress(e.data.progress);
        else if (e.data.nonce !== undefined) {
          worker.terminate();
          resolve(e.data.nonce);
        } else {
          worker.terminate();
          reject(new Error(e.data.error));
        }
      };
      worker.onerror = () => {
        worker.terminate();
        resolve(solveHere(challenge, bits, onProgress));
      };
      worker.postMessage({ challenge, bits });
    });
  }
  return solveHere(challenge, bits, onProgress);
}

async function solveHere(challenge, bits, onProgress) {
  const slice = 5000;
  for (let start = 0; ; start += slice) {
    const nonce = searchNonce(challenge, bits, start, slice);
    if (nonce !== undefined) return nonce;
    onProgress(Math.min(0.99, 1 - Math.exp(-(start + slice) / 2 ** bits)));
    await new Promise((r) => setTimeout(r, 0));
  }
}

async function errorText(res) {
  if (res.status === 429) return t('rateLimited', { s: res.headers.get('Retry-After') ?? '60' });
  try {
    const body = await res.json();
    if (res.status === 400 && body?.error?.code === 'bad_request') return t('plateInvalid');
  } catch {
    // not JSON: fall through to the generic message
  }
  return t('failed');
}

function cell(dl, label, value) {
  if (value === null || value === undefined || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  dl.append(dt, dd);
}

function renderResults(answer) {
  $('results').hidden = false;
  $('summary').textContent =
    answer.items.length === 0
      ? t('none', { plate: answer.plate })
      : t('found', { plate: answer.plate, n: answer.items.length });
  const list = $('items');
  list.replaceChildren();
  for (const item of answer.items) {
    const li = document.createElement('li');
    li.className = 'item';
    const h3 = document.createElement('h3');
    h3.textContent = item.behaviour[lang] || item.behaviour.vi;
    li.append(h3);
    if (item.thumbnailUrl) {
      const img = document.createElement('img');
      img.src = item.thumbnailUrl;
      img.alt = t('thumbnail');
      img.loading = 'lazy';
      img.width = 480;
      li.append(img);
    }
    const dl = document.createElement('dl');
    cell(dl, t('time'), when(item.observedAt));
    cell(dl, t('place'), `${item.place.name} — ${item.place.address}`);
    cell(dl, t('status'), item.status[lang]);
    cell(dl, t('plateColor'), item.plateColor ? STRINGS[lang].colors[item.plateColor] : null);
    if (item.fine) {
      const parts = [t('fineRange', { min: money(item.fine.minVnd), max: money(item.fine.maxVnd) })];
      if (item.fine.decidedVnd !== null) parts.push(t('decided', { amount: money(item.fine.decidedVnd) }));
      if (item.fine.points > 0) parts.push(t('points', { n: item.fine.points }));
      cell(dl, t('fine'), parts.join('; '));
      cell(
        dl,
        t('basis'),
        `${lang === 'vi' ? 'Điểm' : 'Point'} ${item.fine.citation}, ${item.fine.legalBasis}${item.fine.provisional ? ` ${t('provisional')}` : ''}`,
      );
    }
    cell(dl, t('detectingUnit'), item.detectingUnit);
    if (item.resolvingUnit) {
      const tel = document.createElement('a');
      tel.href = `tel:${item.resolvingUnit.phone.replace(/[^0-9+]/g, '')}`;
      tel.textContent = item.resolvingUnit.phone;
      cell(dl, t('resolvingUnit'), `${item.resolvingUnit.name} — ${item.resolvingUnit.address}`);
      cell(dl, t('phone'), tel);
    }
    li.append(dl);
    list.append(li);
  }
  $('results-h').focus?.();
}

function renderOwner(answer) {
  const box = $('owner-result');
  box.hidden = false;
  box.replaceChildren();
  const verdict = document.createElement('p');
  verdict.className = answer.verification.ok ? 'ok' : 'error';
  verdict.textContent = answer.verification.ok
    ? t('verified')
    : t('notVerified', { problems: answer.verification.problems.join('; ') });
  const dl = document.createElement('dl');
  cell(dl, t('noticeCode'), answer.noticeCode);
  cell(dl, t('time'), when(answer.observedAt));
  cell(dl, t('place'), `${answer.place.name} — ${answer.place.address}`);
  cell(dl, t('fine'), `${money(answer.fine.amountVnd)} ${lang === 'vi' ? 'đồng' : 'VND'}`);
  cell(dl, t('basis'), `${answer.fine.citation}, ${answer.fine.legalBasis}`);
  const list = document.createElement('ul');
  list.className = 'evidence';
  for (const e of answer.evidence) {
    const li = document.createElement('li');
    const label = STRINGS[lang].kinds[e.kind] ?? e.kind;
    if (e.mediaType === 'image/jpeg') {
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.src = e.url;
      img.alt = label;
      img.loading = 'lazy';
      const caption = document.createElement('figcaption');
      caption.textContent = `${label} · sha256 ${e.sha256.slice(0, 16)}…`;
      figure.append(img, caption);
      li.append(figure);
    } else if (e.mediaType === 'video/mp4') {
      const video = document.createElement('video');
      video.src = e.url;
      video.controls = true;
      video.setAttribute('aria-label', label);
      li.append(video);
    } else {
      const a = document.createElement('a');
      a.href = e.url;
      a.textContent = `${label} (sha256 ${e.sha256.slice(0, 16)}…)`;
      li.append(a);
    }
    list.append(li);
  }
  box.append(verdict, dl, list);
}

$('lookup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const plate = $('plate').value;
  const error = $('plate-error');
  if (!/^[A-Z0-9Đ]{4,12}$/.test(compact(plate))) {
    error.textContent = t('plateInvalid');
    error.hidden = false;
    $('plate').setAttribute('aria-invalid', 'true');
    $('plate').focus();
    return;
  }
  error.hidden = true;
  $('plate').removeAttribute('aria-invalid');
  const vehicleType = new FormData(event.target).get('vehicleType');
  const status = $('status');
  const progress = $('progress');
  const submit = $('submit');
  submit.disabled = true;
  try {
    status.textContent = t('solving');
    progress.hidden = false;
    progress.value = 0;
    const challengeRes = await fetch('/api/public/challenge', { cache: 'no-store' });
    if (!challengeRes.ok) throw Object.assign(new Error('challenge'), { res: challengeRes });
    const { challenge, bits } = await challengeRes.json();
    const nonce = await solve(challenge, bits, (p) => (progress.value = p));
    progress.value = 1;
    status.textContent = t('searching');
    const res = await fetch('/api/public/lookup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ plate, vehicleType, challenge, nonce }),
    });
    if (!res.ok) throw Object.assign(new Error('lookup'), { res });
    lastAnswer = await res.json();
    status.textContent = '';
    renderResults(lastAnswer);
  } catch (err) {
    status.textContent = err.res ? await errorText(err.res) : t('failed');
  } finally {
    progress.hidden = true;
    submit.disabled = false;
  }
});

$('owner-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('owner-status');
  const form = new FormData(event.target);
  status.textContent = t('searching');
  try {
    const res = await fetch('/api/public/owner', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ noticeCode: form.get('noticeCode'), plate: form.get('plate') }),
    });
    if (res.status === 404) {
      status.textContent = t('ownerNotFound');
      $('owner-result').hidden = true;
      return;
    }
    if (!res.ok) {
      status.textContent = await errorText(res);
      return;
    }
    lastOwner = await res.json();
    status.textContent = '';
    renderOwner(lastOwner);
  } catch {
    status.textContent = t('failed');
  }
});

$('lang').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('lang', lang);
  applyLanguage();
});

applyLanguage();
