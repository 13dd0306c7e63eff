import { createI18n } from './i18n.js';
import { api, ApiError, el, formatTime, hasRole, setupStaffShell, STAFF_STRINGS } from './staff.js';

const RULES = [
  'red_light',
  'stop_line',
  'wrong_way',
  'wrong_lane',
  'speeding',
  'sidewalk',
  'no_parking',
  'intersection_stopping',
];

const STRINGS = {
  vi: {
    ...STAFF_STRINGS.vi,
    title: 'Xét duyệt vi phạm',
    notReviewer: 'Tài khoản này không có quyền xét duyệt.',
    queueHeading: 'Hàng đợi xét duyệt',
    stage: 'Cấp xét duyệt',
    stageFirst: 'Lần đầu',
    stageSecond: 'Lần hai (cấp trên)',
    camera: 'Camera',
    rule: 'Hành vi',
    all: 'Tất cả',
    from: 'Từ',
    to: 'Đến',
    minConfidence: 'Độ tin cậy biển số từ',
    maxConfidence: 'đến',
    applyFilters: 'Lọc',
    clearFilters: 'Xoá bộ lọc',
    observedAt: 'Thời điểm',
    plate: 'Biển số',
    confidence: 'Độ tin cậy',
    statusCol: 'Trạng thái',
    actions: 'Thao tác',
    more: 'Xem thêm',
    claim: 'Nhận xử lý',
    claimCase: (id) => `Nhận xử lý vụ việc ${id}`,
    queueTotal: (n, shown) => `${n} vụ việc chờ xét duyệt (đang hiện ${shown})`,
    queueEmpty: 'Không còn vụ việc nào chờ xét duyệt.',
    loading: 'Đang tải…',
    noPlate: 'chưa đọc được',
    backToQueue: '← Về hàng đợi',
    caseTitle: (id, rule) => `Vụ việc #${id} — ${rule}`,
    claimMine: (until) => `Bạn đang giữ vụ việc này đến ${until}.`,
    claimLost: 'Quyền xử lý đã hết hạn: nhận lại trước khi quyết định.',
    evidence: 'Chứng cứ',
    still_before: 'Trước vi phạm',
    still_at: 'Thời điểm vi phạm',
    still_after: 'Sau vi phạm',
    plate_crop: 'Ảnh biển số',
    vehicle_crop: 'Ảnh phương tiện',
    clipLabel: 'Đoạn video',
    noClip: (why) => `Không có video: ${why}`,
    plateHeading: 'Biển số',
    plateHistory: 'Lịch sử biển số và xét duyệt',
    originalRead: (p, c) => `Đọc tự động: ${p} (độ tin cậy ${c})`,
    noOriginal: 'Hệ thống không đọc được biển số.',
    consensusAgreement: 'Mức đồng thuận',
    consensusSupport: 'Số lần đọc trùng',
    consensusReasons: 'Cần người xem vì',
    consensusAlternatives: 'Cách đọc khác',
    none: 'không có',
    reviewLine: (r) =>
      `${r.stage === 'second' ? 'Cấp trên' : 'Lần đầu'} · ${r.decisionText} · cán bộ #${r.reviewerId}`,
    decisionapprove: 'duyệt',
    decisionreject: 'bác bỏ',
    decisionescalate: 'chuyển cấp trên',
    plateChanged: (a, b) => `Biển số sửa: ${a} → ${b}`,
    verifyHeading: 'Kiểm tra tính toàn vẹn',
    verifying: 'Đang kiểm tra chữ ký và mã băm…',
    verifiedPinned: (n, key) =>
      `Đã xác minh: ${n} tệp khớp mã băm; chữ ký hợp lệ với khoá của hệ thống (${key}).`,
    verifiedEmbedded: (n, key) =>
      `Toàn vẹn: ${n} tệp khớp mã băm; chữ ký hợp lệ với khoá ghi trong biên bản (${key}) — chưa đối chiếu khoá của hệ thống.`,
    notVerified: (n) => `KHÔNG xác minh được: ${n} lỗi. Không nên duyệt.`,
    verifyFailed: (m) => `Không kiểm tra được: ${m}`,
    verifyAgain: 'Kiểm tra lại',
    decideHeading: 'Quyết định',
    approve: 'Duyệt',
    reject: 'Bác bỏ',
    correctPlate: 'Sửa biển số',
    escalate: 'Chuyển cấp trên',
    release: 'Trả lại hàng đợi',
    reason: 'Lý do bác bỏ',
    note: 'Ghi chú',
    confirmReject: 'Xác nhận bác bỏ',
    cancel: 'Huỷ',
    correctedPlate: 'Biển số đúng (theo hình ảnh)',
    correctHint: 'Biển số đã sửa luôn được cấp trên duyệt lần hai. Biển số gốc được giữ lại.',
    approveCorrected: 'Duyệt với biển số đã sửa',
    escalateNote: 'Điều cần cấp trên xem xét',
    confirmEscalate: 'Chuyển cấp trên',
    outcomeApproved: 'Đã duyệt.',
    outcomeRejected: 'Đã bác bỏ.',
    outcomeSecond: (reasons) => `Đã chuyển cấp trên duyệt lần hai (${reasons}).`,
    outcomeReleased: 'Đã trả vụ việc về hàng đợi.',
    caseOpened: (id, code) => `Đã lập hồ sơ phạt #${id} (mã ${code}).`,
    fineLine: (amount, min, max, citation) =>
      `Mức phạt đề xuất ${amount} (khung ${min}–${max}), điểm ${citation}.`,
    noticeLink: 'Xem và in thông báo vi phạm',
    caseNotOpened: (why) => `Chưa lập hồ sơ phạt: ${why}`,
    no_plate: 'không có biển số',
    vehicle_class_not_fined: 'loại phương tiện không bị xử phạt theo luật này',
    no_sanction_rule: 'chưa có quy định xử phạt cho hành vi này',
    plate_corrected: 'biển số đã sửa',
    low_confidence: 'độ tin cậy thấp',
    confidence_unknown: 'không rõ độ tin cậy',
    escalated: 'cán bộ đề nghị',
    nextHint: 'Nhấn N để nhận vụ việc tiếp theo.',
    manifestHeading: 'Biên bản chứng cứ (manifest)',
    rawJson: 'JSON gốc',
    mCamera: 'Camera',
    mObserved: 'Thời điểm vi phạm',
    mRule: 'Hành vi',
    mVehicle: 'Loại phương tiện',
    mScene: 'Phiên bản cấu hình cảnh',
    mModels: 'Mô hình',
    mDetails: 'Chi tiết',
    mFiles: 'Tệp chứng cứ',
    mSigned: 'Chữ ký',
    mClip: 'Video',
    mProducedBy: 'Tạo bởi',
    unsigned: 'không có chữ ký',
    shortcuts: 'Phím tắt',
    shortcutsHint: 'Phím tắt: nhấn',
    close: 'Đóng',
    kApprove: 'Duyệt vụ việc đang mở',
    kReject: 'Bác bỏ (chọn lý do)',
    kCorrect: 'Sửa biển số rồi duyệt',
    kEscalate: 'Chuyển cấp trên',
    kRelease: 'Trả vụ việc về hàng đợi',
    kNext: 'Nhận vụ việc tiếp theo',
    kVerify: 'Kiểm tra lại tính toàn vẹn',
    kHelp: 'Hiện/ẩn bảng này',
    kEscape: 'Đóng biểu mẫu hoặc bảng này',
    status_flagged: 'Chờ xét duyệt',
    status_in_review: 'Đang xét duyệt',
    status_second_review: 'Chờ cấp trên',
    status_approved: 'Đã duyệt',
    status_rejected: 'Đã bác bỏ',
    rule_red_light: 'Vượt đèn đỏ',
    rule_stop_line: 'Dừng quá vạch dừng',
    rule_wrong_way: 'Đi ngược chiều',
    rule_wrong_lane: 'Đi sai làn đường',
    rule_speeding: 'Chạy quá tốc độ',
    rule_sidewalk: 'Đi trên vỉa hè',
    rule_no_parking: 'Dừng, đỗ xe nơi cấm',
    rule_intersection_stopping: 'Dừng, đỗ xe tại nút giao, điểm đón trả khách',
    error: (m) => `Lỗi: ${m}`,
    conflict: (m) => `Không thực hiện được (vụ việc đã thay đổi): ${m}`,
  },
  en: {
    ...STAFF_STRINGS.en,
    title: 'Violation review',
    notReviewer: 'This account may not review.',
    queueHeading: 'Review queue',
    stage: 'Review stage',
    stageFirst: 'First review',
    stageSecond: 'Second review (supervisor)',
    camera: 'Camera',
    rule: 'Offence',
    all: 'All',
    from: 'From',
    to: 'To',
    minConfidence: 'Plate confidence from',
    maxConfidence: 'to',
    applyFilters: 'Filter',
    clearFilters: 'Clear filters',
    observedAt: 'Time',
    plate: 'Plate',
    confidence: 'Confidence',
    statusCol: 'Status',
    actions: 'Actions',
    more: 'Show more',
    claim: 'Claim',
    claimCase: (id) => `Claim case ${id}`,
    queueTotal: (n, shown) => `${n} cases waiting (${shown} shown)`,
    queueEmpty: 'No case is waiting for review.',
    loading: 'Loading…',
    noPlate: 'not read',
    backToQueue: '← Back to the queue',
    caseTitle: (id, rule) => `Case #${id} — ${rule}`,
    claimMine: (until) => `You hold this case until ${until}.`,
    claimLost: 'Your claim has expired: claim the case again before deciding.',
    evidence: 'Evidence',
    still_before: 'Before the act',
    still_at: 'At the act',
    still_after: 'After the act',
    plate_crop: 'Plate crop',
    vehicle_crop: 'Vehicle crop',
    clipLabel: 'Video clip',
    noClip: (why) => `No video: ${why}`,
    plateHeading: 'Plate',
    plateHistory: 'Plate and review history',
    originalRead: (p, c) => `Read by the system: ${p} (confidence ${c})`,
    noOriginal: 'The system could not read the plate.',
    consensusAgreement: 'Agreement',
    consensusSupport: 'Matching reads',
    consensusReasons: 'Needs a person because',
    consensusAlternatives: 'Other readings',
    none: 'none',
    reviewLine: (r) =>
      `${r.stage === 'second' ? 'Supervisor' : 'First review'} · ${r.decisionText} · officer #${r.reviewerId}`,
    decisionapprove: 'approved',
    decisionreject: 'rejected',
    decisionescalate: 'escalated',
    plateChanged: (a, b) => `Plate corrected: ${a} → ${b}`,
    verifyHeading: 'Integrity check',
    verifying: 'Checking the signature and hashes…',
    verifiedPinned: (n, key) =>
      `Verified: ${n} files match their hashes; signed with the deployment key (${key}).`,
    verifiedEmbedded: (n, key) =>
      `Intact: ${n} files match their hashes; the signature holds for the key in the manifest (${key}), not checked against the deployment key.`,
    notVerified: (n) => `NOT verified: ${n} problems. Do not approve.`,
    verifyFailed: (m) => `Could not check: ${m}`,
    verifyAgain: 'Check again',
    decideHeading: 'Decision',
    approve: 'Approve',
    reject: 'Reject',
    correctPlate: 'Correct plate',
    escalate: 'Escalate',
    release: 'Release',
    reason: 'Reason',
    note: 'Note',
    confirmReject: 'Reject',
    cancel: 'Cancel',
    correctedPlate: 'The plate as the evidence shows it',
    correctHint: 'A corrected plate always goes to a supervisor. The original read is kept.',
    approveCorrected: 'Approve with this plate',
    escalateNote: 'What the supervisor should look at',
    confirmEscalate: 'Escalate',
    outcomeApproved: 'Approved.',
    outcomeRejected: 'Rejected.',
    outcomeSecond: (reasons) => `Sent to a supervisor for a second review (${reasons}).`,
    outcomeReleased: 'The case is back in the queue.',
    caseOpened: (id, code) => `Fine case #${id} opened (code ${code}).`,
    fineLine: (amount, min, max, citation) =>
      `Proposed fine ${amount} (range ${min}–${max}), point ${citation}.`,
    noticeLink: 'Open and print the notice',
    caseNotOpened: (why) => `No fine case: ${why}`,
    no_plate: 'no plate',
    vehicle_class_not_fined: 'this vehicle class is not fined under this rule',
    no_sanction_rule: 'no sanction is defined for this offence',
    plate_corrected: 'plate corrected',
    low_confidence: 'low confidence',
    confidence_unknown: 'confidence unknown',
    escalated: 'asked by the reviewer',
    nextHint: 'Press N for the next case.',
    manifestHeading: 'Evidence manifest',
    rawJson: 'Raw JSON',
    mCamera: 'Camera',
    mObserved: 'Time of the act',
    mRule: 'Offence',
    mVehicle: 'Vehicle class',
    mScene: 'Scene configuration version',
    mModels: 'Models',
    mDetails: 'Details',
    mFiles: 'Evidence files',
    mSigned: 'Signature',
    mClip: 'Video',
    mProducedBy: 'Produced by',
    unsigned: 'unsigned',
    shortcuts: 'Keyboard shortcuts',
    shortcutsHint: 'Keyboard shortcuts: press',
    close: 'Close',
    kApprove: 'Approve the open case',
    kReject: 'Reject (choose a reason)',
    kCorrect: 'Correct the plate, then approve',
    kEscalate: 'Escalate to a supervisor',
    kRelease: 'Give the case back to the queue',
    kNext: 'Claim the next case',
    kVerify: 'Check integrity again',
    kHelp: 'Show or hide this list',
    kEscape: 'Close a form or this list',
    status_flagged: 'Waiting',
    status_in_review: 'In review',
    status_second_review: 'Second review',
    status_approved: 'Approved',
    status_rejected: 'Rejected',
    rule_red_light: 'Red light',
    rule_stop_line: 'Stopped past the stop line',
    rule_wrong_way: 'Wrong way',
    rule_wrong_lane: 'Wrong lane',
    rule_speeding: 'Speeding',
    rule_sidewalk: 'On the sidewalk',
    rule_no_parking: 'No stopping or parking',
    rule_intersection_stopping: 'Stopping in an intersection or at a bus stop',
    error: (m) => `Error: ${m}`,
    conflict: (m) => `Not done (the case changed): ${m}`,
  },
};

