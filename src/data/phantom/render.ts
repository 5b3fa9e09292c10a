/**
 * Drawing phantom images: one view of a study as greyscale pixels and where each finding's sign lies
 * (regions.ts), and whole cases in memory (tests, quick experiments).
 *
 * Every strong sign is drawn large enough to see at 64 px, the side the quick start trains on. A
 * nodule adds its density over the heart and fluid too; ECG electrodes are rings, not discs a nodule
 * could be taken for. Weak signs stay faint: they are the uncertain labels.
 *
 * An image's drawing uses its own stream, forked from the seed and the image's path, so the same
 * seed gives the same pixels whatever the order of work. Drawing it `without` a finding draws the
 * same random numbers and leaves only that sign out, so the two images differ exactly where the sign is.
 */
import { Rng } from '../../util/rng.js';
import type { ChexpertLabel } from '../tables/chexpert.js';
import { drawFrontalBones, drawLateralBones } from './bones.js';
import { frontalDensity, lateralDensity, toGrey } from './density.js';
import { drawDevices } from './devices.js';
import { PHANTOM_DEFAULTS, patientCases, phantomDims, severityOf, type PhantomCase, type PhantomStudy, type PhantomView, type Split } from './plan.js';
import { Layer, smoothNoise, type Frame } from './raster.js';
import { RegionRecorder, recordFrontalScene, recordLateralScene, type FindingRegion } from './regions.js';
import { APEX, NORMAL_CTR, SIDES, lateralBack, lungLateral, type Scene } from './scene.js';

export interface DrawOptions {
  /**
   * Findings to leave out (Lung Opacity: every opacity). The image is otherwise the same, pixel for
   * pixel, as the one with them; Atelectasis leaves out its opacities and keeps its volume loss (the
   * raised hemidiaphragm and the mediastinal shift, which other signs are drawn against).
   */
  without?: Iterable<ChexpertLabel>;
}

export interface DrawnImage {
  /** Greyscale pixels, row-major, 0 = black. */
  pixels: Uint8Array;
  /** Where each drawn finding's sign lies, in these pixels (see regions.ts). */
  regions: FindingRegion[];
}

/**
 * Render one view of a study: greyscale pixels (row-major, 0 = black), `width` × `height`.
 * Pure: the same study, view, size and stream give the same pixels.
 */
export function renderPhantomImage(study: PhantomStudy, view: PhantomView, width: number, height: number, rng: Rng): Uint8Array {
  return drawPhantomImage(study, view, width, height, rng).pixels;
}

