/**
 * Just enough of the zip format to take one file out of a Keras 3 `.keras` archive: the central
 * directory (with zip64 sizes), stored or deflated entries.
 */
import { promises as fsp } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The bytes of the entry called `name` (or ending in `/name`). Throws Error with a plain reason otherwise. */
export async function readZipEntry(path: string, name: string): Promise<Uint8Array> {
  const buf = await fsp.readFile(path);
  if (buf.length < 22 || buf.readUInt32LE(0) !== LOCAL) throw new Error('not a zip archive');
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('the zip directory is missing (truncated archive?)');
  let count = buf.readUInt16LE(eocd + 10);
  let dirOffset = buf.readUInt32LE(eocd + 16);
  if (dirOffset === 0xffffffff && eocd >= 20 && buf.readUInt32LE(eocd - 20) === ZIP64_EOCD_LOCATOR) {
    const z = Number(buf.readBigUInt64LE(eocd - 12));
    if (buf.readUInt32LE(z) !== ZIP64_EOCD) throw new Error('bad zip64 directory');
    count = Number(buf.readBigUInt64LE(z + 32));
    dirOffset = Number(buf.readBigUInt64LE(z + 48));
  }
  let p = dirOffset;
  const names: string[] = [];
  for (let e = 0; e < count; e++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) throw new Error('bad zip directory entry');
    const method = buf.readUInt16LE(p + 10);
    let compressed = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const entry = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order.
    for (let x = p + 46 + nameLen; x < p + 46 + nameLen + extraLen; ) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    names.push(entry);
    if (entry === name || entry.endsWith(`/${name}`)) {
      if (buf.readUInt32LE(local) !== LOCAL) throw new Error(`bad local header for ${entry}`);
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      if (start + compressed > buf.length) throw new Error(`${entry} is truncated`);
      const data = buf.subarray(start, start + compressed);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${entry} uses zip compression method ${method}, which is not supported`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`no ${name} in the archive (entries: ${names.join(', ')})`);
}