const i18n = createI18n(STRINGS);
const { t } = i18n;
const $ = (id) => document.getElementById(id);

const state = {
  me: undefined,
  reasons: [],
  items: [],
  nextCursor: null,
  /** The open case (violation detail) and its manifest. */
  current: undefined,
  manifest: undefined,
  verification: undefined,
  outcome: undefined,
};

const ruleName = (code) => (RULES.includes(code) ? t(`rule_${code}`) : code);
const statusName = (s) => t(`status_${s}`);
const conf = (c) => (c === null || c === undefined ? '—' : c.toFixed(2));
const vnd = (n) =>
  new Intl.NumberFormat(i18n.lang === 'en' ? 'en-GB' : 'vi-VN', {
    style: 'currency',
    currency: 'VND',
    maximumFractionDigits: 0,
  }).format(n);

function say(text) {
  $('status').textContent = text;
}

function showError(err) {
  say(err instanceof ApiError && err.status === 409 ? t('conflict', err.message) : t('error', err.message));
}

// ------------------------------------------------------------------------------------------------
// Sign-in

const shell = setupStaffShell({
  i18n,
  roles: ['reviewer', 'supervisor'],
  deniedKey: 'notReviewer',
  sections: ['queue', 'case'],
  onSignedIn: (me) => {
    state.me = me;
    $('stage-field').hidden = !hasRole(me, ['supervisor']);
    void loadReasons();
    void fillFilters();
    showQueue();
  },
  onSignedOut: () => {
    state.me = undefined;
    state.current = undefined;
  },
  onLanguage: () => {
    fillRuleOptions();
    renderReasons();
    renderQueue();
    if (state.current) renderCase();
  },
});

