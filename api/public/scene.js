import { createI18n } from './i18n.js';
import { api, ApiError, el, formatTime, setupStaffShell, STAFF_STRINGS } from './staff.js';

/**
 * The scene editor: draws the scene (violations/scene-config.ts) over a live snapshot of the camera.
 * Coordinates are normalised to the frame (0..1); the SVG overlay uses the picture's own pixel size as
 * its viewBox, so shapes keep their proportions. Objects the editor has no tool for (signal plans,
 * thresholds, homography…) are kept as they are.
 */

const CLASSES = ['car', 'motorcycle', 'bus', 'truck', 'bicycle'];
const ZONE_KINDS = ['no_parking', 'no_stopping', 'intersection', 'bus_stop'];
const LAMPS = ['red', 'amber', 'green'];

const STRINGS = {
  vi: {
    ...STAFF_STRINGS.vi,
    title: 'Cấu hình cảnh camera',
    notOperator: 'Tài khoản này không có quyền cấu hình camera.',
    camera: 'Camera',
    load: 'Mở',
    refreshSnapshot: 'Chụp lại ảnh',
    tools: 'Công cụ vẽ',
    overlayLabel: 'Ảnh camera với các đối tượng đã vẽ',
    objects: 'Đối tượng',
    save: 'Lưu thành phiên bản mới',
    rawJson: 'JSON cấu hình',
    versionInfo: (v, by, at) => (v ? `Phiên bản ${v} (${by}, ${at})` : 'Camera chưa có cấu hình cảnh'),
    snapshotInfo: (at, fresh) => `Ảnh lúc ${at}${fresh ? '' : ' — ảnh cũ: camera không gửi ảnh mới'}`,
    noSnapshot: (m) => `Không có ảnh trực tiếp (${m}); vẫn có thể vẽ trên nền trống.`,
    loadingSnapshot: 'Đang lấy ảnh từ camera…',
    tool_select: 'Chọn / sửa',
    tool_stopLine: 'Vạch dừng',
    tool_lane: 'Làn đường',
    tool_zone: 'Vùng cấm dừng/đỗ',
    tool_sidewalk: 'Vỉa hè',
    tool_gate: 'Đoạn đo tốc độ',
    tool_head: 'Đèn tín hiệu',
    tool_mask: 'Vùng bỏ qua',
    tool_tile: 'Vùng phóng to',
    finish: 'Xong hình',
    cancelDraw: 'Huỷ vẽ',
    hint_select:
      'Chọn một đối tượng (trên ảnh hoặc trong danh sách) để sửa; kéo các điểm để di chuyển. Phím Delete để xoá.',
    hint_stopLine: [
      'Nhấn điểm đầu vạch dừng',
      'Nhấn điểm cuối vạch dừng',
      'Nhấn một điểm phía bên kia vạch (trong nút giao)',
    ],
    hint_polygon: (n) => `Nhấn các đỉnh của vùng (${n} điểm); Enter hoặc "Xong hình" khi đủ (ít nhất 3).`,
    hint_laneDir: ['Nhấn điểm xe đi vào làn', 'Nhấn điểm xe đi ra khỏi làn'],
    hint_gate: ['Vạch vào: điểm đầu', 'Vạch vào: điểm cuối', 'Vạch ra: điểm đầu', 'Vạch ra: điểm cuối'],
    hint_head: (lamp, corner) =>
      `Đèn ${lamp}: nhấn góc ${corner === 0 ? 'trên trái' : 'dưới phải'}; Enter khi đã có ít nhất 2 đèn.`,
    hint_tile: [
      'Vùng phóng to (nơi xe ở xa, quá nhỏ để nhận ra): nhấn góc trên trái',
      'Nhấn góc dưới phải; mỗi vùng tốn thêm một lần nhận dạng mỗi khung hình',
    ],
    lamp_red: 'đỏ',
    lamp_amber: 'vàng',
    lamp_green: 'xanh',
    type_stopLines: 'Vạch dừng',
    type_lanes: 'Làn',
    type_stoppingZones: 'Vùng cấm dừng/đỗ',
    type_sidewalks: 'Vỉa hè',
    type_gates: 'Đoạn đo tốc độ',
    type_signalHeads: 'Đèn tín hiệu',
    type_ignoreMasks: 'Vùng bỏ qua',
    type_detectionTiles: 'Vùng phóng to',
    id: 'Mã',
    signal: 'Nhóm đèn',
    against: 'Đi ngược là',
    against_wrong_way: 'đi ngược chiều',
    against_wrong_lane: 'đi sai phần đường',
    allowed: 'Loại xe được đi',
    classes: 'Áp dụng cho',
    kind: 'Loại vùng',
    kind_no_parking: 'cấm đỗ',
    kind_no_stopping: 'cấm dừng',
    kind_intersection: 'nút giao',
    kind_bus_stop: 'điểm dừng xe buýt',
    dwell: 'Thời gian đứng yên (giây)',
    distance: 'Khoảng cách (m)',
    group: 'Nhóm đèn',
    class_car: 'ô tô',
    class_motorcycle: 'xe máy',
    class_bus: 'xe buýt',
    class_truck: 'xe tải',
    class_bicycle: 'xe đạp',
    del: 'Xoá',
    delNamed: (n) => `Xoá ${n}`,
    selectNamed: (n) => `Chọn ${n}`,
    noObjects: 'Chưa có đối tượng nào. Chọn một công cụ rồi nhấn lên ảnh.',
    saved: (v) => `Đã lưu phiên bản ${v}. Camera áp dụng trong khoảng 30 giây.`,
    saveRefused: (m) => `Không lưu được: ${m}`,
    saveConflict: 'Có người đã lưu phiên bản mới hơn: mở lại camera rồi sửa lại.',
    unsaved: 'Có thay đổi chưa lưu.',
    error: (m) => `Lỗi: ${m}`,
  },
  en: {
    ...STAFF_STRINGS.en,
    title: 'Camera scene editor',
    notOperator: 'This account may not configure cameras.',
    camera: 'Camera',
    load: 'Open',
    refreshSnapshot: 'New snapshot',
    tools: 'Drawing tools',
    overlayLabel: 'Camera picture with the objects drawn',
    objects: 'Objects',
    save: 'Save as a new version',
    rawJson: 'Configuration JSON',
    versionInfo: (v, by, at) => (v ? `Version ${v} (${by}, ${at})` : 'The camera has no scene yet'),
    snapshotInfo: (at, fresh) =>
      `Picture taken ${at}${fresh ? '' : ' — old: the camera sends no new frames'}`,
    noSnapshot: (m) => `No live picture (${m}); you can still draw on a blank frame.`,
    loadingSnapshot: 'Getting a picture from the camera…',
    tool_select: 'Select / edit',
    tool_stopLine: 'Stop line',
    tool_lane: 'Lane',
    tool_zone: 'No-stopping zone',
    tool_sidewalk: 'Sidewalk',
    tool_gate: 'Speed gate',
    tool_head: 'Signal head',
    tool_mask: 'Ignore mask',
    tool_tile: 'Zoom window',
    finish: 'Finish shape',
    cancelDraw: 'Cancel',
    hint_select:
      'Pick an object (on the picture or in the list) to edit it; drag its points to move them. Delete removes it.',
    hint_stopLine: [
      'Click the start of the stop line',
      'Click the end of the stop line',
      'Click a point beyond the line (inside the junction)',
    ],
    hint_polygon: (n) =>
      `Click the corners of the area (${n} so far); Enter or "Finish shape" when done (3 at least).`,
    hint_laneDir: ['Click where traffic enters the lane', 'Click where traffic leaves the lane'],
    hint_gate: [
      'Entry line: first end',
      'Entry line: second end',
      'Exit line: first end',
      'Exit line: second end',
    ],
    hint_head: (lamp, corner) =>
      `${lamp} lamp: click its ${corner === 0 ? 'top-left' : 'bottom-right'} corner; Enter once 2 lamps are drawn.`,
    hint_tile: [
      'Zoom window (where distant vehicles are too small to be found): click its top-left corner',
      'Click its bottom-right corner; each window costs one more detection per frame',
    ],
    lamp_red: 'Red',
    lamp_amber: 'Amber',
    lamp_green: 'Green',
    type_stopLines: 'Stop line',
    type_lanes: 'Lane',
    type_stoppingZones: 'No-stopping zone',
    type_sidewalks: 'Sidewalk',
    type_gates: 'Speed gate',
    type_signalHeads: 'Signal head',
    type_ignoreMasks: 'Ignore mask',
    type_detectionTiles: 'Zoom window',
    id: 'Id',
    signal: 'Signal group',
    against: 'Travel against it is',
    against_wrong_way: 'wrong way',
    against_wrong_lane: 'wrong side of the road',
    allowed: 'Classes allowed',
    classes: 'Applies to',
    kind: 'Zone kind',
    kind_no_parking: 'no parking',
    kind_no_stopping: 'no stopping',
    kind_intersection: 'intersection',
    kind_bus_stop: 'bus stop',
    dwell: 'Standing time (s)',
    distance: 'Distance (m)',
    group: 'Signal group',
    class_car: 'car',
    class_motorcycle: 'motorbike',
    class_bus: 'bus',
    class_truck: 'truck',
    class_bicycle: 'bicycle',
    del: 'Delete',
    delNamed: (n) => `Delete ${n}`,
    selectNamed: (n) => `Select ${n}`,
    noObjects: 'Nothing drawn yet. Pick a tool and click on the picture.',
    saved: (v) => `Saved as version ${v}. The camera uses it within about 30 s.`,
    saveRefused: (m) => `Not saved: ${m}`,
    saveConflict: 'Someone saved a newer version: open the camera again and redo the change.',
    unsaved: 'Unsaved changes.',
    error: (m) => `Error: ${m}`,
  },
};

