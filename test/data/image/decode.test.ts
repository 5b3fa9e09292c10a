import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError, jpegHeader } from '../../../src/data/image/decode.js';
import { tempDir, writeGrey16Png, writeGreyJpeg, writePng } from '../fixtures.js';

const tmp = tempDir('decode');
afterAll(tmp.cleanup);
const f = (name: string) => join(tmp.dir, name);

beforeAll(async () => {
  await writeGreyJpeg(f('grey.jpg'), 40, 30, (x, y) => x * 4 + y);
  await writePng(f('rgb.png'), 20, 10, 3, (x, y, c) => (c === 0 ? 200 : c === 1 ? x * 10 : y * 20));
  writeGrey16Png(f('deep.png'), 16, 8, (x, y) => 1000 + (x % 4) + 60000 * (y === 7 && x === 15 ? 1 : 0));
});

describe('decoding', () => {
  it('decodes a greyscale JPEG to one 8-bit channel', async () => {
    const buf = readFileSync(f('grey.jpg'));
    expect(jpegHeader(buf)).toEqual({ width: 40, height: 30, components: 1 });
    const img = await decodeImage(buf);
    expect([img.width, img.height, img.channels, img.depth]).toEqual([40, 30, 1, 8]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(Math.abs(img.data[29 * 40 + 39]! - (39 * 4 + 29))).toBeLessThanOrEqual(3);
  });

  it('decodes an RGB PNG to three channels, exactly', async () => {
    const img = await decodeImage(readFileSync(f('rgb.png')));
    expect([img.width, img.height, img.channels, img.depth]).toEqual([20, 10, 3, 8]);
    expect(Array.from(img.data.subarray((3 * 20 + 5) * 3, (3 * 20 + 5) * 3 + 3))).toEqual([200, 50, 60]);
  });

  it('keeps all 16 bits of a 16-bit greyscale PNG', async () => {
    const img = await decodeImage(readFileSync(f('deep.png')));
    expect([img.width, img.height, img.channels, img.depth]).toEqual([16, 8, 1, 16]);
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(img.data.subarray(0, 5))).toEqual([1000, 1001, 1002, 1003, 1000]);
    expect(img.data[7 * 16 + 15]).toBe(61003);
  });

  it('rejects truncated, corrupt and empty files with a reason', async () => {
    const jpg = readFileSync(f('grey.jpg'));
    await expect(decodeImage(jpg.subarray(0, Math.floor(jpg.length / 2)))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(jpg.subarray(0, Math.floor(jpg.length / 2)))).rejects.toThrow(/premature end|truncat|cannot decode/i);
    const png = readFileSync(f('rgb.png'));
    await expect(decodeImage(png.subarray(0, png.length - 30))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(Buffer.from('this is not an image at all'))).rejects.toThrow(/not an image/);
    await expect(decodeImage(Buffer.alloc(0))).rejects.toThrow(/empty/);
  });
});
