/**
 * The phantom set: a deterministic synthetic chest X-ray dataset in CheXpert's exact layout and CSV
 * format, the embedded default that the main command trains on when no real data is given.
 *
 *   out/train.csv, out/valid.csv, out/phantom.json (marker)
 *   out/CheXpert-v1.0-small/{train,valid}/patientNNNNN/studyN/viewK_{frontal,lateral}.jpg
 *
 * Each study draws, per CheXpert observation, a sign severity: none, weak or strong. The image shows
 * the sign (a wide heart for Cardiomegaly, a basal fluid level for Pleural Effusion, …) and the CSV
 * says what a report would: strong → 1.0, weak → -1.0 (uncertain), none → blank or 0.0 (negated).
 * valid.csv, like CheXpert's, is fully labelled by consensus: any sign → 1.0, none → 0.0.
 *
 * Version 2 draws every strong sign large enough to see at the 64 px the quick start trains on
 * (in version 1 nodules, rib fractures, pleural thickening, the pneumothorax rim and lines and
 * tubes were 1–2 px there, and neither medtrain nor PyTorch learned Fracture or Pleural Other past
 * about 0.6 AUROC) and the rare findings often enough that 1,000 patients hold about 130 positive
 * images of each (85 of Pneumonia, which stays mostly uncertain). A nodule adds its density over the
 * heart and fluid too; ECG electrodes are rings, not discs a nodule could be taken for.
 *
 * Everything derives from the seed through forked streams (one per patient, one per image), so the
 * same seed gives byte-identical files whatever the order of work.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { MedtrainError, listForMessage } from '../util/errors.js';
import { exists, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import { isWorkerOf, moduleWorker } from '../util/worker.js';

const log = createLogger('phantom');

/** Bumped whenever the same parameters would give different files. */
export const PHANTOM_VERSION = 2;
export const PHANTOM_MARKER = 'phantom.json';
const MARKER_FORMAT = 'medtrain-phantom';

/** The 14 CheXpert observations in CSV column order. */
export const CHEXPERT_LABELS = [
  'No Finding',
  'Enlarged Cardiomediastinum',
  'Cardiomegaly',
  'Lung Opacity',
  'Lung Lesion',
  'Edema',
  'Consolidation',
  'Pneumonia',
  'Atelectasis',
  'Pneumothorax',
  'Pleural Effusion',
  'Pleural Other',
  'Fracture',
  'Support Devices',
] as const;
export type ChexpertLabel = (typeof CHEXPERT_LABELS)[number];

/** CheXpert's 19 CSV columns, spelled as in its header. */
export const CHEXPERT_HEADER = ['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA', ...CHEXPERT_LABELS] as const;

/** The competition set (N5). */
export const COMPETITION_LABELS = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;

/** 0: no sign, 1: weak sign (train label -1.0, uncertain), 2: strong sign (1.0). */
export type Severity = 0 | 1 | 2;

export const PHANTOM_DEFAULTS = { patients: 150, size: 256, seed: 1, validFraction: 0.2 } as const;
/** CheXpert-small's portrait aspect (320 × 390). */
const ASPECT = 390 / 320;

const L = Object.fromEntries(CHEXPERT_LABELS.map((c, i) => [c, i])) as Record<ChexpertLabel, number>;

/** Observations drawn directly; Lung Opacity and No Finding are derived from them. */
type Drawn = Exclude<ChexpertLabel, 'No Finding' | 'Lung Opacity'>;
const DRAWN = CHEXPERT_LABELS.filter((c): c is Drawn => c !== 'No Finding' && c !== 'Lung Opacity');

/**
 * Per study: P(strong sign), P(weak sign), and for an absent sign the chance a report negates it
 * explicitly (0.0) rather than leaving it blank. Shaped after CheXpert's train.csv (effusion and
 * support devices common, fracture and pleural other rarer), with every finding common enough to
 * learn from a thousand patients.
 */
const PREVALENCE: Record<Drawn, { strong: number; weak: number; negated: number }> = {
  'Enlarged Cardiomediastinum': { strong: 0.07, weak: 0.06, negated: 0.08 },
  Cardiomegaly: { strong: 0.2, weak: 0.05, negated: 0.05 },
  'Lung Lesion': { strong: 0.1, weak: 0.015, negated: 0.02 },
  Edema: { strong: 0.16, weak: 0.06, negated: 0.1 },
  Consolidation: { strong: 0.14, weak: 0.08, negated: 0.12 },
  Pneumonia: { strong: 0.07, weak: 0.08, negated: 0.08 },
  Atelectasis: { strong: 0.18, weak: 0.1, negated: 0.01 },
  Pneumothorax: { strong: 0.1, weak: 0.02, negated: 0.3 },
  'Pleural Effusion': { strong: 0.26, weak: 0.06, negated: 0.15 },
  'Pleural Other': { strong: 0.09, weak: 0.01, negated: 0.005 },
  Fracture: { strong: 0.09, weak: 0.01, negated: 0.02 },
  'Support Devices': { strong: 0.4, weak: 0.01, negated: 0.02 },
};
/** An opacity that names no specific finding (Lung Opacity alone). */
const OTHER_OPACITY = { strong: 0.07, weak: 0.04 };
const LUNG_OPACITY_CHILDREN = ['Lung Lesion', 'Edema', 'Consolidation', 'Pneumonia', 'Atelectasis'] as const;
/** Observations that count against No Finding (CheXpert: every pathology, not Support Devices). */
const PATHOLOGIES = DRAWN.filter((c) => c !== 'Support Devices');

export type Split = 'train' | 'valid';

export interface PhantomView {
  /** 1-based index in the study (viewK_…). */
  index: number;
  view: 'frontal' | 'lateral';
  /** AP or PA for frontal views, '' for lateral (as CheXpert). */
  projection: 'AP' | 'PA' | '';
}

export interface PhantomStudy {
  split: Split;
  patient: number;
  /** 1-based study number within the patient. */
  study: number;
  sex: 'Male' | 'Female';
  age: number;
  /** Sign severity per CheXpert observation (index as CHEXPERT_LABELS); Lung Opacity and No Finding derived. */
  severity: Uint8Array;
  /** Severity of an opacity that names no specific finding (drawn; part of Lung Opacity). */
  otherOpacity: Severity;
  /** Per observation: an absent sign is written 0.0 (negated) in train.csv rather than blank. */
  negated: Uint8Array;
  views: PhantomView[];
}

/** One image row: what the CSV says and how to draw the image. */
export interface PhantomCase {
  /** The CSV path, e.g. `CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg`. */
  path: string;
  study: PhantomStudy;
  view: PhantomView;
  /** The 14 label cells as written: '1.0', '0.0', '-1.0' or ''. */
  cells: string[];
  /** The 14 labels as numbers: 1, 0, -1 (uncertain) or NaN (blank). */
  labels: Float32Array;
}

// ---------------------------------------------------------------------------------------------
// The plan: patients, studies, views and labels (no pixels)
// ---------------------------------------------------------------------------------------------

function patientId(n: number): string {
  return `patient${String(n).padStart(5, '0')}`;
}

function drawSeverity(rng: Rng, p: { strong: number; weak: number }, factor = 1): Severity {
  const u = rng.next();
  if (u < p.strong * factor) return 2;
  if (u < (p.strong + p.weak) * factor) return 1;
  return 0;
}

/** Derive Lung Opacity (any opacity sign) and No Finding (no pathology sign at all). */
function deriveSeverity(s: PhantomStudy): void {
  let op = s.otherOpacity as number;
  for (const c of LUNG_OPACITY_CHILDREN) op = Math.max(op, s.severity[L[c]]!);
  s.severity[L['Lung Opacity']] = op;
  const sick = PATHOLOGIES.some((c) => s.severity[L[c]]! > 0) || op > 0;
  s.severity[L['No Finding']] = sick ? 0 : 2;
}