const i18n = createI18n(STRINGS);
const { t } = i18n;
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  me: undefined,
  cameras: [],
  cameraId: undefined,
  base: 0,
  config: undefined,
  selected: undefined, // { type, index }
  tool: 'select',
  draft: [],
  draftStage: 'shape', // lanes: 'shape' then 'direction'
  width: 1600,
  height: 900,
  snapshotUrl: undefined,
  dirty: false,
};

const TOOLS = ['select', 'stopLine', 'lane', 'zone', 'sidewalk', 'gate', 'head', 'mask', 'tile'];

// Each kind of object: where it lives in the config, how it is drawn and which points it has.
const TYPES = {
  stopLines: { list: (c) => c.stopLines, colour: '#ff3b30' },
  lanes: { list: (c) => c.lanes, colour: '#2f80ed' },
  stoppingZones: { list: (c) => c.stoppingZones, colour: '#f2994a' },
  sidewalks: { list: (c) => c.sidewalks, colour: '#9b51e0' },
  gates: { list: (c) => c.speed?.gates ?? [], colour: '#27ae60' },
  signalHeads: { list: (c) => c.signalHeads, colour: '#f2c94c' },
  ignoreMasks: { list: (c) => c.ignoreMasks, colour: '#111111' },
  detectionTiles: { list: (c) => c.detectionTiles, colour: '#00b8d9' },
};

