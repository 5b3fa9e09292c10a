import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type RawImage } from '../../../src/data/image/decode.js';
import { DEFAULT_IMAGE_SETTINGS, prepareImage, type ImageSettings } from '../../../src/data/image/prepare.js';
import { tempDir, writeGrey16Png, writePng } from '../fixtures.js';

const tmp = tempDir('prepare');
afterAll(tmp.cleanup);
const f = (name: string) => join(tmp.dir, name);

const settings = (over: Partial<ImageSettings> = {}): ImageSettings => ({ ...DEFAULT_IMAGE_SETTINGS, size: 64, ...over });

beforeAll(async () => {
  await writePng(f('rgb.png'), 20, 10, 3, (x, y, c) => (c === 0 ? 200 : c === 1 ? x * 10 : y * 20));
  writeGrey16Png(f('deep.png'), 16, 8, (x, y) => 1000 + (x % 4) + 60000 * (y === 7 && x === 15 ? 1 : 0));
});

describe('preparing an image', () => {
  it('keeps colour in colour, turns it to luma when asked, and keeps a grey image stored as RGB as one channel', async () => {
    const img = await decodeImage(readFileSync(f('rgb.png')));
    expect(prepareImage(img, settings()).channels).toBe(3);
    expect(prepareImage(img, settings({ colour: 'grey' })).data[3 * 20 + 5]).toBe(Math.round(0.299 * 200 + 0.587 * 50 + 0.114 * 60));
    const greyInRgb: RawImage = { data: Uint8Array.from({ length: 4 * 3 }, (_, i) => 10 * Math.floor(i / 3)), width: 2, height: 2, channels: 3, depth: 8 };
    const p = prepareImage(greyInRgb, settings());
    expect([p.channels, Array.from(p.data)]).toEqual([1, [0, 10, 20, 30]]);
  });

  it('leaves the resize to the augmentation warp unless transforms, letterboxing or a large reduction need it here', () => {
    const raw: RawImage = { data: new Uint8Array(100 * 80).fill(5), width: 100, height: 80, channels: 1, depth: 8 };
    const same = prepareImage(raw, settings());
    expect([same.width, same.height]).toEqual([100, 80]);
    expect(same.data).toBe(raw.data);
    expect([prepareImage(raw, settings({ transforms: [{ kind: 'hist' }] })).width, prepareImage(raw, settings({ size: 32 })).width]).toEqual([64, 32]);
    const centre = prepareImage(raw, settings({ crop: 'centre' }));
    expect([centre.width, centre.height]).toEqual([80, 80]);
    // Letterbox: 100×50 into 64×64 keeps the aspect ratio between black bands.
    const wide: RawImage = { data: new Uint8Array(100 * 50).fill(200), width: 100, height: 50, channels: 1, depth: 8 };
    const lb = prepareImage(wide, settings({ fit: 'letterbox' }));
    expect([lb.width, lb.height]).toEqual([64, 64]);
    expect(lb.data[0]).toBe(0);
    expect(lb.data[32 * 64 + 32]).toBe(200);
    expect(lb.data[63 * 64 + 32]).toBe(0);
  });

  it('scales 16-bit images after resizing, so depth survives until the window', async () => {
    const raw = await decodeImage(readFileSync(f('deep.png')));
    // Values 1000..1003 in row 0; 61003 in one corner. An explicit window on the low values:
    const img = prepareImage(raw, settings({ window: { center: 1001.5, width: 3 } }));
    expect(Array.from(img.data.subarray(0, 4))).toEqual([0, 85, 170, 255]);
    // Reduced to 8 bits first, they would all have been 3 or 4, one flat grey.
    expect(new Set([1000, 1001, 1002, 1003].map((v) => Math.round(v / 257))).size).toBe(1);
    // The default for 16-bit: minimum..maximum of the image.
    const auto = prepareImage(raw, settings());
    expect(auto.data[0]).toBe(0);
    expect(auto.data[7 * 16 + 15]).toBe(255);
  });
});