function drawPatient(root: Rng, n: number, split: Split): PhantomStudy[] {
  const rng = root.fork(`patient/${n}`);
  const sex = rng.bernoulli(0.59) ? 'Male' : 'Female';
  const age = Math.round(Math.min(90, Math.max(18, rng.normal(61, 17))));
  // Intensive-care patients: supine AP films, lines and tubes, more findings.
  const icu = rng.bernoulli(0.5);
  // Cardiomegaly is chronic: the same in every study of a patient.
  const cardio = drawSeverity(rng, PREVALENCE.Cardiomegaly);
  let studies = 1;
  if (split === 'train') while (studies < 5 && rng.bernoulli(0.45)) studies++;
  const out: PhantomStudy[] = [];
  for (let k = 1; k <= studies; k++) {
    const severity = new Uint8Array(CHEXPERT_LABELS.length);
    const negated = new Uint8Array(CHEXPERT_LABELS.length);
    const healthy = rng.bernoulli(icu ? 0.08 : 0.22);
    const factor = icu ? 1.25 : 0.75;
    for (const c of DRAWN) {
      let f = factor;
      if (c === 'Edema' && cardio > 0) f *= 1.8;
      if (c === 'Pleural Effusion' && severity[L.Edema]! > 0) f *= 1.5;
      if (c === 'Support Devices') f = icu ? 1.8 : 0.35;
      const s = c === 'Cardiomegaly' ? cardio : drawSeverity(rng, PREVALENCE[c], f);
      severity[L[c]] = healthy && c !== 'Support Devices' ? 0 : s;
      negated[L[c]] = rng.bernoulli(PREVALENCE[c].negated) ? 1 : 0;
    }
    const otherOpacity = healthy ? 0 : drawSeverity(rng, OTHER_OPACITY, factor);
    negated[L['Lung Opacity']] = rng.bernoulli(0.03) ? 1 : 0;
    const projection = icu ? (rng.bernoulli(0.92) ? 'AP' : 'PA') : rng.bernoulli(0.8) ? 'PA' : 'AP';
    const views: PhantomView[] = [{ index: 1, view: 'frontal', projection }];
    if (rng.bernoulli(projection === 'PA' ? 0.55 : 0.12)) views.push({ index: 2, view: 'lateral', projection: '' });
    const st: PhantomStudy = { split, patient: n, study: k, sex, age: Math.min(90, age + Math.floor((k - 1) / 2)), severity, otherOpacity, negated, views };
    deriveSeverity(st);
    out.push(st);
  }
  return out;
}

/**
 * Make sure each observation has at least `min` strong signs in the studies of a split (rare
 * findings otherwise miss a small valid set), by adding the sign to randomly chosen studies.
 */
function topUpPositives(studies: PhantomStudy[], rng: Rng, min: number): void {
  if (!studies.length) return;
  const need = Math.min(min, studies.length);
  for (const c of DRAWN) {
    let have = studies.filter((s) => s.severity[L[c]] === 2).length;
    for (let tries = 0; have < need && tries < 50 * need; tries++) {
      const s = studies[rng.int(studies.length)]!;
      if (s.severity[L[c]] === 2) continue;
      s.severity[L[c]] = 2;
      deriveSeverity(s);
      have++;
    }
  }
  let healthy = studies.filter((s) => s.severity[L['No Finding']] === 2).length;
  for (let tries = 0; healthy < need && tries < 50 * need; tries++) {
    const s = studies[rng.int(studies.length)]!;
    if (s.severity[L['No Finding']] === 2) continue;
    for (const c of PATHOLOGIES) s.severity[L[c]] = 0;
    s.otherOpacity = 0;
    deriveSeverity(s);
    healthy++;
  }
}

/** The label cells of a study as its split's CSV writes them. */
export function labelCells(s: PhantomStudy): string[] {
  return CHEXPERT_LABELS.map((c, i) => {
    const sev = s.severity[i]!;
    if (s.split === 'valid') return sev > 0 ? '1.0' : '0.0';
    if (c === 'No Finding') return sev > 0 ? '1.0' : '';
    if (sev === 2) return '1.0';
    if (sev === 1) return '-1.0';
    return s.negated[i] ? '0.0' : '';
  });
}

function cellValue(cell: string): number {
  return cell === '' ? NaN : Number(cell);
}

function casesOf(studies: PhantomStudy[]): PhantomCase[] {
  const out: PhantomCase[] = [];
  for (const study of studies) {
    const cells = labelCells(study);
    const labels = Float32Array.from(cells, cellValue);
    for (const view of study.views) {
      const path = `CheXpert-v1.0-small/${study.split}/${patientId(study.patient)}/study${study.study}/view${view.index}_${view.view}.jpg`;
      out.push({ path, study, view, cells, labels });
    }
  }
  return out;
}

export interface PhantomPlanOptions {
  patients?: number;
  seed?: number | string;
  /** Share of patients in valid.csv (default 0.2; at least one when there are two or more patients). */
  validFraction?: number;
}

/**
 * The whole set without pixels: every image row of train.csv and valid.csv, in file order.
 * Train patients are numbered first, valid patients after them (as in CheXpert); every valid
 * patient has one study.
 */