function say(text) {
  $('status').textContent = text;
}

// ------------------------------------------------------------------------------------------------
// Sign-in and camera

const shell = setupStaffShell({
  i18n,
  roles: ['operator'],
  deniedKey: 'notOperator',
  sections: ['editor-section'],
  onSignedIn: async (me) => {
    state.me = me;
    $('editor-section').hidden = false;
    try {
      state.cameras = (await api('/api/cameras')).items;
      $('camera').replaceChildren(
        ...state.cameras.map((c) => el('option', { value: String(c.id) }, `${c.code} — ${c.name}`)),
      );
      const wanted = new URLSearchParams(location.search).get('camera');
      if (wanted && state.cameras.some((c) => String(c.id) === wanted)) $('camera').value = wanted;
    } catch (err) {
      say(t('error', err.message));
    }
  },
  onSignedOut: () => {
    state.me = undefined;
  },
  onLanguage: () => {
    if (state.config) renderAll();
  },
});

$('pick').addEventListener('submit', (e) => {
  e.preventDefault();
  void openCamera(Number($('camera').value));
});
$('refresh-snapshot').addEventListener('click', () => {
  if (state.cameraId !== undefined) void loadSnapshot();
});

async function openCamera(id) {
  try {
    const scene = await api(`/api/cameras/${id}/scene`);
    state.cameraId = id;
    state.base = scene.latest?.version ?? 0;
    state.config = normalise(structuredClone(scene.latest?.config ?? {}));
    state.selected = undefined;
    state.dirty = false;
    $('version-info').textContent = t(
      'versionInfo',
      scene.latest?.version,
      scene.latest?.createdBy,
      formatTime(scene.latest?.createdAt, i18n.lang),
    );
    $('save-result').textContent = '';
    $('editor').hidden = false;
    setTool('select');
    renderAll();
    await loadSnapshot();
  } catch (err) {
    say(t('error', err.message));
  }
}

/** The arrays the editor draws into, present even when the stored version left them to defaults. */
function normalise(c) {
  for (const k of [
    'stopLines',
    'lanes',
    'stoppingZones',
    'sidewalks',
    'signalHeads',
    'ignoreMasks',
    'detectionTiles',
  ])
    c[k] ??= [];
  c.signals ??= {};
  return c;
}

