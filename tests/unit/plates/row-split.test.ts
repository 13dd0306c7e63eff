import { describe, expect, it } from 'vitest';
import { cropImage } from '../../../detector/plates/image.js';
import { analyseRows } from '../../../detector/plates/row-split.js';
import { renderPlate } from './render-plate.js';

describe('row split', () => {
  it('finds the gap between the rows of a rendered 2-row motorbike plate', async () => {
    const img = await renderPlate({ rows: ['29-B1', '123.45'], width: 190, height: 140 });
    const r = analyseRows(img);
    expect(r.twoRows).toBe(true);
    expect(r.polarity).toBe('dark-on-light');
    // Row 1 ink ends near 0.4 H, row 2 starts near 0.55 H (font metrics): the split lies between.
    expect(r.split).toBeGreaterThan(0.4 * 140);
    expect(r.split).toBeLessThan(0.6 * 140);
  });

  it('follows the gap, not a fixed 50 %: a crop with a deep margin under the plate', async () => {
    const plate = await renderPlate({ rows: ['29-B1', '123.45'], width: 190, height: 140 });
    // 90 more rows of dark bumper under the plate: half height now falls inside the bottom row.
    const extra = 90;
    const data = new Uint8Array(plate.width * (plate.height + extra) * 3).fill(40);
    data.set(plate.data);
    const img = { data, width: plate.width, height: plate.height + extra };
    const r = analyseRows(img);
    expect(r.twoRows).toBe(true);
    expect(r.split).toBeGreaterThan(0.4 * 140);
    expect(r.split).toBeLessThan(0.6 * 140);
    expect(Math.abs(r.split - img.height / 2)).toBeGreaterThan(20);
  });

  it('splits a loose crop with a dark surround between the rows', async () => {
    const img = await renderPlate({ rows: ['59-X1', '076.25'], surround: 40 });
    const r = analyseRows(img);
    expect(r.twoRows).toBe(true);
    const plateTop = 40;
    const plateHeight = 140;
    expect(r.split).toBeGreaterThan(plateTop + 0.4 * plateHeight);
    expect(r.split).toBeLessThan(plateTop + 0.6 * plateHeight);
  });

  it('works on light text on a dark (blue) plate', async () => {
    const img = await renderPlate({ rows: ['80-A1', '123.45'], background: '#1f4fbf', ink: '#ffffff' });
    const r = analyseRows(img);
    expect(r.polarity).toBe('light-on-dark');
    expect(r.twoRows).toBe(true);
  });

  it('sees one row on a one-row plate', async () => {
    const img = await renderPlate({ rows: ['30A-123.45'] });
    expect(analyseRows(img).twoRows).toBe(false);
    const square = await renderPlate({ rows: ['ABC123'], width: 240, height: 120 });
    expect(analyseRows(square).twoRows).toBe(false);
  });

  it('gives halves that each hold one row', async () => {
    const img = await renderPlate({ rows: ['29-B1', '123.45'] });
    const { split } = analyseRows(img);
    const top = analyseRows(cropImage(img, { x: 0, y: 0, w: img.width, h: split }));
    const bottom = analyseRows(cropImage(img, { x: 0, y: split, w: img.width, h: img.height - split }));
    expect(top.twoRows).toBe(false);
    expect(bottom.twoRows).toBe(false);
  });
});