export function planPhantom(opts: PhantomPlanOptions = {}): { train: PhantomCase[]; valid: PhantomCase[] } {
  const patients = opts.patients ?? PHANTOM_DEFAULTS.patients;
  if (!Number.isInteger(patients) || patients < 1) throw new MedtrainError('the phantom set needs a whole number of patients >= 1', { code: 'bad-option', column: 'patients', value: patients });
  const root = new Rng(`phantom/${opts.seed ?? PHANTOM_DEFAULTS.seed}`);
  const frac = opts.validFraction ?? PHANTOM_DEFAULTS.validFraction;
  const nValid = patients < 2 ? 0 : Math.max(1, Math.round(patients * frac));
  const nTrain = patients - nValid;
  const train: PhantomStudy[] = [];
  const valid: PhantomStudy[] = [];
  for (let n = 1; n <= nTrain; n++) train.push(...drawPatient(root, n, 'train'));
  for (let n = nTrain + 1; n <= patients; n++) valid.push(...drawPatient(root, n, 'valid'));
  topUpPositives(train, root.fork('top-up/train'), 3);
  topUpPositives(valid, root.fork('top-up/valid'), 2);
  return { train: casesOf(train), valid: casesOf(valid) };
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/**
 * Body coordinates: u across (image left = patient's right on a frontal view; on a lateral view
 * anterior is left), v downward; the lungs span about u ∈ [-0.45, 0.45], v ∈ [-0.48, 0.45].
 * Pixel = centre + s · R(θ)(u, v).
 */
interface Frame {
  cx: number;
  cy: number;
  s: number;
  cos: number;
  sin: number;
}

function toPx(f: Frame, u: number, v: number): [number, number] {
  return [f.cx + f.s * (u * f.cos - v * f.sin), f.cy + f.s * (u * f.sin + v * f.cos)];
}

/** A W×H float layer that shapes are drawn into, in body coordinates. */
class Layer {
  readonly a: Float32Array;
  constructor(
    readonly w: number,
    readonly h: number,
    readonly f: Frame,
  ) {
    this.a = new Float32Array(w * h);
  }

  /** A thick segment with anti-aliased edges; overlapping strokes keep the larger value. */
  segment(u0: number, v0: number, u1: number, v1: number, width: number, value: number): void {
    const [x0, y0] = toPx(this.f, u0, v0);
    const [x1, y1] = toPx(this.f, u1, v1);
    const hw = Math.max(0.5, (width * this.f.s) / 2);
    const xa = Math.max(0, Math.floor(Math.min(x0, x1) - hw - 1));
    const xb = Math.min(this.w - 1, Math.ceil(Math.max(x0, x1) + hw + 1));
    const ya = Math.max(0, Math.floor(Math.min(y0, y1) - hw - 1));
    const yb = Math.min(this.h - 1, Math.ceil(Math.max(y0, y1) + hw + 1));
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1e-9;
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const t = Math.min(1, Math.max(0, ((x - x0) * dx + (y - y0) * dy) / len2));
        const ex = x - (x0 + t * dx);
        const ey = y - (y0 + t * dy);
        const cover = hw + 0.5 - Math.sqrt(ex * ex + ey * ey);
        if (cover > 0) {
          const i = y * this.w + x;
          const val = value * Math.min(1, cover);
          if (value >= 0 ? val > this.a[i]! : val < this.a[i]!) this.a[i] = val;
        }
      }
    }
  }

  /** A polyline through points (u, v). */
  polyline(pts: ReadonlyArray<readonly [number, number]>, width: number, value: number): void {
    for (let i = 1; i < pts.length; i++) this.segment(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], width, value);
  }

  /** Adds a disc of radius r (sharp edge) or a Gaussian blob of standard deviation r (soft). */
  blob(u: number, v: number, r: number, value: number, soft: boolean): void {
    const [cx, cy] = toPx(this.f, u, v);
    const rp = Math.max(0.5, r * this.f.s);
    const reach = soft ? 2.5 * rp : rp + 1;
    const xa = Math.max(0, Math.floor(cx - reach));
    const xb = Math.min(this.w - 1, Math.ceil(cx + reach));
    const ya = Math.max(0, Math.floor(cy - reach));
    const yb = Math.min(this.h - 1, Math.ceil(cy + reach));
    const k = -1 / (2 * rp * rp);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const d2 = sq(x - cx) + sq(y - cy);
        const w = soft ? Math.exp(d2 * k) : Math.min(1, Math.max(0, rp + 0.5 - Math.sqrt(d2)));
        this.a[y * this.w + x] += value * w;
      }
    }
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Anti-aliased inside test: 0 outside, 1 inside, linear across one pixel (inv = pixels per body unit / 1.2). */
function edge(d: number, inv: number): number {
  const t = d * inv + 0.5;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

function sq(x: number): number {
  return x * x;
}

function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

/** A smooth random field in [-1, 1]: a coarse grid of random values, bilinearly interpolated. */
function smoothNoise(w: number, h: number, cells: number, rng: Rng): Float32Array {
  const gw = cells + 2;
  const gh = Math.ceil((cells * h) / w) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
  const out = new Float32Array(w * h);
  const sx = cells / w;
  for (let y = 0; y < h; y++) {
    const gy = y * sx;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = x * sx;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const i = y0 * gw + x0;
      const top = grid[i]! + (grid[i + 1]! - grid[i]!) * fx;
      const bot = grid[i + gw]! + (grid[i + gw + 1]! - grid[i + gw]!) * fx;
      out[y * w + x] = top + (bot - top) * fy;
    }
  }
  return out;
}

/** What one image's drawing decided, from the study's severities and the image's stream. */
interface Scene {
  frame: Frame;
  /** Cardiothoracic ratio (heart width over thorax width). */
  ctr: number;
  /** Upper mediastinal half width. */
  mediastinum: number;
  /** Sideways shift of the mediastinum, trachea and heart (toward a collapsed lung). */
  shift: number;
  /** Hemidiaphragm dome heights: [patient right (image left), patient left]. */
  dome: [number, number];
  /** Pleural fluid depth per side (0: none; under 0.05 it only blunts the costophrenic angle). */
  effusion: [number, number];
  /** Perihilar haze strength (both sides). */
  edema: number;
  /** Pneumothorax rim width per side. */
  pneumothorax: [number, number];
  female: boolean;
  exposure: number;
  gamma: number;
  noise: number;
}

const SIDES = [-1, 1] as const;
const APEX = -0.48;
const THORAX = 0.88;

/** Lateral edge of a lung (distance from the midline) at height v: a rounded apex, widening down. */
function lungLateral(v: number): number {
  const t = clamp01((v - APEX) / 0.34);
  return 0.08 + 0.33 * (1 - (1 - t) * (1 - t)) + 0.03 * clamp01(v / 0.4);
}

/** Hemidiaphragm at distance a from the midline: a dome peaking mid-lung, down to the costophrenic angle. */
function domeAt(a: number, d: number): number {
  const t = (a - 0.2) / 0.22;
  return d + 0.1 * t * t;
}

/**
 * Render one view of a study: greyscale pixels (row-major, 0 = black), `width` × `height`.
 * Pure: the same study, view, size and stream give the same pixels.
 */
