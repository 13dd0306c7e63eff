import { describe, expect, it } from 'vitest';
import {
  concatList,
  concatSegmentsArgs,
  ffmpegReadArgs,
  ffprobeBinary,
  OutputSizeParser,
  videoFilter,
} from '../../../ingest/ffmpeg-adapter.js';

const rtsp = { url: 'rtsp://user:secret@10.0.0.7:554/stream1', fps: 2, width: 640, ioTimeoutMs: 10_000 };

/** The value following `flag`, which must appear once. */
function valueOf(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

describe('ffmpegReadArgs', () => {
  it('reads RTSP over TCP with a socket timeout in microseconds, video only', () => {
    const args = ffmpegReadArgs(rtsp);
    const input = args.indexOf('-i');
    expect(args[input + 1]).toBe(rtsp.url);
    const before = args.slice(0, input);
    expect(valueOf(before, '-rtsp_transport')).toBe('tcp');
    expect(valueOf(before, '-timeout')).toBe('10000000');
    expect(valueOf(before, '-allowed_media_types')).toBe('video');
  });

  it('samples at fps, scales to the width with an even height, and writes raw rgb24 to stdout', () => {
    const args = ffmpegReadArgs({ ...rtsp, fps: 0.5, width: 320 });
    const output = args.slice(args.indexOf('-i') + 2);
    expect(valueOf(output, '-vf')).toBe('fps=0.5,scale=w=320:h=trunc(ow/dar/2)*2,setsar=1');
    expect(valueOf(output, '-pix_fmt')).toBe('rgb24');
    expect(valueOf(output, '-f')).toBe('rawvideo');
    expect(valueOf(output, '-map')).toBe('0:v:0');
    expect(output).toContain('-an');
    expect(output.at(-1)).toBe('pipe:1');
  });

  it('keeps ffmpeg interactive on stdin so that it can be asked to quit', () => {
    const args = ffmpegReadArgs(rtsp);
    expect(args).not.toContain('-nostdin');
    expect(args).toContain('-nostats');
    expect(valueOf(args, '-loglevel')).toBe('info');
  });

  it('uses -rw_timeout for other network inputs and real-time reading for files', () => {
    const http = ffmpegReadArgs({ ...rtsp, url: 'http://cam.local/video.mjpg' });
    expect(valueOf(http, '-rw_timeout')).toBe('10000000');
    expect(http).not.toContain('-rtsp_transport');
    const file = ffmpegReadArgs({ ...rtsp, url: '/data/clip.mp4' });
    expect(file.slice(0, file.indexOf('-i'))).toContain('-re');
    expect(file).not.toContain('-rtsp_transport');
  });

  it('refuses options that would make no sense or inject arguments', () => {
    expect(() => ffmpegReadArgs({ ...rtsp, fps: 0 })).toThrow(RangeError);
    expect(() => ffmpegReadArgs({ ...rtsp, width: 641.5 })).toThrow(RangeError);
    expect(() => ffmpegReadArgs({ ...rtsp, ioTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => ffmpegReadArgs({ ...rtsp, url: '-filter_complex' })).toThrow(RangeError);
  });

  it('builds the video filter from fps and width', () => {
    expect(videoFilter(5, 1280)).toBe('fps=5,scale=w=1280:h=trunc(ow/dar/2)*2,setsar=1');
  });
});

describe('ffmpegReadArgs with a segment output', () => {
  const segments = { dir: '/var/pn/clips/cam1/run-1', segmentSeconds: 1, wrap: 22 };

  it('adds a second output copying the video into wrapped MPEG-TS segments listed on fd 3', () => {
    const args = ffmpegReadArgs({ ...rtsp, segments });
    const frames = args.indexOf('pipe:1');
    expect(frames).toBeGreaterThan(0);
    const second = args.slice(frames + 1);
    expect(second.at(-1)).toBe('/var/pn/clips/cam1/run-1/seg-%03d.ts');
    expect(valueOf(second, '-c')).toBe('copy');
    expect(valueOf(second, '-map')).toBe('0:v:0');
    expect(valueOf(second, '-f')).toBe('segment');
    expect(valueOf(second, '-segment_format')).toBe('mpegts');
    expect(valueOf(second, '-segment_time')).toBe('1');
    expect(valueOf(second, '-segment_wrap')).toBe('22');
    expect(valueOf(second, '-segment_list')).toBe('pipe:3');
    expect(valueOf(second, '-segment_list_type')).toBe('csv');
    expect(second).not.toContain('-vf');
    // The frames output is unchanged by the second one (fluent-ffmpeg adds the global -y with two outputs).
    expect(args.slice(0, frames + 1).filter((a) => a !== '-y')).toEqual(ffmpegReadArgs(rtsp));
  });

  it('keeps decoder options on the input, where stream copy ignores them', () => {
    const args = ffmpegReadArgs({ ...rtsp, decode: 'keyframes', segments });
    const input = args.indexOf('-i');
    expect(valueOf(args.slice(0, input), '-skip_frame')).toBe('nokey');
    expect(args.slice(args.indexOf('pipe:1'))).not.toContain('-skip_frame');
  });

  it('refuses a relative folder, a wrap too small and a segment length out of range', () => {
    expect(() => ffmpegReadArgs({ ...rtsp, segments: { ...segments, dir: 'clips' } })).toThrow(RangeError);
    expect(() => ffmpegReadArgs({ ...rtsp, segments: { ...segments, wrap: 2 } })).toThrow(RangeError);
    expect(() => ffmpegReadArgs({ ...rtsp, segments: { ...segments, segmentSeconds: 0 } })).toThrow(
      RangeError,
    );
  });
});

describe('clip assembly arguments', () => {
  it('joins segments with the concat demuxer into a fast-start MP4 without re-encoding', () => {
    const args = concatSegmentsArgs('/tmp/c/list.txt', '/tmp/c/out.mp4');
    const input = args.indexOf('-i');
    expect(args[input + 1]).toBe('/tmp/c/list.txt');
    expect(valueOf(args.slice(0, input), '-f')).toBe('concat');
    expect(valueOf(args.slice(0, input), '-safe')).toBe('0');
    const output = args.slice(input + 2);
    expect(valueOf(output, '-c')).toBe('copy');
    expect(valueOf(output, '-movflags')).toBe('+faststart');
    expect(valueOf(output, '-f')).toBe('mp4');
    expect(output.at(-1)).toBe('/tmp/c/out.mp4');
  });

  it("quotes file names for the concat list, a ' included", () => {
    expect(concatList(['/a/seg-001.ts', "/b/it's/seg-002.ts"])).toBe(
      "file '/a/seg-001.ts'\nfile '/b/it'\\''s/seg-002.ts'\n",
    );
  });

  it('finds ffprobe beside the configured ffmpeg', () => {
    expect(ffprobeBinary('/opt/ffmpeg/bin/ffmpeg')).toBe('/opt/ffmpeg/bin/ffprobe');
    expect(ffprobeBinary('ffmpeg')).toBe('ffprobe');
  });
});

describe('OutputSizeParser', () => {
  const stderr = [
    "Input #0, rtsp, from 'rtsp://127.0.0.1:8554/cam1':",
    '  Stream #0:0: Video: h264 (Main), yuv420p(tv, smpte170m, progressive), 768x432, 12.50 fps, 12.50 tbr, 90k tbn',
    'Stream mapping:',
    '  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))',
    "Output #0, rawvideo, to 'pipe:1':",
    '  Metadata:',
    '    encoder         : Lavf59.27.100',
    '  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/smpte170m/smpte170m, progressive), 640x360 [SAR 1:1 DAR 16:9], q=2-31, 11059 kb/s, 2 fps, 2 tbn',
  ];

  it('finds the output size and ignores the input stream line and the codec tag', () => {
    const p = new OutputSizeParser();
    const answers = stderr.map((l) => p.feed(l));
    expect(answers.slice(0, -1).every((a) => a === undefined)).toBe(true);
    expect(answers.at(-1)).toEqual({ width: 640, height: 360 });
    expect(p.size).toEqual({ width: 640, height: 360 });
  });

  it('reads a size at the end of the line or before a comma', () => {
    const p = new OutputSizeParser();
    p.feed("Output #0, rawvideo, to 'pipe:1':");
    expect(p.feed('  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 320x180')).toEqual({
      width: 320,
      height: 180,
    });
  });

  it('ignores a rawvideo input', () => {
    const p = new OutputSizeParser();
    p.feed("Input #0, rawvideo, from 'pipe:0':");
    expect(
      p.feed('  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 1920x1080, 25 fps'),
    ).toBeUndefined();
  });
});
