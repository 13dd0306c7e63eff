import { describe, expect, it } from 'vitest';
import {
  benchClipEncodeArgs,
  cameraBitrateKbps,
  keyframeIntervalS,
} from '../../../tools/bench-fleet/clip.js';

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('bench clip recipe', () => {
  it('encodes H.264 with a keyframe every second and no B-frames', () => {
    const args = benchClipEncodeArgs({ width: 1920, height: 1080, fps: 25, bitrateKbps: 4000 });
    expect(valueOf(args, '-c:v')).toBe('libx264');
    expect(valueOf(args, '-bf')).toBe('0');
    expect(valueOf(args, '-g')).toBe('25');
    expect(valueOf(args, '-keyint_min')).toBe('25');
    expect(valueOf(args, '-sc_threshold')).toBe('0');
    expect(valueOf(args, '-b:v')).toBe('4000k');
    expect(valueOf(args, '-vf')).toContain('scale=1920:1080');
    expect(valueOf(args, '-t')).toBe('30');
  });

  it('makes every frame a keyframe at 1 fps and uses constant quality without a bit rate', () => {
    const args = benchClipEncodeArgs({ width: 320, height: 180, fps: 1 });
    expect(valueOf(args, '-g')).toBe('1');
    expect(valueOf(args, '-crf')).toBe('23');
    expect(args).not.toContain('-b:v');
  });

  it('scales the camera bit rate by pixel rate from 4 Mb/s at 1080p25', () => {
    expect(cameraBitrateKbps(1920, 1080, 25)).toBe(4000);
    expect(cameraBitrateKbps(1280, 720, 25)).toBe(1778);
    expect(cameraBitrateKbps(320, 180, 1)).toBe(200);
  });

  it('rounds a shorter keyframe interval to whole frames', () => {
    expect(
      valueOf(benchClipEncodeArgs({ width: 64, height: 36, fps: 25, keyframeIntervalS: 0.5 }), '-g'),
    ).toBe('13');
    expect(keyframeIntervalS({ fps: 25, keyframeIntervalS: 0.5 })).toBeCloseTo(0.52);
    expect(keyframeIntervalS({ fps: 25 })).toBe(1);
    expect(keyframeIntervalS({ fps: 1, keyframeIntervalS: 0.2 })).toBe(1);
  });
});