async function loadSnapshot() {
  $('snapshot-info').textContent = t('loadingSnapshot');
  const res = await fetch(`/api/cameras/${state.cameraId}/snapshot`, { credentials: 'same-origin' });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $('snapshot-info').textContent = t('noSnapshot', body.error?.message ?? `HTTP ${res.status}`);
    $('snapshot').removeAttribute('src');
    $('snapshot').alt = '';
    state.width = 1600;
    state.height = 900;
    $('canvas-wrap').style.aspectRatio = '16 / 9';
    renderOverlay();
    return;
  }
  const blob = await res.blob();
  if (state.snapshotUrl) URL.revokeObjectURL(state.snapshotUrl);
  state.snapshotUrl = URL.createObjectURL(blob);
  const img = $('snapshot');
  await new Promise((resolve) => {
    img.onload = resolve;
    img.onerror = resolve;
    img.src = state.snapshotUrl;
  });
  state.width = img.naturalWidth || 1600;
  state.height = img.naturalHeight || 900;
  $('canvas-wrap').style.aspectRatio = `${state.width} / ${state.height}`;
  const at = res.headers.get('X-Captured-At');
  img.alt = t('overlayLabel');
  $('snapshot-info').textContent = t(
    'snapshotInfo',
    formatTime(at, i18n.lang),
    res.headers.get('X-Snapshot-Fresh') === 'true',
  );
  renderOverlay();
}

// ------------------------------------------------------------------------------------------------
// Tools and drawing

function setTool(tool) {
  state.tool = tool;
  state.draft = [];
  state.draftStage = 'shape';
  renderTools();
  renderHint();
  renderOverlay();
}

function renderTools() {
  $('tools').replaceChildren(
    ...TOOLS.map((tool) =>
      el(
        'button',
        { type: 'button', 'aria-pressed': String(state.tool === tool), onclick: () => setTool(tool) },
        t(`tool_${tool}`),
      ),
    ),
    el(
      'button',
      { type: 'button', onclick: () => finishDraft(), hidden: !isPolygonTool() && state.tool !== 'head' },
      t('finish'),
    ),
    el(
      'button',
      { type: 'button', onclick: () => setTool(state.tool), hidden: state.tool === 'select' },
      t('cancelDraw'),
    ),
  );
}

const isPolygonTool = () =>
  ['zone', 'sidewalk', 'mask'].includes(state.tool) ||
  (state.tool === 'lane' && state.draftStage === 'shape');

function renderHint() {
  const n = state.draft.length;
  let hint;
  switch (state.tool) {
    case 'select':
      hint = t('hint_select');
      break;
    case 'stopLine':
      hint = t('hint_stopLine')[n];
      break;
    case 'gate':
      hint = t('hint_gate')[n];
      break;
    case 'tile':
      hint = t('hint_tile')[n];
      break;
    case 'head':
      hint = t('hint_head', t(`lamp_${LAMPS[Math.floor(n / 2)] ?? 'green'}`), n % 2);
      break;
    case 'lane':
      hint = state.draftStage === 'shape' ? t('hint_polygon', n) : t('hint_laneDir')[n];
      break;
    default:
      hint = t('hint_polygon', n);
  }
  $('hint').textContent = hint ?? '';
}

function pointFrom(e) {
  const r = $('overlay').getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, Math.round(v * 10000) / 10000));
  return { x: clamp((e.clientX - r.left) / r.width), y: clamp((e.clientY - r.top) / r.height) };
}

function nextId(prefix, list) {
  const ids = new Set(list.map((o) => o.id));
  let i = 1;
  while (ids.has(`${prefix}-${i}`)) i++;
  return `${prefix}-${i}`;
}

function added(type, index) {
  state.dirty = true;
  state.selected = { type, index };
  setTool('select');
  renderAll();
}