export function renderPhantomImage(study: PhantomStudy, view: PhantomView, width: number, height: number, rng: Rng): Uint8Array {
  const sev = (c: ChexpertLabel) => study.severity[L[c]]!;
  const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)]!;
  const ap = view.projection === 'AP';
  const lateral = view.view === 'lateral';
  const theta = ((Math.max(-5, Math.min(5, rng.normal(0, 2))) * Math.PI) / 180) * (lateral ? 0.5 : 1);
  const frame: Frame = {
    cx: width * (0.5 + rng.normal(0, 0.025)),
    cy: height * (0.46 + rng.normal(0, 0.02)),
    s: width * rng.uniform(0.84, 0.97),
    cos: Math.cos(theta),
    sin: Math.sin(theta),
  };
  const cardio = sev('Cardiomegaly');
  const ecm = sev('Enlarged Cardiomediastinum');
  const edema = sev('Edema');
  const d0 = rng.uniform(0.28, 0.33) - (ap ? 0.04 : 0); // AP films: supine, shallower inspiration
  const sc: Scene = {
    frame,
    // AP projection magnifies the heart a little.
    ctr: (cardio === 2 ? rng.uniform(0.62, 0.7) : cardio === 1 ? rng.uniform(0.53, 0.56) : rng.uniform(0.39, 0.47)) + (ap ? 0.02 : 0),
    mediastinum: ecm === 2 ? rng.uniform(0.13, 0.16) : ecm === 1 ? rng.uniform(0.1, 0.11) : rng.uniform(0.055, 0.075),
    shift: 0,
    dome: [d0, d0 + rng.uniform(0.02, 0.05)],
    effusion: [0, 0],
    edema: edema === 2 ? rng.uniform(0.22, 0.28) : edema === 1 ? rng.uniform(0.09, 0.12) : 0,
    pneumothorax: [0, 0],
    female: study.sex === 'Female',
    exposure: rng.uniform(0.85, 1.15),
    gamma: rng.uniform(0.85, 1.15),
    noise: rng.uniform(2, 4),
  };
  const eff = sev('Pleural Effusion');
  if (eff) {
    const sides = eff === 2 ? pick([[0], [1], [0, 1], [0, 1]]) : [rng.int(2)];
    for (const i of sides) sc.effusion[i] = eff === 2 ? rng.uniform(0.13, 0.22) : rng.uniform(0.03, 0.045);
  }
  const ptx = sev('Pneumothorax');
  if (ptx) sc.pneumothorax[rng.int(2)] = ptx === 2 ? rng.uniform(0.11, 0.16) : rng.uniform(0.025, 0.035);
  const atel = sev('Atelectasis');
  const atelSide = rng.int(2);
  if (atel === 2) {
    // Volume loss lifts the hemidiaphragm and pulls the mediastinum toward the collapsed side.
    sc.dome[atelSide] -= 0.06;
    sc.shift = SIDES[atelSide]! * rng.uniform(0.03, 0.045);
  }

  const opac = new Layer(width, height, frame); // opacities inside the lungs
  const vessels = new Layer(width, height, frame); // lung markings, hidden where there is no lung
  const over = new Layer(width, height, frame); // bones and devices, over everything
  const consol = new Layer(width, height, frame); // consolidation field, thresholded into a dense patch

  // Lung markings: vessels branching from the hila, thinning out toward the periphery.
  const branch = (u: number, v: number, dirU: number, phi: number, len: number, width: number, depth: number): void => {
    const u1 = u + dirU * Math.cos(phi) * len;
    const v1 = v + Math.sin(phi) * len;
    vessels.segment(u, v, u1, v1, width, 0.03 + 0.4 * width);
    if (depth > 0) for (const turn of [-1, 1]) branch(u1, v1, dirU, phi + turn * rng.uniform(0.2, 0.55), len * rng.uniform(0.6, 0.8), width * 0.7, depth - 1);
  };
  for (const side of lateral ? [1] : SIDES) {
    const hu = lateral ? -0.02 : side * 0.12;
    const hv = rng.uniform(-0.04, 0.02);
    for (let b = 0; b < 7; b++) {
      const phi = ((-75 + (160 * (b + rng.uniform(0.1, 0.9))) / 7) * Math.PI) / 180;
      branch(hu, hv, lateral ? (b % 2 ? 1 : -1) : side, phi, rng.uniform(0.08, 0.14), 0.014, 2);
    }
  }

  if (lateral) drawLateralBones(over, rng, sev('Fracture'));
  else drawFrontalBones(over, rng, ap, sev('Fracture'));

  const lungPoint = (side: number): [number, number] =>
    lateral ? [rng.uniform(-0.18, 0.2), rng.uniform(-0.3, 0.2)] : [side * rng.uniform(0.16, 0.32), rng.uniform(-0.3, 0.2)];
  const con = sev('Consolidation');
  if (con) {
    // A dense, lobulated patch with dark air bronchograms.
    const side = pick(SIDES);
    const [u0, v0] = lateral ? [rng.uniform(-0.15, 0.15), rng.uniform(-0.05, 0.2)] : [side * rng.uniform(0.18, 0.3), rng.uniform(-0.05, 0.2)];
    const size = con === 2 ? rng.uniform(0.07, 0.095) : rng.uniform(0.035, 0.045);
    // Weak: a faint, ill-defined haze of the same shape (not a dense patch a nodule could be taken for).
    for (let k = 0; k < 5; k++) {
      const [u, v] = [u0 + rng.normal(0, size * 0.6), v0 + rng.normal(0, size * 0.6)];
      if (con === 2) consol.blob(u, v, size, 1, true);
      else opac.blob(u, v, size, 0.035, true);
    }
    if (con === 2) for (let k = 0; k < 3; k++) opac.segment(u0, v0, u0 + rng.normal(0, size), v0 + rng.normal(0, size), 0.008, -0.08);
  }
  const pna = sev('Pneumonia');
  if (pna) {
    // Several fluffy patches in one zone.
    const [u0, v0] = lungPoint(pick(SIDES));
    for (let k = 0; k < (pna === 2 ? 7 : 4); k++) opac.blob(u0 + rng.normal(0, 0.06), v0 + rng.normal(0, 0.06), pna === 2 ? rng.uniform(0.03, 0.045) : rng.uniform(0.02, 0.03), pna === 2 ? 0.2 : 0.08, true);
  }
  if (atel) {
    // Plate-like collapse: a dense band low in one lung.
    const side = SIDES[atelSide]!;
    const u0 = lateral ? rng.uniform(-0.12, 0.12) : side * rng.uniform(0.15, 0.27);
    const v0 = rng.uniform(0.08, 0.2);
    const len = atel === 2 ? rng.uniform(0.1, 0.14) : rng.uniform(0.07, 0.1);
    const ang = rng.uniform(0.25, 0.6) * (rng.bernoulli(0.5) ? 1 : -1);
    const du = Math.cos(ang) * len;
    const dv = Math.sin(ang) * len;
    opac.segment(u0 - du, v0 - dv, u0 + du, v0 + dv, atel === 2 ? 0.055 : 0.018, atel === 2 ? 0.3 : 0.15);
    if (atel === 2) {
      // Lobar collapse: a dense wedge from the hilum, up to the apex (upper lobe) or down to the
      // medial hemidiaphragm (lower lobe).
      const upper = rng.bernoulli(0.5);
      const [hu, hv] = lateral ? [0.05, -0.02] : [side * 0.1, -0.02];
      for (let k = 0; k <= 6; k++) {
        const a = lateral ? 0.05 + k * 0.035 : side * (0.08 + k * 0.025);
        const end = upper ? APEX + 0.06 + 0.02 * k : sc.dome[atelSide]! + 0.04;
        opac.segment(hu, hv, upper && !lateral ? side * (0.07 + k * 0.02) : a, end, 0.05, 0.32);
      }
    }
  }
  const lesion = sev('Lung Lesion');
  if (lesion) {
    // A solid nodule: it adds its density wherever it lies, over the heart or fluid too.
    const [u0, v0] = lungPoint(pick(SIDES));
    over.blob(u0, v0, lesion === 2 ? rng.uniform(0.055, 0.075) : rng.uniform(0.02, 0.026), lesion === 2 ? 0.4 : 0.15, false);
  }
  if (study.otherOpacity) {
    const [u0, v0] = lungPoint(pick(SIDES));
    opac.blob(u0, v0, rng.uniform(0.05, 0.08), study.otherOpacity === 2 ? 0.13 : 0.07, true);
  }
  if (edema === 2 && !lateral) {
    // Kerley B lines: short horizontal lines at the lung bases, out to the pleura.
    for (const side of SIDES) {
      for (let k = 0; k < 5; k++) {
        const v0 = rng.uniform(0.05, 0.25);
        const a1 = lungLateral(v0) - 0.005;
        opac.segment(side * (a1 - 0.05), v0, side * a1, v0, 0.005, 0.08);
      }
    }
  }
  const pleural = sev('Pleural Other');
  if (pleural) {
    // Pleural thickening: a band along the chest wall (the back on a lateral view).
    const side = pick(SIDES);
    const t = pleural === 2 ? 0.06 : 0.016;
    const va = rng.uniform(-0.35, -0.15);
    const pts: Array<[number, number]> = [];
    for (let k = 0; k <= 8; k++) {
      const v = va + (k * (pleural === 2 ? 0.35 : 0.25)) / 8;
      pts.push(lateral ? [lateralBack(v) - t / 2, v] : [side * (lungLateral(v) - t / 2), v]);
    }
    opac.polyline(pts, t, pleural === 2 ? 0.26 : 0.12);
  }
  drawDevices(over, rng, sev('Support Devices'), lateral, sc);

  const texture = smoothNoise(width, height, 12, rng);
  const dens = lateral ? lateralDensity(sc, width, height, opac, vessels, consol, texture) : frontalDensity(sc, width, height, opac, vessels, consol, texture);
  for (let i = 0; i < dens.length; i++) dens[i] += over.a[i]!;
  return toGrey(dens, width, height, sc, smoothNoise(width, height, 3, rng), rng);
}

