/**
 * The phantom set's plan: every patient, study, view and label cell, without pixels.
 *
 * Each study draws, per CheXpert observation, a sign severity: none, weak or strong. The image shows
 * the sign (a wide heart for Cardiomegaly, a basal fluid level for Pleural Effusion, …) and the CSV
 * says what a report would: strong → 1.0, weak → -1.0 (uncertain), none → blank or 0.0 (negated).
 * valid.csv, like CheXpert's, is fully labelled by consensus: any sign → 1.0, none → 0.0.
 *
 * The rare findings are drawn often enough that 1,000 patients hold about 130 positive images of
 * each (85 of Pneumonia, which stays mostly uncertain), so that every observation can be learnt.
 *
 * Everything derives from the seed through forked streams (one per patient), so the same seed gives
 * the same plan whatever the order of work.
 */
import { MedtrainError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { CHEXPERT_CLASSES, type ChexpertLabel } from '../tables/chexpert.js';

/** 0: no sign, 1: weak sign (train label -1.0, uncertain), 2: strong sign (1.0). */
export type Severity = 0 | 1 | 2;

export const PHANTOM_DEFAULTS = { patients: 150, size: 256, seed: 1, validFraction: 0.2 } as const;
/** CheXpert-small's portrait aspect (320 × 390). */
const ASPECT = 390 / 320;

const L = Object.fromEntries(CHEXPERT_CLASSES.map((c, i) => [c, i])) as Record<ChexpertLabel, number>;

/** Observations drawn directly; Lung Opacity and No Finding are derived from them. */
type Drawn = Exclude<ChexpertLabel, 'No Finding' | 'Lung Opacity'>;
const DRAWN = CHEXPERT_CLASSES.filter((c): c is Drawn => c !== 'No Finding' && c !== 'Lung Opacity');

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
/** The findings that are lung opacities (Lung Opacity is any of them, or an opacity that names none). */
export const LUNG_OPACITY_CHILDREN = ['Lung Lesion', 'Edema', 'Consolidation', 'Pneumonia', 'Atelectasis'] as const;
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
  /** Sign severity per CheXpert observation (index as CHEXPERT_CLASSES); Lung Opacity and No Finding derived. */
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

/** The severity of an observation's sign in a study. */
export function severityOf(s: PhantomStudy, c: ChexpertLabel): Severity {
  return s.severity[L[c]]! as Severity;
}

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
    const severity = new Uint8Array(CHEXPERT_CLASSES.length);
    const negated = new Uint8Array(CHEXPERT_CLASSES.length);
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
  return CHEXPERT_CLASSES.map((c, i) => {
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

/** The image rows of one patient drawn from `root` (the in-memory cases draw patients one by one). */
export function patientCases(root: Rng, n: number, split: Split): PhantomCase[] {
  return casesOf(drawPatient(root, n, split));
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

/** Image width and height for a size (the width; CheXpert-small's portrait aspect). */
export function phantomDims(size: number): { width: number; height: number } {
  return { width: size, height: Math.round(size * ASPECT) };
}