function onCanvasClick(e) {
  if (state.tool === 'select' || state.config === undefined) return;
  const p = pointFrom(e);
  const c = state.config;
  state.draft.push(p);
  const d = state.draft;
  if (state.tool === 'stopLine' && d.length === 3) {
    c.stopLines.push({ id: nextId('vach', c.stopLines), a: d[0], b: d[1], towards: d[2], signal: 'main' });
    return added('stopLines', c.stopLines.length - 1);
  }
  if (state.tool === 'gate' && d.length === 4) {
    c.speed ??= {};
    c.speed.gates ??= [];
    c.speed.gates.push({
      id: nextId('doan', c.speed.gates),
      entry: { a: d[0], b: d[1] },
      exit: { a: d[2], b: d[3] },
      distanceM: 20,
    });
    return added('gates', c.speed.gates.length - 1);
  }
  if (state.tool === 'head' && d.length === 6) return finishDraft();
  if (state.tool === 'tile' && d.length === 2) {
    const [p, q] = d;
    const x = Math.min(p.x, q.x);
    const y = Math.min(p.y, q.y);
    c.detectionTiles.push({
      x,
      y,
      w: Math.max(0.02, Math.min(1 - x, Math.abs(q.x - p.x))),
      h: Math.max(0.02, Math.min(1 - y, Math.abs(q.y - p.y))),
    });
    return added('detectionTiles', c.detectionTiles.length - 1);
  }
  if (state.tool === 'lane' && state.draftStage === 'direction' && d.length === 2) {
    const lane = state.laneDraft;
    lane.direction = { entry: d[0], exit: d[1] };
    c.lanes.push(lane);
    state.laneDraft = undefined;
    return added('lanes', c.lanes.length - 1);
  }
  renderHint();
  renderOverlay();
}

function finishDraft() {
  const c = state.config;
  const d = state.draft;
  if (state.tool === 'head') {
    if (d.length < 4) return;
    const lamps = {};
    for (let i = 0; i + 1 < d.length; i += 2) {
      const [p, q] = [d[i], d[i + 1]];
      const x = Math.min(p.x, q.x);
      const y = Math.min(p.y, q.y);
      lamps[LAMPS[i / 2]] = {
        x,
        y,
        w: Math.max(0.002, Math.abs(q.x - p.x)),
        h: Math.max(0.002, Math.abs(q.y - p.y)),
      };
    }
    const group = 'observed';
    c.signals[group] ??= { kind: 'observed' };
    c.signalHeads.push({ id: nextId('den', c.signalHeads), group, lamps });
    return added('signalHeads', c.signalHeads.length - 1);
  }
  if (!isPolygonTool() || d.length < 3) return;
  const polygon = [...d];
  switch (state.tool) {
    case 'zone':
      c.stoppingZones.push({ id: nextId('vung', c.stoppingZones), kind: 'no_parking', polygon });
      return added('stoppingZones', c.stoppingZones.length - 1);
    case 'sidewalk':
      c.sidewalks.push({ id: nextId('viahe', c.sidewalks), polygon, classes: ['motorcycle'] });
      return added('sidewalks', c.sidewalks.length - 1);
    case 'mask':
      c.ignoreMasks.push(polygon);
      return added('ignoreMasks', c.ignoreMasks.length - 1);
    case 'lane':
      state.laneDraft = { id: nextId('lan', c.lanes), polygon, against: 'wrong_way' };
      state.draft = [];
      state.draftStage = 'direction';
      renderTools();
      renderHint();
      renderOverlay();
  }
}

// ------------------------------------------------------------------------------------------------
// The overlay

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, String(v));
  return node;
}

const X = (p) => p.x * state.width;
const Y = (p) => p.y * state.height;
const pts = (poly) => poly.map((p) => `${X(p)},${Y(p)}`).join(' ');
const stroke = () => Math.max(2, state.width / 400);

/** A rectangle's top-left and bottom-right corners as drag handles. */
function rectHandles(r) {
  return [
    [
      () => ({ x: r.x, y: r.y }),
      (p) => (
        (r.w = Math.max(0.002, r.x + r.w - p.x)),
        (r.h = Math.max(0.002, r.y + r.h - p.y)),
        (r.x = p.x),
        (r.y = p.y)
      ),
    ],
    [
      () => ({ x: r.x + r.w, y: r.y + r.h }),
      (p) => ((r.w = Math.max(0.002, p.x - r.x)), (r.h = Math.max(0.002, p.y - r.y))),
    ],
  ];
}

/** The points of an object that can be dragged, as [getter, setter] pairs. */
function handlesOf(type, o) {
  const ref = (obj, key) => [() => obj[key], (p) => (obj[key] = p)];
  switch (type) {
    case 'stopLines':
      return [ref(o, 'a'), ref(o, 'b'), ref(o, 'towards')];
    case 'gates':
      return [ref(o.entry, 'a'), ref(o.entry, 'b'), ref(o.exit, 'a'), ref(o.exit, 'b')];
    case 'lanes':
      return [
        ...o.polygon.map((_, i) => ref(o.polygon, i)),
        ...('entry' in o.direction ? [ref(o.direction, 'entry'), ref(o.direction, 'exit')] : []),
      ];
    case 'ignoreMasks':
      return o.map((_, i) => ref(o, i));
    case 'signalHeads':
      return Object.values(o.lamps).flatMap(rectHandles);
    case 'detectionTiles':
      return rectHandles(o);
    default:
      return o.polygon.map((_, i) => ref(o.polygon, i));
  }
}