// ------------------------------------------------------------------------------------------------
// The queue

async function loadReasons() {
  try {
    state.reasons = (await api('/api/review/reasons')).items;
    renderReasons();
  } catch (err) {
    showError(err);
  }
}

function renderReasons() {
  const select = $('reason');
  const chosen = select.value;
  select.replaceChildren(
    ...state.reasons.map((r) => el('option', { value: r.code }, i18n.lang === 'en' ? r.en : r.vi)),
  );
  if (chosen) select.value = chosen;
}

function fillRuleOptions() {
  const select = $('f-rule');
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '' }, t('all')),
    ...RULES.map((r) => el('option', { value: r }, ruleName(r))),
  );
  select.value = chosen;
}

async function fillFilters() {
  fillRuleOptions();
  try {
    const cameras = (await api('/api/cameras')).items;
    const select = $('f-camera');
    select.replaceChildren(
      el('option', { value: '' }, t('all')),
      ...cameras.map((c) => el('option', { value: String(c.id) }, `${c.code} — ${c.name}`)),
    );
  } catch (err) {
    showError(err);
  }
}

function queueQuery(cursor) {
  const f = new FormData($('filters'));
  const q = new URLSearchParams();
  const stage = hasRole(state.me, ['supervisor']) ? String(f.get('stage') || 'first') : 'first';
  q.set('stage', stage);
  for (const k of ['camera', 'rule', 'minConfidence', 'maxConfidence']) {
    const v = String(f.get(k) ?? '').trim();
    if (v) q.set(k, v);
  }
  for (const k of ['from', 'to']) {
    const v = String(f.get(k) ?? '');
    if (v) q.set(k, new Date(v).toISOString());
  }
  q.set('limit', '25');
  if (cursor) q.set('cursor', cursor);
  return q;
}