function drawFrontalBones(c: Layer, rng: Rng, ap: boolean, fracture: number): void {
  // Strong: three adjacent ribs broken near the chest wall, each with a step-off and a knot of
  // callus over the lung's edge, and air in the chest wall beside them. Weak: one rib, a thin gap.
  const fracSide = rng.int(2);
  const fracRib = 3 + rng.int(4);
  const broken = fracture === 2 ? 3 : fracture === 1 ? 1 : 0;
  const fracAt = fracture === 2 ? 7 + rng.int(2) : 5 + rng.int(5);
  for (const [si, side] of SIDES.entries()) {
    // Posterior ribs: from the spine up and out, then down along the chest wall.
    for (let k = 0; k < 10; k++) {
      const r0 = -0.47 + k * 0.083 + rng.normal(0, 0.004);
      const pts: Array<[number, number]> = [];
      for (let j = 0; j <= 12; j++) {
        const t = j / 12;
        pts.push([side * (0.05 + 0.41 * Math.sin((t * Math.PI) / 2.1)), r0 - 0.06 * Math.sin(Math.PI * t * 0.8) + 0.2 * t * t]);
      }
      if (si === fracSide && k >= fracRib && k < fracRib + broken) {
        const gap = fracture === 2 ? 0.025 : 0.012;
        const off = fracture === 2 ? 0.035 : 0.004;
        c.polyline(pts.slice(0, fracAt + 1), 0.024, 0.045);
        const outer = pts.slice(fracAt).map(([u, v], j) => [u + (j === 0 ? side * gap : 0), v + off] as [number, number]);
        c.polyline(outer, 0.024, 0.045);
        const [bu, bv] = pts[fracAt]!;
        callus(c, bu + (side * gap) / 2, bv + off / 2, fracture);
        // Air leaks into the chest wall over a displaced fracture: dark streaks in the soft tissue.
        if (fracture === 2) for (let j = 0; j < 2; j++) c.segment(side * rng.uniform(0.45, 0.48), bv + rng.uniform(-0.04, 0.08), side * rng.uniform(0.47, 0.52), bv + rng.uniform(0.12, 0.2), 0.014, -0.16);
      } else {
        c.polyline(pts, 0.024, 0.045);
      }
    }
    // Anterior ribs: fainter, down and in from the chest wall.
    for (let k = 0; k < 6; k++) {
      const r0 = -0.36 + k * 0.1;
      c.segment(side * 0.42, r0, side * 0.14, r0 + 0.16, 0.02, 0.025);
    }
    // Clavicle (higher and flatter on an AP film), humeral head, scapula edge (over the lung on AP films).
    c.segment(side * 0.05, -0.5 - (ap ? 0.03 : 0), side * 0.4, ap ? -0.56 : -0.6, 0.035, 0.12);
    c.blob(side * 0.54, -0.52, 0.075, 0.14, false);
    c.segment(side * (ap ? 0.36 : 0.44), -0.45, side * (ap ? 0.3 : 0.43), -0.1, 0.02, 0.04);
  }
}

/** Back edge of the lung on a lateral view. */
function lateralBack(v: number): number {
  return 0.31 * Math.sqrt(Math.max(0, 1 - sq((v + 0.04) / 0.5)));
}

function drawLateralBones(c: Layer, rng: Rng, fracture: number): void {
  // Vertebral bodies at the back, the sternum in front, ribs crossing the lungs faintly.
  for (let k = 0; k < 11; k++) {
    const v = -0.5 + k * 0.09;
    c.segment(0.33, v, 0.39, v + 0.004, 0.06, 0.16);
  }
  c.segment(-0.38, -0.45, -0.35, 0.15, 0.03, 0.1);
  // Rib k runs from the back (0.3, ribBack(k)) down and forward to (-0.3, ribFront(k)).
  const ribBack = (k: number) => -0.42 + k * 0.09;
  const ribFront = (k: number) => -0.3 + k * 0.1;
  for (let k = 0; k < 8; k++) c.segment(0.3, ribBack(k), -0.3, ribFront(k), 0.015, 0.025);
  if (fracture) {
    // Callus near the back, 5% along the fractured ribs (three adjacent ones, or one faintly).
    const k0 = 1 + rng.int(4);
    for (let k = k0; k < k0 + (fracture === 2 ? 3 : 1); k++) callus(c, 0.27, ribBack(k) + 0.05 * (ribFront(k) - ribBack(k)), fracture);
  }
}

/** Callus at a rib fracture: a dense knot (strong) or a faint thickening (weak). */
function callus(c: Layer, u: number, v: number, fracture: number): void {
  if (fracture === 2) c.blob(u, v, 0.03, 0.28, false);
  else c.blob(u, v, 0.012, 0.06, true);
}

function drawDevices(c: Layer, rng: Rng, sev: number, lateral: boolean, sc: Scene): void {
  if (!sev) return;
  if (sev === 1) {
    // A faint line, partly seen.
    c.segment(rng.uniform(-0.3, 0.3), -0.7, rng.uniform(-0.1, 0.1), -0.2, 0.006, 0.12);
    return;
  }
  const x = lateral ? -0.05 : 0;
  const devices = rng.shuffle(['ett', 'ng', 'line', 'pacer', 'ecg']).slice(0, 1 + rng.int(3));
  for (const d of devices) {
    switch (d) {
      case 'ett': // endotracheal tube down the trachea, its tip above the carina
        c.segment(x, -0.9, x + 0.005, -0.28, 0.032, 0.38);
        break;
      case 'ng': // nasogastric tube through the diaphragm into the stomach
        c.polyline([[x - 0.02, -0.9], [x - 0.01, 0], [x + 0.06, sc.dome[1] + 0.05], [x + 0.2, sc.dome[1] + 0.15]], 0.022, 0.34);
        break;
      case 'line': {
        // central venous catheter from a subclavian vein to the cava
        const side = rng.bernoulli(0.5) ? -1 : 1;
        c.polyline([[side * 0.42, -0.6], [side * 0.2, -0.5], [side * 0.06, -0.35], [x - 0.04, -0.12]], 0.022, 0.42);
        break;
      }
      case 'pacer': // generator box and a lead into the heart
        c.segment(0.27, -0.47, 0.35, -0.47, 0.055, 0.9);
        c.polyline([[0.27, -0.45], [0.1, -0.38], [-0.02, -0.1], [0.08, 0.22]], 0.022, 0.55);
        break;
      case 'ecg': // electrodes on the skin: a ring with a metal stud in the middle
        for (let k = 0; k < 3; k++) {
          const [u, v] = [rng.uniform(-0.4, 0.4), rng.uniform(-0.55, 0.35)];
          c.blob(u, v, 0.04, 0.3, false);
          c.blob(u, v, 0.024, -0.25, false);
          c.blob(u, v, 0.01, 0.4, false);
        }
        break;
    }
  }
}

/** The in-lung part shared by both views: air, fluid, haze, patches, markings. */
function lungDensity(i: number, visible: number, fluid: number, haze: number, rim: number, opac: Layer, vessels: Layer, consol: Layer): number {
  const air = visible * (1 - fluid);
  const con = consol.a[i]!;
  const solid = con > 0.3 ? 0.36 * smoothstep(0.35, 0.65, con) : 0;
  return -0.34 * air + air * (opac.a[i]! + haze + solid + (1 - rim) * vessels.a[i]! * (1 - clamp01(haze * 3))) + 0.06 * visible * fluid;
}

/** Body coordinates (u, v) of every pixel. */
function bodyCoords(f: Frame, w: number, h: number): [Float32Array, Float32Array] {
  const U = new Float32Array(w * h);
  const V = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - f.cx;
      const dy = y - f.cy;
      U[y * w + x] = (dx * f.cos + dy * f.sin) / f.s;
      V[y * w + x] = (-dx * f.sin + dy * f.cos) / f.s;
    }
  }
  return [U, V];
}