/** Render one view of a study (as renderPhantomImage) and record where each finding's sign lies. */
export function drawPhantomImage(study: PhantomStudy, view: PhantomView, width: number, height: number, rng: Rng, opts: DrawOptions = {}): DrawnImage {
  const without = new Set(opts.without ?? []);
  const sev = (c: ChexpertLabel) => severityOf(study, c);
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
  const rec = new RegionRecorder(frame, width, height, without);
  // A hidden sign draws the same random numbers as a drawn one, then takes the value of no sign.
  const shown = (c: ChexpertLabel) => (rec.hidden(c) ? 0 : sev(c));
  const cardio = shown('Cardiomegaly');
  const ecm = shown('Enlarged Cardiomediastinum');
  const edema = sev('Edema');
  const d0 = rng.uniform(0.28, 0.33) - (ap ? 0.04 : 0); // AP films: supine, shallower inspiration
  const sc: Scene = {
    frame,
    // AP projection magnifies the heart a little.
    ctr: (cardio === 2 ? rng.uniform(0.62, 0.7) : cardio === 1 ? rng.uniform(0.53, 0.56) : rng.uniform(NORMAL_CTR[0], NORMAL_CTR[1])) + (ap ? 0.02 : 0),
    mediastinum: ecm === 2 ? rng.uniform(0.13, 0.16) : ecm === 1 ? rng.uniform(0.1, 0.11) : rng.uniform(0.055, 0.075),
    shift: 0,
    dome: [d0, d0 + rng.uniform(0.02, 0.05)],
    effusion: [0, 0],
    edema: (edema === 2 ? rng.uniform(0.22, 0.28) : edema === 1 ? rng.uniform(0.09, 0.12) : 0) * (rec.hidden('Edema') ? 0 : 1),
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
    if (rec.hidden('Pleural Effusion')) sc.effusion = [0, 0];
  }
  const ptx = sev('Pneumothorax');
  if (ptx) sc.pneumothorax[rng.int(2)] = ptx === 2 ? rng.uniform(0.11, 0.16) : rng.uniform(0.025, 0.035);
  if (rec.hidden('Pneumothorax')) sc.pneumothorax = [0, 0];
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

  const fracture = rec.sign(over, 'Fracture', sev('Fracture'));
  if (lateral) drawLateralBones(over, rng, sev('Fracture'), fracture);
  else drawFrontalBones(over, rng, ap, sev('Fracture'), fracture);

  const lungPoint = (side: number): [number, number] =>
    lateral ? [rng.uniform(-0.18, 0.2), rng.uniform(-0.3, 0.2)] : [side * rng.uniform(0.16, 0.32), rng.uniform(-0.3, 0.2)];
  const con = sev('Consolidation');
  if (con) {
    // A dense, lobulated patch with dark air bronchograms.
    const side = pick(SIDES);
    const [u0, v0] = lateral ? [rng.uniform(-0.15, 0.15), rng.uniform(-0.05, 0.2)] : [side * rng.uniform(0.18, 0.3), rng.uniform(-0.05, 0.2)];
    const size = con === 2 ? rng.uniform(0.07, 0.095) : rng.uniform(0.035, 0.045);
    const patch = rec.sign(opac, 'Consolidation', con).part('patch');
    // Weak: a faint, ill-defined haze of the same shape (not a dense patch a nodule could be taken for).
    for (let k = 0; k < 5; k++) {
      const [u, v] = [u0 + rng.normal(0, size * 0.6), v0 + rng.normal(0, size * 0.6)];
      if (con === 2) patch.into(consol).blob(u, v, size, 1, true);
      else patch.blob(u, v, size, 0.035, true);
    }
    if (con === 2) for (let k = 0; k < 3; k++) patch.segment(u0, v0, u0 + rng.normal(0, size), v0 + rng.normal(0, size), 0.008, -0.08);
  }
  const pna = sev('Pneumonia');
  if (pna) {
    // Several fluffy patches in one zone.
    const [u0, v0] = lungPoint(pick(SIDES));
    const patches = rec.sign(opac, 'Pneumonia', pna).part('patches');
    for (let k = 0; k < (pna === 2 ? 7 : 4); k++) patches.blob(u0 + rng.normal(0, 0.06), v0 + rng.normal(0, 0.06), pna === 2 ? rng.uniform(0.03, 0.045) : rng.uniform(0.02, 0.03), pna === 2 ? 0.2 : 0.08, true);
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
    const pen = rec.sign(opac, 'Atelectasis', atel);
    pen.part('band').segment(u0 - du, v0 - dv, u0 + du, v0 + dv, atel === 2 ? 0.055 : 0.018, atel === 2 ? 0.3 : 0.15);
    if (atel === 2) {
      // Lobar collapse: a dense wedge from the hilum, up to the apex (upper lobe) or down to the
      // medial hemidiaphragm (lower lobe).
      const upper = rng.bernoulli(0.5);
      const [hu, hv] = lateral ? [0.05, -0.02] : [side * 0.1, -0.02];
      const wedge = pen.part('wedge');
      for (let k = 0; k <= 6; k++) {
        const a = lateral ? 0.05 + k * 0.035 : side * (0.08 + k * 0.025);
        const end = upper ? APEX + 0.06 + 0.02 * k : sc.dome[atelSide]! + 0.04;
        wedge.segment(hu, hv, upper && !lateral ? side * (0.07 + k * 0.02) : a, end, 0.05, 0.32);
      }
    }
  }
  const lesion = sev('Lung Lesion');
  if (lesion) {
    // A solid nodule: it adds its density wherever it lies, over the heart or fluid too.
    const [u0, v0] = lungPoint(pick(SIDES));
    rec.sign(over, 'Lung Lesion', lesion).part('nodule').blob(u0, v0, lesion === 2 ? rng.uniform(0.055, 0.075) : rng.uniform(0.02, 0.026), lesion === 2 ? 0.4 : 0.15, false);
  }
  if (study.otherOpacity) {
    const [u0, v0] = lungPoint(pick(SIDES));
    rec.sign(opac, 'Lung Opacity', study.otherOpacity).part('opacity').blob(u0, v0, rng.uniform(0.05, 0.08), study.otherOpacity === 2 ? 0.13 : 0.07, true);
  }
  if (edema === 2 && !lateral) {
    // Kerley B lines: short horizontal lines at the lung bases, out to the pleura.
    const kerley = rec.sign(opac, 'Edema', edema).part('kerley lines');
    for (const side of SIDES) {
      for (let k = 0; k < 5; k++) {
        const v0 = rng.uniform(0.05, 0.25);
        const a1 = lungLateral(v0) - 0.005;
        kerley.segment(side * (a1 - 0.05), v0, side * a1, v0, 0.005, 0.08);
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
    rec.sign(opac, 'Pleural Other', pleural).part('thickening').polyline(pts, t, pleural === 2 ? 0.26 : 0.12);
  }
  drawDevices(rec.sign(over, 'Support Devices', sev('Support Devices')), rng, sev('Support Devices'), lateral, sc);

  const texture = smoothNoise(width, height, 12, rng);
  const dens = lateral ? lateralDensity(sc, width, height, opac, vessels, consol, texture) : frontalDensity(sc, width, height, opac, vessels, consol, texture);
  for (let i = 0; i < dens.length; i++) dens[i] += over.a[i]!;
  const pixels = toGrey(dens, width, height, sc, smoothNoise(width, height, 3, rng), rng);
  if (lateral) recordLateralScene(rec, sc, sev, { opac, consol });
  else recordFrontalScene(rec, sc, sev, { opac, consol });
  return { pixels, regions: rec.regions() };
}

/** The stream an image's drawing uses: depends only on the seed and the image's path. */
export function imageRng(seed: number | string, path: string): Rng {
  return new Rng(`phantom/${seed}/image/${path}`);
}

export interface RenderedCase extends PhantomCase {
  /** Greyscale pixels, row-major, width × height. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Where each drawn finding's sign lies in these pixels (the rows findings.csv holds for an image). */
  regions: FindingRegion[];
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
    for (const c of patientCases(root, n, split)) {
      if (out.length >= count || (opts.frontalOnly && c.view.view !== 'frontal')) continue;
      out.push({ ...c, width, height, ...drawPhantomImage(c.study, c.view, width, height, imageRng(seed, c.path)) });
    }
  }
  return out;
}