async function loadQueue({ append = false } = {}) {
  try {
    const page = await api(`/api/review/queue?${queueQuery(append ? state.nextCursor : undefined)}`);
    state.items = append ? [...state.items, ...page.items] : page.items;
    state.total = page.total;
    state.nextCursor = page.nextCursor;
    renderQueue();
  } catch (err) {
    showError(err);
  }
}

function renderQueue() {
  const rows = $('queue-rows');
  rows.replaceChildren(
    ...state.items.map((v) =>
      el(
        'tr',
        { dataset: { id: String(v.id) } },
        el('td', {}, String(v.id)),
        el('td', {}, formatTime(v.observedAt, i18n.lang)),
        el('td', {}, v.cameraCode),
        el('td', {}, ruleName(v.ruleCode)),
        el('td', { class: 'plate' }, v.plate ?? t('noPlate')),
        el(
          'td',
          { class: v.plateConfidence !== null && v.plateConfidence < 0.9 ? 'low' : '' },
          conf(v.plateConfidence),
        ),
        el('td', {}, statusName(v.status)),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'claim',
              'aria-label': t('claimCase', v.id),
              onclick: () => claim(v.id),
            },
            t('claim'),
          ),
        ),
      ),
    ),
  );
  $('queue-total').textContent =
    state.items.length === 0 ? t('queueEmpty') : t('queueTotal', state.total, state.items.length);
  $('more').hidden = !state.nextCursor;
}

