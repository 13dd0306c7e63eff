import { describe, expect, it } from 'vitest';
import { classifyColour, plateColour, rgbToHsv } from '../../../detector/plates/plate-colour.js';
import { renderPlate } from './render-plate.js';

describe('plate colour', () => {
  it.each([
    ['white (private)', '#f2f2ee', '#111111', 'white'],
    ['dim white at night', '#8c8c88', '#151515', 'white'],
    ['yellow (commercial)', '#f0c419', '#111111', 'yellow'],
    ['blue (state)', '#1f4fbf', '#ffffff', 'blue'],
    ['red (military)', '#c01818', '#ffffff', 'red'],
  ] as const)('classifies a rendered %s plate', async (_name, background, ink, colour) => {
    const one = await renderPlate({ rows: ['30A-123.45'], background, ink });
    expect(plateColour(one).colour).toBe(colour);
    const two = await renderPlate({ rows: ['29-B1', '123.45'], background, ink, surround: 25 });
    expect(plateColour(two).colour).toBe(colour);
  });

  it('reports the background, not the text colour', async () => {
    const img = await renderPlate({ rows: ['51LD-123.45'], background: '#1f4fbf', ink: '#ffffff' });
    const [r, g, b] = plateColour(img).background;
    expect(b).toBeGreaterThan(r + 60);
    expect(b).toBeGreaterThan(g + 40);
  });

  it('converts RGB to HSV', () => {
    expect(rgbToHsv(255, 0, 0)).toEqual({ h: 0, s: 1, v: 1 });
    expect(rgbToHsv(0, 0, 255).h).toBeCloseTo(240);
    expect(rgbToHsv(128, 128, 128).s).toBe(0);
  });

  it('calls a near-black background unknown', () => {
    expect(classifyColour(10, 10, 12)).toBe('unknown');
    expect(classifyColour(60, 200, 60)).toBe('unknown');
  });
});
