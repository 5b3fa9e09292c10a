/** Small generated images and tables for the data tests (written into temp folders, never committed). */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { CHEXPERT_CLASSES } from '../../src/data/tables/chexpert.js';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `medtrain-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A greyscale JPEG whose pixel (x, y) is f(x, y). */
export async function writeGreyJpeg(path: string, width: number, height: number, f: (x: number, y: number) => number, quality = 95): Promise<void> {
  const px = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = Math.max(0, Math.min(255, Math.round(f(x, y))));
  mkdirSync(dirname(path), { recursive: true });
  await sharp(px, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality }).toFile(path);
}

/** A lossless greyscale or RGB PNG (8-bit). */
export async function writePng(path: string, width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Promise<void> {
  const px = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) px[(y * width + x) * channels + c] = f(x, y, c);
  mkdirSync(dirname(path), { recursive: true });
  let img = sharp(px, { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  await img.png().toFile(path);
}

/** A 16-bit greyscale PNG written byte by byte (sharp cannot write exact 16-bit grey from raw input). */
export function writeGrey16Png(path: string, width: number, height: number, f: (x: number, y: number) => number): void {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(height * (1 + width * 2));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 2);
    raw[row] = 0;
    for (let x = 0; x < width; x++) raw.writeUInt16BE(Math.max(0, Math.min(65535, Math.round(f(x, y)))), row + 1 + x * 2);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

export const CHEXPERT_HEADER = ['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA', ...CHEXPERT_CLASSES].join(',');

/** A CheXpert row: labels by class name ('' when not given). */
export function chexpertRow(path: string, labels: Partial<Record<(typeof CHEXPERT_CLASSES)[number], string>>, meta: { sex?: string; age?: string; view?: string; ap?: string } = {}): string {
  const lateral = /lateral/.test(path);
  return [path, meta.sex ?? 'Female', meta.age ?? '60', meta.view ?? (lateral ? 'Lateral' : 'Frontal'), meta.ap ?? (lateral ? '' : 'AP'), ...CHEXPERT_CLASSES.map((c) => labels[c] ?? '')].join(',');
}