$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  void loadQueue();
});
$('filters').addEventListener('reset', () => setTimeout(() => void loadQueue(), 0));
$('f-stage').addEventListener('change', () => void loadQueue());
$('more').addEventListener('click', () => void loadQueue({ append: true }));

function showQueue() {
  state.current = undefined;
  $('case').hidden = true;
  $('queue').hidden = false;
  void loadQueue();
}

$('back').addEventListener('click', () => showQueue());

// ------------------------------------------------------------------------------------------------
// A case

async function claim(id) {
  say(t('loading'));
  try {
    await api(`/api/review/${id}/claim`, { method: 'POST' });
    await openCase(id);
  } catch (err) {
    showError(err);
    void loadQueue();
  }
}

/** Claims the oldest case in the queue that is not the one just decided. */
async function claimNext() {
  await loadQueue();
  const next = state.items.find((v) => v.id !== state.current?.id);
  if (next) await claim(next.id);
  else {
    showQueue();
    say(t('queueEmpty'));
  }
}

async function openCase(id) {
  const v = await api(`/api/violations/${id}`);
  state.current = v;
  state.manifest = undefined;
  state.verification = undefined;
  state.outcome = undefined;
  $('queue').hidden = true;
  $('case').hidden = false;
  closeSubforms();
  renderCase();
  say('');
  $('case').focus();
  void loadManifest(v);
  void verify();
}

function evidenceOf(kind) {
  return state.current?.evidence.find((e) => e.kind === kind);
}