function shapeOf(type, o, colour, selected, index) {
  const g = svg('g', { class: 'shape', 'data-type': type });
  const w = stroke() * (selected ? 1.8 : 1);
  const label = (p, text) => {
    const tx = svg('text', {
      x: X(p) + 4,
      y: Y(p) - 4,
      fill: '#fff',
      stroke: '#000',
      'stroke-width': 0.6,
      'font-size': state.width / 50,
      'font-weight': 700,
    });
    tx.textContent = text;
    return tx;
  };
  const line = (a, b, attrs = {}) =>
    svg('line', { x1: X(a), y1: Y(a), x2: X(b), y2: Y(b), stroke: colour, 'stroke-width': w, ...attrs });
  switch (type) {
    case 'stopLines': {
      const mid = { x: (o.a.x + o.b.x) / 2, y: (o.a.y + o.b.y) / 2 };
      g.append(
        line(o.a, o.b, { 'stroke-width': w * 1.6 }),
        line(mid, o.towards, { 'stroke-dasharray': `${w * 3} ${w * 2}`, 'marker-end': 'url(#arrow)' }),
        label(o.a, o.id),
      );
      break;
    }
    case 'gates':
      g.append(
        line(o.entry.a, o.entry.b),
        line(o.exit.a, o.exit.b, { 'stroke-dasharray': `${w * 3} ${w * 2}` }),
        label(o.entry.a, `${o.id} · ${o.distanceM} m`),
      );
      break;
    case 'signalHeads':
      for (const [lamp, r] of Object.entries(o.lamps)) {
        const fill = { red: '#ff3b30', amber: '#f2994a', green: '#27ae60' }[lamp];
        g.append(
          svg('rect', {
            x: r.x * state.width,
            y: r.y * state.height,
            width: r.w * state.width,
            height: r.h * state.height,
            fill,
            'fill-opacity': 0.35,
            stroke: fill,
            'stroke-width': w,
          }),
        );
      }
      g.append(label(Object.values(o.lamps)[0], o.id));
      break;
    case 'detectionTiles':
      g.append(
        svg('rect', {
          x: X(o),
          y: Y(o),
          width: o.w * state.width,
          height: o.h * state.height,
          fill: colour,
          'fill-opacity': selected ? 0.15 : 0.05,
          stroke: colour,
          'stroke-width': w,
          'stroke-dasharray': `${w * 4} ${w * 2}`,
        }),
        label(o, `${t('type_detectionTiles')} ${index + 1}`),
      );
      break;
    case 'ignoreMasks':
      g.append(
        svg('polygon', {
          points: pts(o),
          fill: '#000',
          'fill-opacity': 0.45,
          stroke: '#fff',
          'stroke-width': w,
          'stroke-dasharray': `${w * 2} ${w * 2}`,
        }),
      );
      break;
    default: {
      g.append(
        svg('polygon', {
          points: pts(o.polygon),
          fill: colour,
          'fill-opacity': selected ? 0.3 : 0.18,
          stroke: colour,
          'stroke-width': w,
        }),
        label(o.polygon[0], o.id),
      );
      if (type === 'lanes' && 'entry' in o.direction)
        g.append(line(o.direction.entry, o.direction.exit, { stroke: '#fff', 'marker-end': 'url(#arrow)' }));
    }
  }
  return g;
}

