import { describe, expect, it } from 'vitest';
import { parseSceneConfig } from '../../../../violations/scene-config.js';
import {
  crossingTime,
  generateScenario,
  lastInFrame,
  positionAt,
  projectNorm,
  projectPx,
  quad,
  STOP_LINE_OVERSHOOT,
  type ScenarioSpec,
} from '../../../../tools/scenarios/generate.js';
import { SPRITE_HEIGHT_M } from '../../../../tools/scenarios/sprites.js';
import { pointInPolygon } from '../../../../violations/geometry.js';
import { scenarioPhase } from '../../../../tools/scenarios/render.js';
import { sceneForRun } from '../../../../tools/scenarios/run.js';
import { fixedTimePhase } from '../../../../violations/signal-timeline.js';

const PHOTOS = ['us/a.jpg', 'us/b.jpg', 'eu/c.jpg', 'br/d.jpg'];

function specs(site: 'signal' | 'road', n = 12): ScenarioSpec[] {
  return Array.from({ length: n }, (_, i) => generateScenario(100 + i, { photos: PHOTOS, site }));
}

describe('scenario generator', () => {
  it('is deterministic by seed, and different seeds give different scenarios', () => {
    const a = generateScenario(7, { photos: PHOTOS });
    const b = generateScenario(7, { photos: PHOTOS });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = generateScenario(8, { photos: PHOTOS });
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  });

  it('produces scene configurations the project parses, and both site kinds by seed', () => {
    const sites = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const s = generateScenario(seed, { photos: PHOTOS });
      sites.add(s.site);
      expect(() => parseSceneConfig(s.scene)).not.toThrow();
    }
    expect(sites).toEqual(new Set(['signal', 'road']));
  });

  it('gives every vehicle a unique plate, and every act its vehicle and plate', () => {
    for (const s of [...specs('signal'), ...specs('road')]) {
      const plates = s.vehicles.map((v) => v.plate.compact);
      expect(new Set(plates).size).toBe(plates.length);
      for (const v of s.vehicles) expect(v.plate.compact).toMatch(/^\d{2}[A-Z]\d{5}$/);
      for (const act of s.truth) {
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        expect(v.plate.compact).toBe(act.plate);
        expect(act.fromS).toBeLessThanOrEqual(act.atS);
        expect(act.toS).toBeGreaterThanOrEqual(act.atS);
      }
      // A vehicle is either a violation or clean traffic, never both.
      const flagged = new Set(s.truth.map((t) => t.vehicle));
      for (const c of s.clean) expect(flagged.has(c.vehicle)).toBe(false);
      expect(flagged.size + s.clean.length).toBe(s.vehicles.length);
    }
  });

  it('scripts red-light acts at crossings on red, clear of the phase changes, and amber crossings as clean', () => {
    let runners = 0;
    let amber = 0;
    for (const s of specs('signal', 16)) {
      const z = s.signal!.stopLineZ;
      for (const act of s.truth) {
        expect(['red_light', 'stop_line']).toContain(act.rule);
        if (act.rule !== 'red_light') continue;
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        expect(crossingTime(v.keys, z)).toBeCloseTo(act.atS, 3);
        for (const dt of [-0.9, 0, 0.9]) expect(scenarioPhase(s, act.atS + dt)).toBe('red');
        runners++;
      }
      for (const c of s.clean) {
        const v = s.vehicles.find((x) => x.id === c.vehicle)!;
        const at = crossingTime(v.keys, z);
        if (at === undefined) continue;
        const phase = scenarioPhase(s, at);
        expect(phase).not.toBe('red');
        if (phase === 'amber') amber++;
      }
    }
    expect(runners).toBeGreaterThan(10);
    expect(amber).toBeGreaterThan(0);
  });

  it('scripts speeding at the speed the gate would measure, above the limit plus tolerance plus 5', () => {
    let speeders = 0;
    for (const s of specs('road', 16)) {
      const g = s.gate!;
      for (const act of s.truth.filter((t) => t.rule === 'speeding')) {
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        const entry = crossingTime(v.keys, g.entryZ)!;
        const exit = crossingTime(v.keys, g.exitZ)!;
        const kmh = ((g.entryZ - g.exitZ) / (exit - entry)) * 3.6;
        expect(kmh).toBeCloseTo(Number(act.details['speedKmh']), 0);
        expect(kmh - g.limitKmh - g.toleranceKmh).toBeGreaterThanOrEqual(5);
        speeders++;
      }
      // Clean traffic through the gate is within the limit.
      for (const c of s.clean) {
        const v = s.vehicles.find((x) => x.id === c.vehicle)!;
        const entry = crossingTime(v.keys, g.entryZ);
        const exit = crossingTime(v.keys, g.exitZ);
        if (entry === undefined || exit === undefined || exit < entry) continue;
        const kmh = ((g.entryZ - g.exitZ) / (exit - entry)) * 3.6;
        if (v.keys.length === 2) expect(kmh).toBeLessThanOrEqual(g.limitKmh);
      }
    }
    expect(speeders).toBeGreaterThan(5);
  });

  it('parks no-parking violators beyond the dwell and short stops below it', () => {
    for (const s of specs('road', 16)) {
      const dwell = s.shoulder!.dwellS;
      for (const v of s.vehicles.filter((x) => x.behaviour.includes('shoulder'))) {
        const stop = v.keys[2]!;
        const leave = v.keys[3]!;
        const stood = leave.t - stop.t;
        const act = s.truth.find((t) => t.vehicle === v.id);
        if (act) {
          expect(act.rule).toBe('no_parking');
          expect(stood).toBeGreaterThan(dwell + 3);
          expect(act.atS).toBeCloseTo(stop.t + dwell, 3);
        } else expect(stood).toBeLessThan(dwell - 3);
      }
    }
  });

  it('stops stop-line violators past the line by the overshoot, on red from the stop to the act; others short of it', () => {
    let violators = 0;
    let short = 0;
    for (const s of specs('signal', 40)) {
      const sig = s.signal!;
      const phase = (t: number) => scenarioPhase(s, t);
      for (const v of s.vehicles.filter((x) => x.behaviour.startsWith('stops'))) {
        const stop = v.keys[2]!;
        const go = v.keys[3]!;
        const acts = s.truth.filter((t) => t.vehicle === v.id);
        const lineY = projectPx(s.camera, 0, sig.stopLineZ).y;
        const frontY = projectPx(s.camera, 0, stop.z).y;
        const boxH = (SPRITE_HEIGHT_M * s.camera.focalPx) / stop.z;
        if (v.behaviour.includes('past the stop line')) {
          violators++;
          expect(acts.map((a) => a.rule)).toEqual(['stop_line']);
          // The sprite's bottom past the line by the overshoot (in sprite heights); the scene puts the
          // boundary between a stop-line and a red-light matter further in, where both rules see it.
          expect((frontY - lineY) / boxH).toBeCloseTo(STOP_LINE_OVERSHOOT, 6);
          const rules = parseSceneConfig(s.scene).rules;
          expect(rules.redLight.minPastLine).toBe(rules.stopLine.maxOvershoot);
          expect(rules.stopLine.maxOvershoot).toBeGreaterThan(STOP_LINE_OVERSHOOT);
          expect(rules.stopLine.minOvershoot).toBeLessThan(STOP_LINE_OVERSHOOT / 2);
          const act = acts[0]!;
          for (let t = stop.t; t <= act.toS; t += 0.1) expect(phase(t)).toBe('red');
          // Standing there longer than the red-light rule's settling time after the crossing.
          expect(go.t - stop.t).toBeGreaterThan(4);
        } else {
          short++;
          expect(acts).toEqual([]);
          expect(stop.z).toBeGreaterThan(sig.stopLineZ + 2);
        }
      }
    }
    expect(violators).toBeGreaterThan(0);
    expect(short).toBeGreaterThan(0);
  });

  it('reserves the left lane of some one-way roads for motorbikes, and flags every car driven in it', () => {
    let reserved = 0;
    for (const s of specs('road', 40)) {
      const scene = parseSceneConfig(s.scene);
      const lane = scene.lanes.find((l) => l.allowedClasses);
      const classActs = s.truth.filter((t) => t.rule === 'wrong_lane' && t.details['kind'] === 'class');
      if (!lane) {
        expect(classActs).toEqual([]);
        continue;
      }
      reserved++;
      expect(s.twoWay).toBe(false);
      expect(lane.allowedClasses).toEqual(['motorcycle']);
      const spec = s.lanes.find((l) => l.id === lane.id)!;
      const inLane = s.vehicles.filter((v) => v.keys.every((k) => k.x > spec.xFrom && k.x < spec.xTo));
      expect(new Set(classActs.map((a) => a.vehicle))).toEqual(new Set(inLane.map((v) => v.id)));
      // Each car in the lane is inside its polygon where the scene says so.
      for (const act of classActs) {
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        const p = positionAt(v.keys, (act.fromS + act.toS) / 2)!;
        const at = projectPx(s.camera, p.x, p.z);
        if (at.y < 720) expect(pointInPolygon({ x: at.x / 1280, y: at.y / 720 }, lane.polygon)).toBe(true);
      }
    }
    expect(reserved).toBeGreaterThan(0);
  });

  it('moves along its keys, and a fixed-time plan put on the wall clock shows the clip phases', () => {
    const s = specs('signal', 30).find((x) => x.signal!.kind === 'fixed-time')!;
    const v = s.vehicles[0]!;
    expect(positionAt(v.keys, v.keys[0]!.t)).toEqual({ x: v.keys[0]!.x, z: v.keys[0]!.z });
    const clipStartMs = Date.UTC(2026, 10, 24, 8, 0, 0) + 123;
    const scene = sceneForRun(s, clipStartMs);
    const plan = scene.signals['main']!;
    if (plan.kind !== 'fixed-time') throw new Error('expected a fixed-time plan');
    for (let t = 0.25; t < s.frame.durationS; t += 0.5)
      expect(fixedTimePhase(plan, clipStartMs + t * 1000).phase).toBe(scenarioPhase(s, t));
    expect(projectNorm(s.camera, 0, 1e6).y).toBeCloseTo(s.camera.horizonY / s.frame.height, 3);
  });

  it('lengthens the gates by moving their entry lines, and changes nothing else of the scenario', () => {
    for (let seed = 100; seed < 106; seed++) {
      const base = generateScenario(seed, { photos: PHOTOS, site: 'road' });
      const long = generateScenario(seed, { photos: PHOTOS, site: 'road', gateLengthenM: 12 });
      expect(long.gate!.entryZ).toBe(base.gate!.entryZ + 12);
      expect(long.gate!.exitZ).toBe(base.gate!.exitZ);
      expect(JSON.stringify(long.vehicles)).toBe(JSON.stringify(base.vehicles));
      const speeders = (s: typeof base) => s.truth.filter((t) => t.rule === 'speeding');
      expect(speeders(long).map((t) => t.vehicle)).toEqual(speeders(base).map((t) => t.vehicle));
      // The same exit crossing; the measured speed over the longer gate is the same steady speed.
      for (const [i, t] of speeders(long).entries()) {
        expect(t.atS).toBeCloseTo(speeders(base)[i]!.atS, 9);
        expect(t.details['speedKmh']).toBeCloseTo(speeders(base)[i]!.details['speedKmh'] as number, 0);
      }
    }
  });

  it("draws a zoom window over each road's gate entry, and the run can leave it out", () => {
    for (const s of specs('road')) {
      const scene = parseSceneConfig(s.scene);
      expect(scene.detectionTiles).toHaveLength(1);
      const tile = scene.detectionTiles[0]!;
      const entry = scene.speed!.gates[0]!.entry;
      const mid = { x: (entry.a.x + entry.b.x) / 2, y: (entry.a.y + entry.b.y) / 2 };
      // The entry line's middle inside, with room below it; the frame's aspect; an enlargement ≤ 3×.
      expect(mid.x).toBeGreaterThan(tile.x);
      expect(mid.x).toBeLessThan(tile.x + tile.w);
      expect(mid.y).toBeGreaterThan(tile.y);
      expect(mid.y).toBeLessThan(tile.y + tile.h - 0.03);
      expect(tile.w).toBeCloseTo(tile.h, 3);
      expect(tile.w).toBeGreaterThanOrEqual(0.333);
      expect(sceneForRun(s, 0, false).detectionTiles).toEqual([]);
    }
    for (const s of specs('signal', 4)) expect(parseSceneConfig(s.scene).detectionTiles).toEqual([]);
  });

  it('clips ground zones to the frame, so a car on the sidewalk is in the sidewalk zone wherever it shows', () => {
    let checked = 0;
    for (const s of specs('road')) {
      const zone = parseSceneConfig(s.scene).sidewalks[0]!.polygon;
      for (const v of s.vehicles.filter((x) => x.behaviour === 'drives along the sidewalk')) {
        for (let t = v.keys[0]!.t; t <= v.keys.at(-1)!.t; t += 0.25) {
          const p = positionAt(v.keys, t)!;
          const px = projectPx(s.camera, p.x, p.z);
          const inFrame = px.x > 0 && px.x < s.frame.width && px.y < s.frame.height;
          if (!inFrame || p.z < s.sidewalk!.zFrom || p.z > s.sidewalk!.zTo) continue;
          expect(pointInPolygon({ x: px.x / s.frame.width, y: px.y / s.frame.height }, zone)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    // A zone wholly inside the frame keeps its four corners.
    expect(quad(specs('road', 1)[0]!.camera, -1, 1, 30, 40)).toHaveLength(4);
  });

  it("ends a sidewalk act's window a second after the car has left the frame altogether", () => {
    let acts = 0;
    for (const s of specs('road')) {
      for (const act of s.truth.filter((a) => a.rule === 'sidewalk')) {
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        expect(act.toS).toBeCloseTo(Math.max(lastInFrame(s.camera, v.keys)!, act.atS) + 1, 1);
        acts++;
      }
    }
    expect(acts).toBeGreaterThan(3);
  });

  it('puts the speed gate so that the fastest car is still in view an analysed frame (0.5 s) after its exit line', () => {
    let speeders = 0;
    for (const s of specs('road')) {
      for (const act of s.truth.filter((a) => a.rule === 'speeding')) {
        const v = s.vehicles.find((x) => x.id === act.vehicle)!;
        expect(lastInFrame(s.camera, v.keys)! - act.atS).toBeGreaterThanOrEqual(0.5);
        speeders++;
      }
    }
    expect(speeders).toBeGreaterThan(5);
  });
});