/** Frontal view density: torso, lungs, heart, mediastinum, spine and the in-lung findings. */
function frontalDensity(sc: Scene, w: number, h: number, opac: Layer, vessels: Layer, consol: Layer, texture: Float32Array): Float32Array {
  const out = new Float32Array(w * h);
  const f = sc.frame;
  const e = 1.2 / f.s; // anti-aliasing width in body units
  const inv = 1 / e;
  // The heart: an ellipse tilted along its long axis (up-right of the patient to the apex, down-left).
  const heartW = sc.ctr * THORAX;
  const phi = 0.5;
  const cphi = Math.cos(phi);
  const sphi = Math.sin(phi);
  const rb = heartW / 2 / Math.sqrt(1.35 * 1.35 * cphi * cphi + sphi * sphi);
  const ra = 1.35 * rb;
  const hcx = heartW / 6 + sc.shift;
  const hcy = Math.min(sc.dome[0], sc.dome[1]) - 0.45 * rb;
  const hr = Math.min(ra, rb);
  const lowest = Math.max(domeAt(0.5, sc.dome[0]), domeAt(0.5, sc.dome[1]), sc.dome[1] + 0.16) + e;
  const [U, V] = bodyCoords(f, w, h);
  for (let i = 0; i < w * h; i++) {
    const u = U[i]!;
    const v = V[i]!;
    // Soft tissue: a boxy torso, the neck, the arms; thicker in the middle.
    const tu = u * 2;
    const tv = (v - 0.14) / 0.74;
    const r4 = tu * tu * tu * tu + tv * tv * tv * tv;
    const au = Math.abs(u);
    if (r4 > 1.3 && au > 0.75) {
      out[i] = 0;
      continue;
    }
    const torso = edge((1 - r4) * 0.11, inv);
    const neck = edge(0.12 - au, inv) * edge(-0.3 - v, inv);
    const arm = edge(0.13 - Math.abs(au - 0.6), inv) * edge(v + 0.58, inv);
    let d = Math.max(torso * (0.42 + 0.14 * (1 - tu * tu)), neck * 0.42, arm * 0.36);
    if (d <= 0) {
      out[i] = 0;
      continue;
    }
    d += 0.03 * texture[i]!;
    if (sc.female && v > 0.15) d += 0.07 * Math.exp(-(sq((au - 0.27) / 0.14)) - sq((v - 0.42) / 0.1)) * edge(0.55 - v, inv);
    // Heart.
    const du = u - hcx;
    const dv = v - hcy;
    let heart = 0;
    if (du * du + dv * dv < ra * ra * 1.1) {
      const p = (du * cphi + dv * sphi) / ra;
      const q = (-du * sphi + dv * cphi) / rb;
      heart = edge((1 - Math.sqrt(p * p + q * q)) * hr, inv);
    }
    // Spine behind the mediastinum, with faint end plates; the trachea, an air column to the carina.
    if (au < 0.05) {
      d += edge(0.045 - au, inv) * (0.09 + (Math.cos((2 * Math.PI * v) / 0.085) > 0.6 ? 0.03 : 0));
    }
    if (au < 0.12 && v < -0.18) d -= 0.1 * edge(0.026 - Math.abs(u - sc.shift * clamp01((v + 0.6) / 0.4)), inv) * edge(v + 0.78, inv) * edge(-0.2 - v, inv);
    // Gastric bubble under the left hemidiaphragm.
    if (u > 0.1 && v > sc.dome[1]) d -= 0.1 * edge(0.05 - Math.sqrt(sq((u - 0.22) / 1.6) + sq(v - sc.dome[1] - 0.1)), inv);
    // Lungs, one per side (a: distance from the midline outward).
    if (v < APEX - e || v > lowest || au > 0.5) {
      out[i] = d;
      continue;
    }
    const side = u < 0 ? 0 : 1;
    const lat = lungLateral(v);
    const med = sc.mediastinum + (side === 1 && v < -0.15 && v > -0.3 ? 0.03 * Math.sin(((v + 0.3) / 0.15) * Math.PI) : 0); // aortic knob
    const dome = domeAt(au, sc.dome[side]!);
    const lung = edge(Math.min((side ? u : -u) - med + (side ? -sc.shift : sc.shift), lat - au, dome - v, v - APEX), inv);
    d += 0.07 * heart * edge(dome - v, inv);
    if (lung > 0) {
      const visible = lung * (1 - heart);
      // Pleural fluid: a layer above the hemidiaphragm, deepening toward the chest wall (meniscus).
      const fh = sc.effusion[side]!;
      let fluid = 0;
      if (fh > 0) {
        const r = au / 0.42;
        const top = dome - fh * (0.3 + 1.6 * r * r);
        fluid = smoothstep(top - 0.012, top + 0.012, v);
      }
      // Pneumothorax: the lung falls away from the chest wall at the apex and side, leaving a lucent rim.
      let rim = 0;
      const ptx = sc.pneumothorax[side]!;
      if (ptx > 0) {
        const g = ptx * clamp01((0.25 - v) / 0.45);
        const inner = Math.min(lat - g - au, v - APEX - g * 1.2);
        rim = 1 - edge(inner, inv);
        d -= 0.1 * visible * (1 - fluid) * rim;
        d += 0.1 * visible * (1 - fluid) * Math.max(0, 1 - Math.abs(inner) / (1.5 * e)) * (g > 0.005 ? 1 : 0);
      }
      const haze = sc.edema > 0 ? sc.edema * Math.exp(-(sq((au - 0.13) / 0.11)) - sq((v - 0.03) / 0.15)) : 0;
      d += lungDensity(i, visible, fluid, haze, rim, opac, vessels, consol);
    }
    out[i] = d;
  }
  return out;
}

/** Lateral view density: anterior on the left, the spine at the back, one lung field. */
function lateralDensity(sc: Scene, w: number, h: number, opac: Layer, vessels: Layer, consol: Layer, texture: Float32Array): Float32Array {
  const out = new Float32Array(w * h);
  const f = sc.frame;
  const e = 1.2 / f.s;
  const inv = 1 / e;
  // The heart sits in front and low; a big heart reaches back toward the spine.
  const hrx = 0.12 + 0.55 * (sc.ctr - 0.44);
  const hcx = -0.3 + hrx;
  const hcy = sc.dome[0] - 0.08;
  const fh = Math.max(sc.effusion[0], sc.effusion[1]);
  const dBase = Math.min(sc.dome[0], sc.dome[1]) - 0.06;
  const [U, V] = bodyCoords(f, w, h);
  for (let i = 0; i < w * h; i++) {
    const u = U[i]!;
    const v = V[i]!;
    const tu = u / 0.46;
    const tv = (v - 0.14) / 0.76;
    const r4 = tu * tu * tu * tu + tv * tv * tv * tv;
    if (r4 > 1.3) {
      out[i] = 0;
      continue;
    }
    const torso = edge((1 - r4) * 0.11, inv);
    let d = torso * (0.5 + 0.1 * (1 - tu * tu)) + 0.12 * torso * smoothstep(-0.35, -0.6, v); // shoulders and arms at the top
    if (d <= 0) {
      out[i] = 0;
      continue;
    }
    d += 0.03 * texture[i]!;
    const heart = edge((1 - Math.sqrt(sq((u - hcx) / hrx) + sq((v - hcy) / 0.16))) * 0.1, inv);
    d += 0.05 * heart;
    // A wide mediastinum fills the clear space behind the sternum.
    d += 0.35 * clamp01((sc.mediastinum - 0.07) / 0.07) * edge(0.1 - Math.sqrt(sq((u + 0.22) / 1.2) + sq((v + 0.2) / 1.6)), inv);
    const t = clamp01((u + 0.3) / 0.6);
    const dome = dBase + 0.22 * t * t;
    const lung = edge(Math.min((1 - Math.sqrt(sq(u / 0.31) + sq((v + 0.04) / 0.5))) * 0.25, dome - v), inv);
    if (lung > 0) {
      const visible = lung * (1 - heart);
      // Fluid gathers in the posterior costophrenic sulcus.
      const top = dome - fh * (0.3 + 1.2 * t * t);
      const fluid = fh > 0 ? smoothstep(top - 0.012, top + 0.012, v) : 0;
      const haze = sc.edema > 0 ? sc.edema * Math.exp(-(sq(u / 0.14)) - sq((v - 0.02) / 0.16)) : 0;
      d += lungDensity(i, visible, fluid, haze, 0, opac, vessels, consol);
    }
    out[i] = d;
  }
  return out;
}