function renderCase() {
  const v = state.current;
  $('case-h').textContent = t('caseTitle', v.id, ruleName(v.ruleCode));
  $('claim-info').textContent =
    v.claim?.mine && v.claim.live
      ? t('claimMine', formatTime(v.claim.expiresAt, i18n.lang))
      : state.outcome
        ? ''
        : t('claimLost');

  $('stills').replaceChildren(
    ...['still_before', 'still_at', 'still_after']
      .map((kind) => [kind, evidenceOf(kind)])
      .filter(([, e]) => e)
      .map(([kind, e]) => figure(e, t(kind), kind === 'still_at' ? 'at' : '')),
  );
  $('crops').replaceChildren(
    ...['plate_crop', 'vehicle_crop']
      .map((kind) => [kind, evidenceOf(kind)])
      .filter(([, e]) => e)
      .map(([kind, e]) => figure(e, t(kind), 'crop')),
  );
  const clip = evidenceOf('clip');
  const clipSection = state.manifest?.clip;
  $('clip').replaceChildren(
    clip
      ? el(
          'figure',
          {},
          el('video', {
            src: clip.url,
            controls: true,
            preload: 'metadata',
            playsinline: true,
            'aria-label': t('clipLabel'),
          }),
          el('figcaption', {}, t('clipLabel')),
        )
      : clipSection?.status === 'missing'
        ? el('p', { class: 'muted' }, t('noClip', clipSection.reason ?? ''))
        : '',
  );
  renderPlate();
  renderVerification();
  renderManifest();
  renderOutcome();
  const decided = !!state.outcome;
  for (const id of ['approve', 'reject', 'correct', 'escalate', 'release'])
    $(id).disabled = decided || !(v.claim?.mine && v.claim.live);
  // A supervisor's second review cannot be escalated again.
  $('escalate').hidden = v.status === 'second_review';
}

function figure(e, caption, cls) {
  return el(
    'figure',
    { class: cls },
    el(
      'a',
      { href: e.url, target: '_blank', rel: 'noopener' },
      el('img', { src: e.url, alt: caption, loading: 'lazy' }),
    ),
    el('figcaption', {}, caption),
  );
}

function renderPlate() {
  const v = state.current;
  $('plate-now').replaceChildren(
    el('span', { class: 'plate big' }, v.plate ?? t('noPlate')),
    v.plateConfidence !== null
      ? el('span', { class: 'muted' }, ` · ${t('confidence')} ${conf(v.plateConfidence)}`)
      : '',
  );
  const c = v.details?.plateConsensus;
  const facts = [];
  if (c) {
    facts.push([t('consensusAgreement'), `${Math.round((c.agreement ?? 0) * 100)} %`]);
    facts.push([t('consensusSupport'), `${c.support ?? 0}/${c.total ?? 0}`]);
    facts.push([t('consensusReasons'), c.reviewReasons?.length ? c.reviewReasons.join(', ') : t('none')]);
    if (c.alternatives?.length)
      facts.push([
        t('consensusAlternatives'),
        c.alternatives.map((a) => `${a.text} (${Math.round(a.share * 100)} %)`).join(', '),
      ]);
  }
  $('consensus').replaceChildren(...facts.flatMap(([k, val]) => [el('dt', {}, k), el('dd', {}, val)]));

  // The original read: the plate before the first correction, or the plate as it stands.
  const firstChange = v.reviews.find((r) => r.plateAfter !== null);
  const original = firstChange ? firstChange.plateBefore : v.plate;
  const originalConf = firstChange ? null : v.plateConfidence;
  const items = [
    el(
      'li',
      {},
      original
        ? t(
            'originalRead',
            original,
            originalConf === null ? (c ? conf(c.confidence) : '—') : conf(originalConf),
          )
        : t('noOriginal'),
    ),
    ...v.reviews.map((r) =>
      el(
        'li',
        {},
        el('span', {}, `${formatTime(r.createdAt, i18n.lang)} · `),
        t('reviewLine', { ...r, decisionText: t(`decision${r.decision}`) }),
        r.plateAfter !== null
          ? el('div', { class: 'change' }, t('plateChanged', r.plateBefore ?? '—', r.plateAfter))
          : '',
        r.reasonCode ? el('div', {}, reasonText(r.reasonCode)) : '',
        r.note ? el('div', { class: 'muted' }, r.note) : '',
      ),
    ),
  ];
  $('history').replaceChildren(...items);
}

