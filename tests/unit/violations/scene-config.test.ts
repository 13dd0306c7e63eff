import { describe, expect, it } from 'vitest';
import { laneVector, parseSceneConfig } from '../../../violations/scene-config.js';
import { square } from './fixtures.js';

describe('scene configuration', () => {
  it('gives an empty scene on which no rule has anything to judge', () => {
    const scene = parseSceneConfig({});
    expect(scene).toMatchObject({
      stopLines: [],
      lanes: [],
      stoppingZones: [],
      sidewalks: [],
      signalHeads: [],
      vehicleClasses: ['car', 'motorcycle', 'bus', 'truck'],
      minScore: 0.35,
      anchor: 'bottom-center',
    });
    expect(scene.speed).toBeUndefined();
    expect(scene.rules.wrongWay).toEqual({ minDistance: 0.08, minAngleDeg: 135, minFrames: 3 });
  });

  it('still parses a scene written before lanes, zones and speed existed, to the same meaning', () => {
    const old = {
      stopLines: [
        {
          id: 'SL-1',
          a: { x: 0.05, y: 0.55 },
          b: { x: 0.95, y: 0.55 },
          towards: { x: 0.5, y: 0.95 },
          signal: 'main',
        },
      ],
      signals: { main: { kind: 'fixed-time', offsetS: 7, greenS: 12, amberS: 3, redS: 15 } },
      ignoreMasks: [],
      vehicleClasses: ['car', 'truck', 'bus', 'motorcycle'],
      minScore: 0.24,
      anchor: 'center',
      schema: 1,
    };
    const scene = parseSceneConfig(old);
    expect(scene).toMatchObject(old);
    expect(parseSceneConfig(scene)).toEqual(scene);
  });

  it('keeps an external signal without a silence limit working', () => {
    expect(
      parseSceneConfig({ signals: { main: { kind: 'external', intersectionId: 'X' } } }).signals['main'],
    ).toEqual({
      kind: 'external',
      intersectionId: 'X',
      maxSilenceMs: 120_000,
    });
  });

  it('takes a lane direction as a vector or as an entry and exit point', () => {
    const lane = { id: 'L', polygon: square(0, 0, 1, 1) };
    const byVector = parseSceneConfig({ lanes: [{ ...lane, direction: { dx: 0, dy: 2 } }] }).lanes[0]!;
    const byPoints = parseSceneConfig({
      lanes: [{ ...lane, direction: { entry: { x: 0.5, y: 0.1 }, exit: { x: 0.5, y: 0.9 } } }],
    }).lanes[0]!;
    expect(laneVector(byVector)).toEqual({ x: 0, y: 2 });
    expect(laneVector(byPoints).y).toBeCloseTo(0.8);
    expect(byVector.against).toBe('wrong_way');
    expect(() => parseSceneConfig({ lanes: [{ ...lane, direction: { dx: 0, dy: 0 } }] })).toThrow();
  });

  it('takes speed limits per class with the device tolerance, and refuses unknown classes', () => {
    const scene = parseSceneConfig({ speed: { limitsKmh: { car: 60, motorcycle: 50 }, toleranceKmh: 3 } });
    expect(scene.speed).toMatchObject({ limitsKmh: { car: 60, motorcycle: 50 }, toleranceKmh: 3, gates: [] });
    expect(() => parseSceneConfig({ speed: { limitsKmh: { tractor: 30 } } })).toThrow();
  });

  it('refuses a ground homography whose points are crossed or in a line', () => {
    const groundM = [
      { x: 0, y: 20 },
      { x: 3.5, y: 20 },
      { x: 3.5, y: 0 },
      { x: 0, y: 0 },
    ];
    const image = [
      { x: 0.45, y: 0.3 },
      { x: 0.55, y: 0.3 },
      { x: 0.7, y: 0.9 },
      { x: 0.3, y: 0.9 },
    ];
    expect(parseSceneConfig({ speed: { homography: { image, groundM } } }).speed?.homography).toBeDefined();
    const crossed = [image[0]!, image[2]!, image[1]!, image[3]!];
    expect(() => parseSceneConfig({ speed: { homography: { image: crossed, groundM } } })).toThrow(/convex/);
  });

  it('defaults zone dwell by kind and sidewalks to motorbikes', () => {
    const scene = parseSceneConfig({
      stoppingZones: [{ id: 'Z', kind: 'bus_stop', polygon: square(0, 0, 0.2, 0.2) }],
      sidewalks: [{ id: 'S', polygon: square(0.8, 0, 1, 1) }],
    });
    expect(scene.stoppingZones[0]!.dwellS).toBeUndefined();
    expect(scene.sidewalks[0]!.classes).toEqual(['motorcycle']);
  });

  it('ties observed signals to signal heads both ways', () => {
    const lamps = { red: { x: 0.8, y: 0.1, w: 0.05, h: 0.05 }, green: { x: 0.8, y: 0.2, w: 0.05, h: 0.05 } };
    expect(() => parseSceneConfig({ signals: { main: { kind: 'observed' } } })).toThrow(/no signal head/);
    expect(() =>
      parseSceneConfig({
        signals: { main: { kind: 'fixed-time', greenS: 1, amberS: 1, redS: 1 } },
        signalHeads: [{ id: 'H', group: 'main', lamps }],
      }),
    ).toThrow(/not of kind 'observed'/);
    const ok = parseSceneConfig({
      signals: { main: { kind: 'observed' } },
      signalHeads: [{ id: 'H', group: 'main', lamps }],
    });
    expect(ok.signals['main']).toEqual({ kind: 'observed', confirmFrames: 2, maxGapMs: 2_500 });
    expect(() =>
      parseSceneConfig({
        signals: { main: { kind: 'observed' } },
        signalHeads: [{ id: 'H', group: 'main', lamps: { red: lamps.red } }],
      }),
    ).toThrow(/at least two lamp/);
  });

  it('refuses duplicate ids and lamp regions outside the frame', () => {
    const zone = { id: 'Z', kind: 'no_parking', polygon: square(0, 0, 0.2, 0.2) };
    expect(() => parseSceneConfig({ stoppingZones: [zone, zone] })).toThrow(/duplicate id Z/);
    expect(() =>
      parseSceneConfig({
        signals: { main: { kind: 'observed' } },
        signalHeads: [
          {
            id: 'H',
            group: 'main',
            lamps: {
              red: { x: 0.98, y: 0.1, w: 0.05, h: 0.05 },
              green: { x: 0.8, y: 0.2, w: 0.05, h: 0.05 },
            },
          },
        ],
      }),
    ).toThrow(/inside the frame/);
  });
});