/** Film response: a little blur (scatter), exposure with a gentle heel effect, quantum noise, 8 bits. */
function toGrey(dens: Float32Array, w: number, h: number, sc: Scene, heel: Float32Array, rng: Rng): Uint8Array {
  const r = Math.round(w / 256);
  const d = r > 0 ? boxBlur(dens, w, h, r) : dens;
  // Density → grey through a table (the curve is the same for every pixel of the image).
  const steps = 4096;
  const top = 2;
  const lut = new Float32Array(steps + 1);
  const k = 2 * sc.exposure;
  const norm = 1 / (1 - Math.exp(-2 * 1.1));
  for (let j = 0; j <= steps; j++) lut[j] = 6 + 236 * Math.pow(clamp01((1 - Math.exp((-k * top * j) / steps)) * norm), sc.gamma);
  // Noise from a xorshift stream seeded by the image's generator: ≈ N(0, noise²) (sum of two uniforms).
  let state = rng.int32() | 1;
  const amp = (sc.noise * Math.sqrt(6)) / 65536;
  const scale = steps / top;
  const out = new Uint8Array(w * h);
  for (let i = 0; i < d.length; i++) {
    const di = d[i]! * (1 + 0.06 * heel[i]!);
    const j = di <= 0 ? 0 : di >= top ? steps : (di * scale + 0.5) | 0;
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const val = lut[j]! + ((state & 0xffff) + ((state >>> 16) & 0xffff) - 65535) * amp;
    out[i] = val < 0 ? 0 : val > 255 ? 255 : (val + 0.5) | 0;
  }
  return out;
}

/** Box blur of radius r (edges clamped), horizontal then vertical, with running sums. */
function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += src[row + Math.min(w - 1, Math.max(0, k))]!;
    for (let x = 0; x < w; x++) {
      tmp[row + x] = sum / n;
      sum += src[row + Math.min(w - 1, x + r + 1)]! - src[row + Math.max(0, x - r)]!;
    }
  }
  for (let x = 0; x < w; x++) {
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += tmp[Math.min(h - 1, Math.max(0, k)) * w + x]!;
    for (let y = 0; y < h; y++) {
      out[y * w + x] = sum / n;
      sum += tmp[Math.min(h - 1, y + r + 1) * w + x]! - tmp[Math.max(0, y - r) * w + x]!;
    }
  }
  return out;
}

/** The stream an image's drawing uses: depends only on the seed and the image's path. */
function imageRng(seed: number | string, path: string): Rng {
  return new Rng(`phantom/${seed}/image/${path}`);
}

/** Image width and height for a size (the width; CheXpert-small's portrait aspect). */
export function phantomDims(size: number): { width: number; height: number } {
  return { width: size, height: Math.round(size * ASPECT) };
}

// ---------------------------------------------------------------------------------------------
// In memory (tests, quick experiments)
// ---------------------------------------------------------------------------------------------

export interface RenderedCase extends PhantomCase {
  /** Greyscale pixels, row-major, width × height. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

export interface RenderCasesOptions {
  /** Number of images (default 100). */
  count?: number;
  seed?: number | string;
  /** Image width (default 64) and height (default: the CheXpert-small aspect; give it for square images). */
  width?: number;
  height?: number;
  /** Whose labelling: 'train' (1.0 / -1.0 / blank / 0.0) or 'valid' (consensus 1.0 / 0.0). Default 'train'. */
  split?: Split;
  /** Frontal views only (default false). */
  frontalOnly?: boolean;
}