function renderOverlay() {
  const overlay = $('overlay');
  overlay.setAttribute('viewBox', `0 0 ${state.width} ${state.height}`);
  const defs = svg('defs');
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 8,
    refY: 5,
    markerWidth: 5,
    markerHeight: 5,
    orient: 'auto-start-reverse',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#fff', stroke: '#000' }));
  defs.append(marker);
  const nodes = [defs];
  const c = state.config;
  if (c) {
    for (const [type, def] of Object.entries(TYPES)) {
      def.list(c).forEach((o, index) => {
        const selected = state.selected?.type === type && state.selected.index === index;
        const g = shapeOf(type, o, def.colour, selected, index);
        g.addEventListener('pointerdown', (e) => {
          if (state.tool !== 'select') return;
          e.stopPropagation();
          select(type, index);
        });
        nodes.push(g);
      });
    }
    const sel = state.selected && TYPES[state.selected.type].list(c)[state.selected.index];
    if (sel) {
      for (const [get, set] of handlesOf(state.selected.type, sel)) {
        const p = get();
        const h = svg('circle', {
          cx: X(p),
          cy: Y(p),
          r: stroke() * 3,
          fill: '#fff',
          stroke: '#0b3d91',
          'stroke-width': stroke(),
          class: 'handle',
          style: 'cursor: move',
        });
        h.addEventListener('pointerdown', (e) => {
          e.stopPropagation();
          e.preventDefault();
          state.drag = set;
          overlay.setPointerCapture(e.pointerId);
        });
        nodes.push(h);
      }
    }
  }
  // The shape being drawn.
  const draft =
    state.tool === 'lane' && state.draftStage === 'direction' ? state.laneDraft?.polygon : undefined;
  if (draft)
    nodes.push(
      svg('polygon', {
        points: pts(draft),
        fill: '#2f80ed',
        'fill-opacity': 0.2,
        stroke: '#2f80ed',
        'stroke-width': stroke(),
      }),
    );
  if (state.draft.length > 0) {
    nodes.push(
      svg('polyline', {
        points: pts(state.draft),
        fill: 'none',
        stroke: '#f0b400',
        'stroke-width': stroke(),
        'stroke-dasharray': `${stroke() * 2} ${stroke()}`,
      }),
    );
    for (const p of state.draft)
      nodes.push(svg('circle', { cx: X(p), cy: Y(p), r: stroke() * 2, fill: '#f0b400' }));
  }
  overlay.replaceChildren(...nodes);
}

$('overlay').addEventListener('pointermove', (e) => {
  if (!state.drag) return;
  state.drag(pointFrom(e));
  state.dirty = true;
  renderOverlay();
});
$('overlay').addEventListener('pointerup', () => {
  if (!state.drag) return;
  state.drag = undefined;
  renderObjects();
  renderRaw();
});
$('overlay').addEventListener('click', (e) => onCanvasClick(e));
$('overlay').addEventListener('dblclick', (e) => {
  e.preventDefault();
  // A double click adds its point twice: drop the duplicate, then close the polygon.
  state.draft.pop();
  finishDraft();
});

// ------------------------------------------------------------------------------------------------
// The object list (properties, delete)

function select(type, index) {
  state.selected = { type, index };
  renderAll();
}

function remove(type, index) {
  const c = state.config;
  const list = TYPES[type].list(c);
  const [gone] = list.splice(index, 1);
  if (
    type === 'signalHeads' &&
    c.signals[gone.group]?.kind === 'observed' &&
    !c.signalHeads.some((h) => h.group === gone.group)
  )
    delete c.signals[gone.group];
  state.selected = undefined;
  state.dirty = true;
  renderAll();
}

function nameOf(type, o, index) {
  const numbered = type === 'ignoreMasks' || type === 'detectionTiles';
  return `${t(`type_${type}`)} ${numbered ? index + 1 : o.id}`;
}

function field(label, input) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}

function textInput(obj, key, opts = {}) {
  return el('input', {
    value: obj[key] ?? '',
    type: opts.type ?? 'text',
    min: opts.min,
    step: opts.step,
    onchange: (e) => {
      const v = e.target.value.trim();
      if (opts.type === 'number') {
        if (v === '' && opts.optional) delete obj[key];
        else obj[key] = Number(v);
      } else obj[key] = v;
      if (opts.after) opts.after(v);
      state.dirty = true;
      renderOverlay();
      renderRaw();
    },
  });
}

function selectInput(obj, key, values, labelOf) {
  const s = el(
    'select',
    {
      onchange: (e) => {
        obj[key] = e.target.value;
        state.dirty = true;
        renderRaw();
      },
    },
    ...values.map((v) => el('option', { value: v }, labelOf(v))),
  );
  s.value = obj[key];
  return s;
}

function classChecks(obj, key, legend, optional) {
  const set = new Set(obj[key] ?? (optional ? CLASSES : []));
  return el(
    'fieldset',
    { class: 'checks' },
    el('legend', {}, legend),
    ...CLASSES.map((cls) =>
      el(
        'label',
        {},
        el('input', {
          type: 'checkbox',
          checked: set.has(cls),
          onchange: (e) => {
            if (e.target.checked) set.add(cls);
            else set.delete(cls);
            const list = CLASSES.filter((x) => set.has(x));
            if (optional && list.length === CLASSES.length) delete obj[key];
            else obj[key] = list;
            state.dirty = true;
            renderRaw();
          },
        }),
        ` ${t(`class_${cls}`)}`,
      ),
    ),
  );
}

