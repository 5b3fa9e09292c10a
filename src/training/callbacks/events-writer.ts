/**
 * TensorBoard event files, written without TensorFlow: TFRecord framing (length, masked CRC32C of
 * the length, the record, masked CRC32C of the record) around Event protobufs encoded by hand.
 *
 *   Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 7; }
 *   Summary    { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
 *   SessionLog { enum status = 1 (START = 1); }
 *
 * A file starts with the `brain.Event:2` version event. A resumed run opens a new file that starts
 * with a SessionLog START at the first step it will redo: TensorBoard then drops the events of the
 * cut-short run from that step on (purge of orphaned data), so the curves join without doubles.
 * Records are buffered and appended one whole buffer per write.
 */
import { appendFileSync, mkdirSync, openSync, closeSync, fsyncSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ----
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of the length bytes, data, masked CRC of the data (little-endian). */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- protobuf wire format ----
class Proto {
  private parts: number[] = [];
  varint(v: number): this {
    // Non-negative integers up to 2^53.
    let n = v;
    while (n >= 0x80) {
      this.parts.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.parts.push(n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.key(field, 1).parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.key(field, 5).parts.push(...b);
    return this;
  }
  int(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface Scalar {
  tag: string;
  value: number;
}

export function encodeScalarEvent(step: number, scalars: readonly Scalar[], wallTime: number): Uint8Array {
  const summary = new Proto();
  for (const s of scalars) summary.bytes(1, new Proto().string(1, s.tag).float(2, s.value).done());
  return new Proto().double(1, wallTime).int(2, step).bytes(5, summary.done()).done();
}

export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return new Proto().double(1, wallTime).string(3, 'brain.Event:2').done();
}

export function encodeSessionStartEvent(step: number, wallTime: number): Uint8Array {
  return new Proto().double(1, wallTime).int(2, step).bytes(7, new Proto().int(1, 1).done()).done();
}

let fileCounter = 0;

/**
 * One event file in `dir`: `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`. TensorBoard reads a
 * folder's files in name order, so the seconds are raised past any file already there: a file
 * opened by a resumed run always reads after the run it continues.
 */
export class EventFileWriter {
  readonly path: string;
  private pending: Uint8Array[] = [];

  constructor(dir: string, o: { wallTime?: number } = {}) {
    mkdirSync(dir, { recursive: true });
    const t = o.wallTime ?? Date.now() / 1000;
    const taken = readdirSync(dir).map((f) => /^events\.out\.tfevents\.(\d+)\./.exec(f)?.[1]).filter((x): x is string => x !== undefined);
    const seconds = Math.max(Math.floor(t), ...taken.map((x) => Number(x) + 1));
    this.path = join(dir, `events.out.tfevents.${seconds}.${hostname().replace(/[^A-Za-z0-9.-]/g, '-')}.${process.pid}.${fileCounter++}.v2`);
    this.pending.push(tfRecord(encodeFileVersionEvent(t)));
    this.flush();
  }

  /** Events before `step` stand; TensorBoard drops what earlier files hold from `step` on. */
  sessionStart(step: number, wallTime = Date.now() / 1000): void {
    this.pending.push(tfRecord(encodeSessionStartEvent(step, wallTime)));
  }

  scalars(step: number, scalars: readonly Scalar[], wallTime = Date.now() / 1000): void {
    const finite = scalars.filter((s) => Number.isFinite(s.value));
    if (finite.length) this.pending.push(tfRecord(encodeScalarEvent(step, finite, wallTime)));
  }

  /** Append what is buffered in one write, and sync it to disk when asked. */
  flush(sync = false): void {
    if (this.pending.length) {
      const n = this.pending.reduce((a, b) => a + b.length, 0);
      const buf = new Uint8Array(n);
      let at = 0;
      for (const p of this.pending) {
        buf.set(p, at);
        at += p.length;
      }
      this.pending = [];
      appendFileSync(this.path, buf);
    }
    if (sync) {
      const fd = openSync(this.path, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
}