function reasonText(code) {
  const r = state.reasons.find((x) => x.code === code);
  return r ? (i18n.lang === 'en' ? r.en : r.vi) : code;
}

async function verify() {
  const id = state.current?.id;
  state.verification = { pending: true };
  renderVerification();
  try {
    const check = await api(`/api/violations/${id}/verify`);
    if (state.current?.id === id) state.verification = check;
  } catch (err) {
    if (state.current?.id === id) state.verification = { error: err.message };
  }
  renderVerification();
}

function renderVerification() {
  const p = $('verify');
  const list = $('verify-problems');
  const c = state.verification;
  p.className = '';
  list.replaceChildren();
  if (!c || c.pending) {
    p.textContent = t('verifying');
    return;
  }
  if (c.error) {
    p.textContent = t('verifyFailed', c.error);
    p.className = 'bad';
    return;
  }
  if (c.ok) {
    p.textContent = c.signature.pinned
      ? t('verifiedPinned', c.files.length, c.signature.keyId)
      : t('verifiedEmbedded', c.files.length, c.signature.keyId);
    p.className = 'good';
  } else {
    p.textContent = t('notVerified', c.problems.length);
    p.className = 'bad';
    list.replaceChildren(...c.problems.map((m) => el('li', {}, m)));
  }
}