/** Render phantom cases in memory, pixels and labels, without touching the disk. */
export function renderPhantomCases(opts: RenderCasesOptions = {}): RenderedCase[] {
  const count = opts.count ?? 100;
  const seed = opts.seed ?? PHANTOM_DEFAULTS.seed;
  const width = opts.width ?? 64;
  const height = opts.height ?? phantomDims(width).height;
  const split = opts.split ?? 'train';
  const root = new Rng(`phantom/${seed}/memory/${split}`);
  const out: RenderedCase[] = [];
  for (let n = 1; out.length < count; n++) {
    for (const c of casesOf(drawPatient(root, n, split))) {
      if (out.length >= count || (opts.frontalOnly && c.view.view !== 'frontal')) continue;
      out.push({ ...c, width, height, pixels: renderPhantomImage(c.study, c.view, width, height, imageRng(seed, c.path)) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// On disk
// ---------------------------------------------------------------------------------------------

export interface MakePhantomOptions {
  /** Output folder (created if missing). */
  out: string;
  patients?: number;
  /** Image width in pixels (height follows CheXpert-small's 320:390 aspect). Default 256. */
  size?: number;
  seed?: number | string;
  /** Write into a non-empty folder that is not a phantom set. */
  force?: boolean;
  /** Keep an existing complete phantom set made with the same parameters and version. */
  reuse?: boolean;
  /** JPEG quality (default 90). */
  quality?: number;
  /** Worker threads drawing images (default: one per core, at most 4; 0 draws in this thread). */
  workers?: number;
}

export interface PhantomSplitSummary {
  patients: number;
  studies: number;
  images: number;
  frontal: number;
  lateral: number;
  /** Per observation: how many images carry 1.0, -1.0, 0.0 and blank. */
  labels: Record<ChexpertLabel, { positive: number; uncertain: number; negative: number; blank: number }>;
}

export interface PhantomSummary {
  out: string;
  version: number;
  seed: string;
  patients: number;
  size: number;
  width: number;
  height: number;
  quality: number;
  train: PhantomSplitSummary;
  valid: PhantomSplitSummary;
  /** Image files written (or present, when reused). */
  images: number;
  bytes: number;
  seconds: number;
  /** True when an identical existing set was kept. */
  reused: boolean;
}

/** The marker file: the parameters, the version, and digests of the two CSVs. */
export interface PhantomMarker {
  format: typeof MARKER_FORMAT;
  version: number;
  complete: boolean;
  params: { patients: number; size: number; seed: string; quality: number };
  csv: { 'train.csv': string; 'valid.csv': string };
  summary: Omit<PhantomSummary, 'out' | 'seconds' | 'reused'>;
}

/** Read a folder's phantom marker, or null when the folder is not a phantom set. */
export async function readPhantomMarker(dir: string): Promise<PhantomMarker | null> {
  try {
    const m = JSON.parse(await fsp.readFile(join(dir, PHANTOM_MARKER), 'utf8')) as PhantomMarker;
    return m && m.format === MARKER_FORMAT ? m : null;
  } catch {
    return null;
  }
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function csvText(cases: PhantomCase[]): string {
  const rows = [CHEXPERT_HEADER.join(',')];
  for (const c of cases) {
    rows.push([c.path, c.study.sex, String(c.study.age), c.view.view === 'frontal' ? 'Frontal' : 'Lateral', c.view.projection, ...c.cells].join(','));
  }
  return `${rows.join('\n')}\n`;
}

function summarise(cases: PhantomCase[]): PhantomSplitSummary {
  const labels = Object.fromEntries(CHEXPERT_LABELS.map((c) => [c, { positive: 0, uncertain: 0, negative: 0, blank: 0 }])) as PhantomSplitSummary['labels'];
  for (const c of cases) {
    CHEXPERT_LABELS.forEach((name, i) => {
      const cell = c.cells[i];
      const s = labels[name];
      if (cell === '1.0') s.positive++;
      else if (cell === '-1.0') s.uncertain++;
      else if (cell === '0.0') s.negative++;
      else s.blank++;
    });
  }
  return {
    patients: new Set(cases.map((c) => c.study.patient)).size,
    studies: new Set(cases.map((c) => `${c.study.patient}/${c.study.study}`)).size,
    images: cases.length,
    frontal: cases.filter((c) => c.view.view === 'frontal').length,
    lateral: cases.filter((c) => c.view.view === 'lateral').length,
    labels,
  };
}

/** Encode greyscale pixels as a one-channel JPEG (mozjpeg through sharp: deterministic). */
export async function encodeGreyJpeg(pixels: Uint8Array, width: number, height: number, quality = 90): Promise<Buffer> {
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality }).toBuffer();
}

/** A share of the images to draw and write; workers rebuild the (cheap, deterministic) plan. */
interface ImageJob {
  patients: number;
  seed: string;
  size: number;
  quality: number;
  /** Folder standing for CheXpert-v1.0-small/. */
  dir: string;
  /** Indices into the plan's train-then-valid image list. */
  indices: number[];
}

const WORKER_KIND = 'medtrain-phantom-images';

/** Draw, encode and write the job's images in this thread; calls back with each index and its size. */
async function drawImages(job: ImageJob, done: (index: number, bytes: number) => void): Promise<void> {
  const plan = planPhantom({ patients: job.patients, seed: job.seed });
  const all = [...plan.train, ...plan.valid];
  const { width, height } = phantomDims(job.size);
  // Draw the next image while sharp encodes earlier ones on its own threads.
  const pending: Promise<void>[] = [];
  for (const i of job.indices) {
    const c = all[i]!;
    const px = renderPhantomImage(c.study, c.view, width, height, imageRng(job.seed, c.path));
    const file = join(job.dir, c.path.slice('CheXpert-v1.0-small/'.length));
    pending.push(
      encodeGreyJpeg(px, width, height, job.quality).then(async (jpg) => {
        await fsp.writeFile(file, jpg);
        done(i, jpg.length);
      }),
    );
    if (pending.length >= 4) await pending.shift();
  }
  await Promise.all(pending);
}

/**
 * Write every image of the job, split over worker threads (this module is their entry point).
 * Whatever a worker could not do (it failed to start, e.g. without a TypeScript loader) is drawn
 * here. Returns the bytes written. Files depend only on their own image, so the split never
 * changes them.
 */
async function writeImages(job: ImageJob, workers?: number): Promise<number> {
  const n = Math.max(0, Math.min(workers ?? Math.min(4, availableParallelism()), Math.floor(job.indices.length / 100)));
  let bytes = 0;
  const done = new Set<number>();
  const record = (i: number, b: number) => {
    done.add(i);
    bytes += b;
  };
  if (n >= 2) {
    const shares = Array.from({ length: n }, (_, k) => job.indices.filter((_, j) => j % n === k));
    await Promise.all(
      shares.map(
        (indices) =>
          new Promise<void>((resolveShare) => {
            const w = moduleWorker(import.meta.url, { workerData: { kind: WORKER_KIND, job: { ...job, indices } } });
            w.on('message', (m: [number, number]) => record(m[0], m[1]));
            w.on('error', (e) => {
              log.debug(`image worker failed (${String(e).split('\n')[0]}); drawing its share here`);
              resolveShare();
            });
            w.on('exit', () => resolveShare());
          }),
      ),
    );
  }
  const rest = job.indices.filter((i) => !done.has(i));
  if (rest.length) await drawImages({ ...job, indices: rest }, record);
  return bytes;
}

if (isWorkerOf(WORKER_KIND)) {
  const job = (workerData as { job: ImageJob }).job;
  void drawImages(job, (i, b) => parentPort!.postMessage([i, b]));
}

/**
 * Write the phantom set into `out`: images under CheXpert-v1.0-small/, train.csv, valid.csv and
 * the marker phantom.json (written last, so a set without a complete marker is never trusted).
 * A non-empty folder that is not a phantom set is refused unless `force`; with `force` only the
 * set's own entries are replaced. Every file is written atomically (temp + rename); the image tree
 * is filled in a temporary folder and renamed into place.
 */
export async function makePhantom(opts: MakePhantomOptions): Promise<PhantomSummary> {
  const t0 = performance.now();
  const out = resolve(opts.out);
  const patients = opts.patients ?? PHANTOM_DEFAULTS.patients;
  const size = opts.size ?? PHANTOM_DEFAULTS.size;
  const seed = String(opts.seed ?? PHANTOM_DEFAULTS.seed);
  const quality = opts.quality ?? 90;
  if (!Number.isInteger(size) || size < 16 || size > 2048) {
    throw new MedtrainError('the phantom image size must be a whole number of pixels from 16 to 2048', { code: 'bad-option', column: 'size', value: opts.size, hint: 'e.g. --size 256' });
  }
  if (!Number.isInteger(patients) || patients < 1 || patients > 100_000) {
    throw new MedtrainError('the phantom set needs a whole number of patients from 1 to 100000', { code: 'bad-option', column: 'patients', value: opts.patients, hint: 'e.g. --patients 150' });
  }
  const { width, height } = phantomDims(size);
  const params = { patients, size, seed, quality };

  const marker = await checkTarget(out, Boolean(opts.force));
  if (opts.reuse && marker?.complete && marker.version === PHANTOM_VERSION && JSON.stringify(marker.params) === JSON.stringify(params) && (await csvMatches(out, marker))) {
    log.debug(`reusing the phantom set in ${out}`);
    return { ...marker.summary, out, seconds: (performance.now() - t0) / 1000, reused: true };
  }

  const plan = planPhantom({ patients, seed });
  const all = [...plan.train, ...plan.valid];
  const trainCsv = csvText(plan.train);
  const validCsv = csvText(plan.valid);
  const summaryBase = { version: PHANTOM_VERSION, seed, patients, size, width, height, quality, train: summarise(plan.train), valid: summarise(plan.valid), images: all.length, bytes: 0 };
  // An old marker must not vouch for a half-replaced set: mark it incomplete first.
  if (marker) await writeJsonAtomic(join(out, PHANTOM_MARKER), { ...marker, complete: false });

  let bytes = 0;
  await writeDirAtomic(join(out, 'CheXpert-v1.0-small'), async (tmp) => {
    const dirs = new Set(all.map((c) => join(tmp, c.path.slice('CheXpert-v1.0-small/'.length), '..')));
    for (const d of dirs) await fsp.mkdir(d, { recursive: true });
    bytes = await writeImages({ patients, seed, size, quality, dir: tmp, indices: all.map((_, i) => i) }, opts.workers);
  });
  await writeFileAtomic(join(out, 'train.csv'), trainCsv);
  await writeFileAtomic(join(out, 'valid.csv'), validCsv);
  bytes += Buffer.byteLength(trainCsv) + Buffer.byteLength(validCsv);
  const summary = { ...summaryBase, bytes };
  const newMarker: PhantomMarker = { format: MARKER_FORMAT, version: PHANTOM_VERSION, complete: true, params, csv: { 'train.csv': sha256(trainCsv), 'valid.csv': sha256(validCsv) }, summary };
  await writeJsonAtomic(join(out, PHANTOM_MARKER), newMarker);
  const seconds = (performance.now() - t0) / 1000;
  log.info(`phantom set: ${all.length} images (${summary.train.images} train, ${summary.valid.images} valid) in ${out} (${seconds.toFixed(1)} s)`);
  return { ...summary, out, seconds, reused: false };
}

/** Refuse a folder we must not write into; return its phantom marker when it has one. */
async function checkTarget(out: string, force: boolean): Promise<PhantomMarker | null> {
  if (!(await exists(out))) return null;
  const st = await fsp.stat(out);
  if (!st.isDirectory()) throw new MedtrainError('the phantom output is a file, not a folder', { code: 'not-a-folder', file: out, hint: 'give --out a folder (new or empty)' });
  const marker = await readPhantomMarker(out);
  if (marker || force) return marker;
  const entries = (await fsp.readdir(out)).sort();
  if (entries.length === 0) return null;
  throw new MedtrainError(`refusing to write the phantom set into ${out}: the folder is not empty and is not a phantom set (no ${PHANTOM_MARKER})`, {
    code: 'not-phantom-folder',
    file: out,
    value: listForMessage(entries, 5),
    hint: 'choose a new or empty folder, or pass --force to write into it anyway (its train.csv, valid.csv, CheXpert-v1.0-small/ and phantom.json are replaced; nothing else is touched)',
  });
}

async function csvMatches(out: string, marker: PhantomMarker): Promise<boolean> {
  try {
    for (const name of ['train.csv', 'valid.csv'] as const) {
      if (sha256(await fsp.readFile(join(out, name))) !== marker.csv[name]) return false;
    }
    return await exists(join(out, 'CheXpert-v1.0-small'));
  } catch {
    return false;
  }
}