function propsOf(type, o) {
  switch (type) {
    case 'stopLines':
      return [field(t('id'), textInput(o, 'id')), field(t('signal'), textInput(o, 'signal'))];
    case 'lanes':
      return [
        field(t('id'), textInput(o, 'id')),
        field(
          t('against'),
          selectInput(o, 'against', ['wrong_way', 'wrong_lane'], (v) => t(`against_${v}`)),
        ),
        classChecks(o, 'allowedClasses', t('allowed'), true),
      ];
    case 'stoppingZones':
      return [
        field(t('id'), textInput(o, 'id')),
        field(
          t('kind'),
          selectInput(o, 'kind', ZONE_KINDS, (v) => t(`kind_${v}`)),
        ),
        field(t('dwell'), textInput(o, 'dwellS', { type: 'number', min: 1, step: 1, optional: true })),
      ];
    case 'sidewalks':
      return [field(t('id'), textInput(o, 'id')), classChecks(o, 'classes', t('classes'), false)];
    case 'gates':
      return [
        field(t('id'), textInput(o, 'id')),
        field(t('distance'), textInput(o, 'distanceM', { type: 'number', min: 1, step: 0.1 })),
      ];
    case 'signalHeads': {
      const before = o.group;
      return [
        field(t('id'), textInput(o, 'id')),
        field(
          t('group'),
          textInput(o, 'group', {
            after: (v) => {
              const c = state.config;
              c.signals[v] ??= { kind: 'observed' };
              if (
                before !== v &&
                c.signals[before]?.kind === 'observed' &&
                !c.signalHeads.some((h) => h.group === before)
              )
                delete c.signals[before];
            },
          }),
        ),
      ];
    }
    default:
      return [];
  }
}

function renderObjects() {
  const c = state.config;
  const items = [];
  for (const type of Object.keys(TYPES)) {
    TYPES[type].list(c).forEach((o, index) => {
      const selected = state.selected?.type === type && state.selected.index === index;
      const name = nameOf(type, o, index);
      items.push(
        el(
          'li',
          { class: selected ? 'selected' : '' },
          el(
            'div',
            { class: 'row' },
            el('span', { class: 'swatch', style: `color:${TYPES[type].colour}`, 'aria-hidden': 'true' }, '■'),
            el('span', { class: 'name' }, name),
            el(
              'button',
              {
                type: 'button',
                'aria-pressed': String(selected),
                'aria-label': t('selectNamed', name),
                onclick: () => select(type, index),
              },
              '✎',
            ),
            el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': t('delNamed', name),
                onclick: () => remove(type, index),
              },
              t('del'),
            ),
          ),
          selected ? el('div', { class: 'props' }, ...propsOf(type, o)) : '',
        ),
      );
    });
  }
  $('objects').replaceChildren(...(items.length ? items : [el('li', { class: 'muted' }, t('noObjects'))]));
}

function renderRaw() {
  $('raw').textContent = JSON.stringify(state.config, null, 2);
  if (state.dirty) $('save-result').textContent = t('unsaved');
}

function renderAll() {
  renderTools();
  renderHint();
  renderOverlay();
  renderObjects();
  renderRaw();
}

document.addEventListener('keydown', (e) => {
  if (!state.config || e.target.closest?.('input, textarea, select')) return;
  if (e.key === 'Enter' && state.tool !== 'select') {
    e.preventDefault();
    finishDraft();
  } else if (e.key === 'Escape') {
    if (state.tool !== 'select') setTool(state.tool);
    else {
      state.selected = undefined;
      renderAll();
    }
  } else if ((e.key === 'Delete' || e.key === 'Backspace') && state.selected && state.tool === 'select') {
    e.preventDefault();
    remove(state.selected.type, state.selected.index);
  }
});

// ------------------------------------------------------------------------------------------------
// Saving

$('save').addEventListener('click', async () => {
  const result = $('save-result');
  try {
    const saved = await api(`/api/cameras/${state.cameraId}/scene`, {
      method: 'POST',
      body: { basedOnVersion: state.base, config: state.config },
    });
    state.base = saved.version;
    state.config = normalise(saved.config);
    state.dirty = false;
    state.selected = undefined;
    renderAll();
    $('version-info').textContent = t(
      'versionInfo',
      saved.version,
      saved.createdBy,
      formatTime(saved.createdAt, i18n.lang),
    );
    result.textContent = t('saved', saved.version);
    result.className = 'good';
  } catch (err) {
    result.textContent =
      err instanceof ApiError && err.status === 409 ? t('saveConflict') : t('saveRefused', err.message);
    result.className = 'bad';
  }
});

window.addEventListener('beforeunload', (e) => {
  if (state.dirty) e.preventDefault();
});

shell.start().catch((err) => say(t('error', err.message)));