async function loadManifest(v) {
  const m = v.evidence.find((e) => e.kind === 'manifest');
  if (!m) return;
  try {
    const res = await fetch(m.url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    if (state.current?.id !== v.id) return;
    state.manifest = JSON.parse(text);
    state.manifestText = text;
    renderManifest();
    renderCase();
  } catch (err) {
    $('manifest-raw').textContent = t('error', err.message);
  }
}

function renderManifest() {
  const m = state.manifest;
  if (!m) {
    $('manifest-summary').replaceChildren();
    $('manifest-raw').textContent = t('loading');
    return;
  }
  const models = m.models
    ? Object.values(m.models)
        .filter((x) => x && typeof x === 'object' && x.name)
        .map((x) => `${x.name}@${x.version}`)
        .join(', ')
    : '';
  const details = Object.entries(m.details ?? {})
    .filter(([, val]) => val === null || typeof val !== 'object')
    .map(([k, val]) => `${k}: ${val}`)
    .join(' · ');
  const clip = m.clip
    ? m.clip.status === 'missing'
      ? t('noClip', m.clip.reason ?? '')
      : `${m.clip.status} · ${m.clip.codec ?? ''} · ${m.clip.durationS ?? '?'} s`
    : '—';
  const facts = [
    [t('mCamera'), m.camera ? `${m.camera.code} — ${m.camera.name}` : '—'],
    [t('mObserved'), formatTime(m.observedAt, i18n.lang)],
    [t('mRule'), ruleName(m.ruleCode)],
    [t('mVehicle'), m.vehicleClass ?? '—'],
    [t('mScene'), String(m.sceneConfigVersion ?? '—')],
    [t('mModels'), models || '—'],
    [t('mDetails'), details || '—'],
    [t('mFiles'), (m.files ?? []).map((f) => `${f.kind} ${f.sha256.slice(0, 12)}…`).join(', ')],
    [t('mClip'), clip],
    [t('mSigned'), m.signature ? `${m.signature.alg} · ${m.signature.keyId}` : t('unsigned')],
    [t('mProducedBy'), m.producedBy ?? '—'],
  ];
  $('manifest-summary').replaceChildren(...facts.flatMap(([k, val]) => [el('dt', {}, k), el('dd', {}, val)]));
  $('manifest-raw').textContent = JSON.stringify(m, null, 2);
}

// ------------------------------------------------------------------------------------------------
// Deciding

function closeSubforms() {
  for (const id of ['reject-form', 'correct-form', 'escalate-form']) $(id).hidden = true;
}

function openSubform(id, focus) {
  if (!canDecide()) return;
  closeSubforms();
  $(id).hidden = false;
  $(focus).focus();
}

function canDecide() {
  const v = state.current;
  return !!v && !state.outcome && v.claim?.mine && v.claim.live;
}

async function decide(body) {
  if (!canDecide()) return;
  const v = state.current;
  try {
    const answer = await api(`/api/review/${v.id}/decision`, { method: 'POST', body });
    state.outcome = answer;
    closeSubforms();
    state.current = await api(`/api/violations/${v.id}`);
    renderCase();
    $('outcome').focus();
  } catch (err) {
    showError(err);
  }
}

function renderOutcome() {
  const box = $('outcome');
  const o = state.outcome;
  box.hidden = !o;
  if (!o) return box.replaceChildren();
  const parts = [];
  if (o.released) parts.push(el('p', {}, t('outcomeReleased')));
  else if (o.status === 'approved') parts.push(el('p', { class: 'good' }, t('outcomeApproved')));
  else if (o.status === 'rejected') parts.push(el('p', {}, t('outcomeRejected')));
  else if (o.status === 'second_review')
    parts.push(el('p', {}, t('outcomeSecond', o.secondReview.reasons.map((r) => t(r)).join(', '))));
  const c = o.case;
  if (c?.opened) {
    parts.push(el('p', {}, t('caseOpened', c.caseId, c.noticeCode)));
    const s = c.sanction;
    if (s)
      parts.push(
        el('p', {}, t('fineLine', vnd(s.fineAmountVnd), vnd(s.fineMinVnd), vnd(s.fineMaxVnd), s.citation)),
      );
    parts.push(
      el(
        'p',
        {},
        el(
          'a',
          { href: `/api/cases/${c.caseId}/notice`, target: '_blank', rel: 'noopener', id: 'notice-link' },
          t('noticeLink'),
        ),
      ),
    );
  } else if (c && !c.opened) parts.push(el('p', {}, t('caseNotOpened', t(c.reason))));
  parts.push(el('p', { class: 'muted' }, t('nextHint')));
  box.replaceChildren(...parts);
  box.tabIndex = -1;
}

$('approve').addEventListener('click', () => void decide({ decision: 'approve' }));
$('reject').addEventListener('click', () => openSubform('reject-form', 'reason'));
$('correct').addEventListener('click', () => {
  $('plate-input').value = state.current?.plate ?? '';
  openSubform('correct-form', 'plate-input');
});
$('escalate').addEventListener('click', () => openSubform('escalate-form', 'escalate-note'));
$('release').addEventListener('click', async () => {
  if (!canDecide()) return;
  try {
    await api(`/api/review/${state.current.id}/release`, { method: 'POST' });
    state.outcome = { released: true };
    renderCase();
  } catch (err) {
    showError(err);
  }
});
$('reverify').addEventListener('click', () => void verify());

for (const form of document.querySelectorAll('.subform')) {
  form.querySelector('.cancel').addEventListener('click', () => closeSubforms());
}
$('reject-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const note = $('reject-note').value.trim();
  void decide({ decision: 'reject', reason: $('reason').value, ...(note && { note }) });
});
$('correct-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const note = $('correct-note').value.trim();
  void decide({ decision: 'approve', plate: $('plate-input').value, ...(note && { note }) });
});
$('escalate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void decide({ decision: 'escalate', note: $('escalate-note').value.trim() });
});

// ------------------------------------------------------------------------------------------------
// Keyboard shortcuts (not while typing in a field)

document.addEventListener('keydown', (e) => {
  const help = $('help');
  if (e.key === 'Escape') {
    if (help.open) help.close();
    else closeSubforms();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  if (target instanceof HTMLElement && target.closest('input, textarea, select, [contenteditable]')) return;
  if (e.key === '?') {
    e.preventDefault();
    if (help.open) help.close();
    else help.showModal();
    return;
  }
  if (!state.me || help.open) return;
  const key = e.key.toLowerCase();
  const inCase = !$('case').hidden;
  const actions = {
    a: () => inCase && $('approve').click(),
    r: () => inCase && $('reject').click(),
    p: () => inCase && $('correct').click(),
    e: () => inCase && !$('escalate').hidden && $('escalate').click(),
    l: () => inCase && $('release').click(),
    v: () => inCase && void verify(),
    n: () => void claimNext(),
  };
  const action = actions[key];
  if (action) {
    e.preventDefault();
    action();
  }
});

shell.start().catch(showError);
