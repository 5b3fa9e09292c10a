/**
 * Where each finding's sign lies in one phantom image, recorded while the image is drawn: boxes in
 * the image's pixels, one or more per finding (a part each: both sides of an effusion, each device,
 * each electrode), so that heatmaps can be scored against what was really drawn. The contract, which test/data/phantom-findings.test.ts checks pixel by pixel: a finding's boxes
 * together hold every pixel its sign changes, film blur included; drawing the same image without the
 * finding (`without`, in render.ts) changes no pixel outside them. And they hold no more than the
 * sign can change: shapes drawn into layers are recorded through pens (the pixels a stroke or blob
 * can change), cut to where the layer shows (the in-lung layers only in the lungs' air: not behind
 * the heart, not under fluid); the signs that the density draws (the heart, the mediastinum, pleural
 * fluid, the pneumothorax rim, the edema haze) through the scene's geometry, mirroring density.ts. A
 * sign that shows nowhere (an opacity wholly under fluid) has no box.
 */
import { CHEXPERT_CLASSES, type ChexpertLabel } from '../tables/chexpert.js';
import { blurRadius } from './density.js';
import { LUNG_OPACITY_CHILDREN } from './plan.js';
import { blobPixels, bodyCoords, clamp01, segmentPixels, sq, type Frame, type Layer, type Pen, type Reach } from './raster.js';
import { APEX, NORMAL_CTR, THORAX, domeAt, lungLateral, type Scene } from './scene.js';

/** A box of pixels: columns x0 … x1 − 1 and rows y0 … y1 − 1 (x1, y1 exclusive), 0 at the top left. */
export interface FindingBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A strong sign (train label 1.0) or a weak one (-1.0, uncertain; 1.0 in valid.csv). */
export type SignSeverity = 'strong' | 'weak';

/** One part of one finding's sign in one image. */
export interface FindingRegion extends FindingBox {
  finding: ChexpertLabel;
  /** What the box holds, e.g. `heart`, `right`, `nodule`, `ett`, `ecg` (write.ts lists them). */
  part: string;
  severity: SignSeverity;
}

/** A pen for one part of a sign: draws (unless the finding is left out) and records where. */
export interface PartPen extends Pen {
  /** Record where a polyline lies without drawing it (a rib where it would be, had it not broken). */
  markPolyline(pts: ReadonlyArray<readonly [number, number]>, width: number): void;
  /** A pen for the same part that draws into another layer. */
  into(layer: Layer): PartPen;
}

/** The pens of one finding's sign. */
export interface SignPen {
  /** The finding is left out of this drawing: its pens draw and record nothing (the caller still draws its random numbers). */
  readonly hidden: boolean;
  /** A pen for a part; `each`: one box per stroke or blob (a thin line's segments), else one box for the part. */
  part(name: string, each?: boolean): PartPen;
}

interface Part {
  finding: ChexpertLabel;
  name: string;
  severity: SignSeverity;
  each: boolean;
  /** Pixels that may change, each with the layer drawn into (null: recorded from the scene). */
  reaches: Array<{ reach: Reach; layer: Layer | null }>;
}

const CLASS_INDEX = new Map<string, number>(CHEXPERT_CLASSES.map((c, i) => [c, i]));
const OPACITY_CHILDREN: ReadonlySet<string> = new Set(LUNG_OPACITY_CHILDREN);

function union(a: Reach, b: Reach): Reach {
  return { xa: Math.min(a.xa, b.xa), xb: Math.max(a.xb, b.xb), ya: Math.min(a.ya, b.ya), yb: Math.max(a.yb, b.yb) };
}

/** Collects one image's regions; `hidden`: the findings left out of this drawing. */
export class RegionRecorder {
  private readonly parts: Part[] = [];
  private readonly shows = new Map<Layer, (i: number) => boolean>();
  private coords: [Float32Array, Float32Array] | null = null;

  constructor(
    readonly frame: Frame,
    readonly width: number,
    readonly height: number,
    private readonly hiddenSet: ReadonlySet<ChexpertLabel> = new Set(),
  ) {}

  /** Whether a finding is left out of this drawing (Lung Opacity leaves out every opacity). */
  hidden(finding: ChexpertLabel): boolean {
    return this.hiddenSet.has(finding) || (OPACITY_CHILDREN.has(finding) && this.hiddenSet.has('Lung Opacity'));
  }

  /** The pens of a finding drawn at `severity` (1 weak, 2 strong) into `layer`. */
  sign(layer: Layer, finding: ChexpertLabel, severity: number): SignPen {
    const hidden = this.hidden(finding);
    return {
      hidden,
      part: (name, each = false) => this.pen(layer, hidden ? null : this.newPart(finding, name, severity, each)),
    };
  }

  /** A layer whose values show only at the pixels (row-major index) where `shows` holds. */
  showsOnlyWhere(layer: Layer, shows: (i: number) => boolean): void {
    this.shows.set(layer, shows);
  }

  /** Body coordinates of every pixel, as density.ts computes them. */
  body(): [Float32Array, Float32Array] {
    return (this.coords ??= bodyCoords(this.frame, this.width, this.height));
  }

  /** Record the pixels where `inside(u, v)` holds (body coordinates, as density.ts computes them). */
  where(finding: ChexpertLabel, name: string, severity: number, inside: (u: number, v: number) => boolean): void {
    if (this.hidden(finding)) return;
    const [U, V] = this.body();
    let r: Reach | null = null;
    for (let y = 0, i = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++, i++) {
        if (!inside(U[i]!, V[i]!)) continue;
        if (!r) r = { xa: x, xb: x, ya: y, yb: y };
        else {
          if (x < r.xa) r.xa = x;
          if (x > r.xb) r.xb = x;
          r.yb = y;
        }
      }
    }
    if (r) this.newPart(finding, name, severity, false).reaches.push({ reach: r, layer: null });
  }

  /** Every region recorded, by finding (CheXpert's column order), then in drawing order; Lung Opacity holds its children's. */
  regions(): FindingRegion[] {
    const blur = blurRadius(this.width);
    const out: FindingRegion[] = [];
    for (const p of this.parts) {
      const shown = p.reaches.map(({ reach, layer }) => this.shown(reach, layer)).filter((r): r is Reach => r !== null);
      const reaches = p.each ? shown : shown.length ? [shown.reduce(union)] : [];
      for (const r of reaches) {
        const box = { x0: Math.max(0, r.xa - blur), y0: Math.max(0, r.ya - blur), x1: Math.min(this.width, r.xb + 1 + blur), y1: Math.min(this.height, r.yb + 1 + blur) };
        out.push({ finding: p.finding, part: p.name, severity: p.severity, ...box });
        if (OPACITY_CHILDREN.has(p.finding)) out.push({ finding: 'Lung Opacity', part: p.name, severity: p.severity, ...box });
      }
    }
    return out.sort((a, b) => CLASS_INDEX.get(a.finding)! - CLASS_INDEX.get(b.finding)!); // stable: drawing order within a finding
  }

  /** The part of a reach on the image, where its layer shows; null when none. */
  private shown(reach: Reach, layer: Layer | null): Reach | null {
    const xa = Math.max(0, reach.xa);
    const xb = Math.min(this.width - 1, reach.xb);
    const ya = Math.max(0, reach.ya);
    const yb = Math.min(this.height - 1, reach.yb);
    if (xa > xb || ya > yb) return null;
    const shows = layer ? this.shows.get(layer) : undefined;
    if (!shows) return { xa, xb, ya, yb };
    let r: Reach | null = null;
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        if (!shows(y * this.width + x)) continue;
        r = r ? union(r, { xa: x, xb: x, ya: y, yb: y }) : { xa: x, xb: x, ya: y, yb: y };
      }
    }
    return r;
  }

  private newPart(finding: ChexpertLabel, name: string, severity: number, each: boolean): Part {
    const p: Part = { finding, name, severity: severity >= 2 ? 'strong' : 'weak', each, reaches: [] };
    this.parts.push(p);
    return p;
  }

  private pen(layer: Layer, part: Part | null): PartPen {
    const f = this.frame;
    const pen: PartPen = {
      segment(u0, v0, u1, v1, width, value) {
        if (!part) return;
        layer.segment(u0, v0, u1, v1, width, value);
        part.reaches.push({ reach: segmentPixels(f, u0, v0, u1, v1, width), layer });
      },
      polyline(pts, width, value) {
        for (let i = 1; i < pts.length; i++) pen.segment(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], width, value);
      },
      blob(u, v, r, value, soft) {
        if (!part) return;
        layer.blob(u, v, r, value, soft);
        part.reaches.push({ reach: blobPixels(f, u, v, r, soft), layer });
      },
      markPolyline(pts, width) {
        if (!part) return;
        for (let i = 1; i < pts.length; i++) part.reaches.push({ reach: segmentPixels(f, pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], width), layer });
      },
      into: (other) => this.pen(other, part),
    };
    return pen;
  }
}

/** Anti-aliased inside tests of density.ts: `edge(d, inv) > 0` and `edge(d, inv) = 1` (with a hair's margin, so "full" is never claimed wrongly). */
function touches(d: number, inv: number): boolean {
  return d * inv + 0.5 > 0;
}
function full(d: number, inv: number): boolean {
  return d * inv + 0.5 >= 1 + 1e-9;
}

/** smoothstep(top − 0.012, top + 0.012, v) = 1: the fluid fills the pixel (with a hair's margin). */
function underFluid(v: number, top: number): boolean {
  return v >= top + 0.012 + 1e-9;
}

/** The side of the patient a frontal part lies on (SIDES index 0 is image left, the patient's right). */
const SIDE_NAME = ['right', 'left'] as const;

/** The layers whose values show only in the lungs' air (density.ts's lungDensity multiplies them by it). */
export interface LungLayers {
  /** Opacities: they show wherever the lung has air. */
  opac: Layer;
  /** The consolidation field: it shows where it passes 0.35 (smoothstep(0.35, 0.65, ·) > 0). */
  consol: Layer;
}

function lungLayers(rec: RegionRecorder, layers: LungLayers, air: (u: number, v: number) => boolean): void {
  let mask: Uint8Array | null = null;
  const inAir = (i: number) => {
    if (!mask) {
      const [U, V] = rec.body();
      mask = new Uint8Array(U.length);
      for (let k = 0; k < U.length; k++) mask[k] = air(U[k]!, V[k]!) ? 1 : 0;
    }
    return mask[i] === 1;
  };
  rec.showsOnlyWhere(layers.opac, inAir);
  rec.showsOnlyWhere(layers.consol, (i) => layers.consol.a[i]! > 0.35 && inAir(i));
}

/**
 * The frontal scene (frontalDensity): where the lungs' opacities show, and the signs the density
 * draws: the heart (Cardiomegaly), the mediastinum (Enlarged Cardiomediastinum), pleural fluid, the
 * pneumothorax rim and the edema haze. `sev`: each finding's severity in this image.
 */
export function recordFrontalScene(rec: RegionRecorder, sc: Scene, sev: (c: ChexpertLabel) => number, layers: LungLayers): void {
  const e = 1.2 / sc.frame.s;
  const inv = 1 / e;
  const lowest = Math.max(domeAt(0.5, sc.dome[0]), domeAt(0.5, sc.dome[1]), sc.dome[1] + 0.16) + e;
  /** The lung of (u, v)'s side: its medial edge term and the others, or null outside the lungs' block. */
  const lungAt = (u: number, v: number) => {
    const au = Math.abs(u);
    if (v < APEX - e || v > lowest || au > 0.5) return null;
    const side = u < 0 ? 0 : 1;
    const lat = lungLateral(v);
    const med = sc.mediastinum + (side === 1 && v < -0.15 && v > -0.3 ? 0.03 * Math.sin(((v + 0.3) / 0.15) * Math.PI) : 0);
    const dome = domeAt(au, sc.dome[side]!);
    const medial = (side ? u : -u) - med + (side ? -sc.shift : sc.shift);
    return { side, au, lat, dome, medial, rest: Math.min(lat - au, dome - v, v - APEX) };
  };
  type LungPoint = NonNullable<ReturnType<typeof lungAt>>;
  const inLung = (t: LungPoint) => touches(Math.min(t.medial, t.rest), inv);
  // The heart: an ellipse tilted along its long axis (frontalDensity's).
  const heartW = sc.ctr * THORAX;
  const cphi = Math.cos(0.5);
  const sphi = Math.sin(0.5);
  const rb = heartW / 2 / Math.sqrt(1.35 * 1.35 * cphi * cphi + sphi * sphi);
  const ra = 1.35 * rb;
  const hcx = heartW / 6 + sc.shift;
  const hcy = Math.min(sc.dome[0], sc.dome[1]) - 0.45 * rb;
  const hr = Math.min(ra, rb);
  /** The heart's edge term at (u, v), or null where frontalDensity leaves the heart at 0. */
  const heartTerm = (u: number, v: number): number | null => {
    const du = u - hcx;
    const dv = v - hcy;
    if (du * du + dv * dv >= ra * ra * 1.1) return null;
    const p = (du * cphi + dv * sphi) / ra;
    const q = (-du * sphi + dv * cphi) / rb;
    return (1 - Math.sqrt(p * p + q * q)) * hr;
  };
  const behindHeart = (u: number, v: number) => {
    const h = heartTerm(u, v);
    return h !== null && full(h, inv);
  };
  const fluidTop = (t: LungPoint): number | null => {
    const fh = sc.effusion[t.side as 0 | 1];
    if (fh <= 0) return null;
    const r = t.au / 0.42;
    return t.dome - fh * (0.3 + 1.6 * r * r);
  };
  /** The lung has air at (u, v): lung, not wholly behind the heart, not wholly under fluid. */
  const air = (u: number, v: number, t = lungAt(u, v)): boolean => {
    if (t === null || !inLung(t) || behindHeart(u, v)) return false;
    const top = fluidTop(t);
    return top === null || !underFluid(v, top);
  };
  lungLayers(rec, layers, (u, v) => air(u, v));

  const cardio = sev('Cardiomegaly');
  if (cardio) {
    // Where the heart shows: above the hemidiaphragm, in the lungs' block.
    rec.where('Cardiomegaly', 'heart', cardio, (u, v) => {
      const h = heartTerm(u, v);
      if (h === null || !touches(h, inv)) return false;
      const t = lungAt(u, v);
      return t !== null && touches(t.dome - v, inv);
    });
  }
  const ecm = sev('Enlarged Cardiomediastinum');
  if (ecm) {
    // Between the midline and the lungs' medial edges, which a narrower mediastinum would move in.
    rec.where('Enlarged Cardiomediastinum', 'mediastinum', ecm, (u, v) => {
      const t = lungAt(u, v);
      return t !== null && touches(t.rest, inv) && t.medial < e / 2 && touches(t.medial + sc.mediastinum, inv) && !behindHeart(u, v);
    });
  }
  const eff = sev('Pleural Effusion');
  if (eff) {
    for (const side of [0, 1] as const) {
      if (sc.effusion[side] <= 0) continue;
      rec.where('Pleural Effusion', SIDE_NAME[side], eff, (u, v) => {
        const t = lungAt(u, v);
        if (t === null || t.side !== side || !inLung(t) || behindHeart(u, v)) return false;
        return v > fluidTop(t)! - 0.012;
      });
    }
  }
  const ptx = sev('Pneumothorax');
  if (ptx) {
    for (const side of [0, 1] as const) {
      const rim = sc.pneumothorax[side];
      if (rim <= 0) continue;
      // The lucent rim and the pleural line: within 1.5 anti-aliasing widths of the collapsed lung's edge.
      const at = (u: number, v: number): 'apex' | 'wall' | null => {
        const t = lungAt(u, v);
        if (t === null || t.side !== side || !air(u, v, t)) return null;
        const g = rim * clamp01((0.25 - v) / 0.45);
        const wall = t.lat - g - t.au;
        const apex = v - APEX - g * 1.2;
        if (Math.min(wall, apex) >= 1.5 * e) return null;
        return apex < wall ? 'apex' : 'wall';
      };
      rec.where('Pneumothorax', `${SIDE_NAME[side]} apex`, ptx, (u, v) => at(u, v) === 'apex');
      rec.where('Pneumothorax', `${SIDE_NAME[side]} wall`, ptx, (u, v) => at(u, v) === 'wall');
    }
  }
  const edema = sev('Edema');
  if (edema) {
    // The perihilar haze fades out but never ends: it shows wherever the lung has air.
    for (const side of [0, 1] as const) {
      rec.where('Edema', `${SIDE_NAME[side]} lung`, edema, (u, v) => {
        const t = lungAt(u, v);
        return t !== null && t.side === side && air(u, v, t);
      });
    }
  }
}

/** The lateral scene (lateralDensity): where opacities show, the heart, the retrosternal mediastinum, fluid, edema haze. */
export function recordLateralScene(rec: RegionRecorder, sc: Scene, sev: (c: ChexpertLabel) => number, layers: LungLayers): void {
  const e = 1.2 / sc.frame.s;
  const inv = 1 / e;
  const inTorso = (u: number, v: number) => sq(sq(u / 0.46)) + sq(sq((v - 0.14) / 0.76)) <= 1.3;
  const dBase = Math.min(sc.dome[0], sc.dome[1]) - 0.06;
  const fh = Math.max(sc.effusion[0], sc.effusion[1]);
  const hrxOf = (ctr: number) => 0.12 + 0.55 * (ctr - 0.44);
  const hrx = hrxOf(sc.ctr);
  const hcx = -0.3 + hrx;
  const hcy = sc.dome[0] - 0.08;
  const heartTerm = (u: number, v: number) => (1 - Math.sqrt(sq((u - hcx) / hrx) + sq((v - hcy) / 0.16))) * 0.1;
  /** The lung at (u, v) (not behind the whole heart): its fluid's top, or null outside it. */
  const lungAt = (u: number, v: number): { top: number | null } | null => {
    if (!inTorso(u, v)) return null;
    const t = clamp01((u + 0.3) / 0.6);
    const dome = dBase + 0.22 * t * t;
    if (!touches(Math.min((1 - Math.sqrt(sq(u / 0.31) + sq((v + 0.04) / 0.5))) * 0.25, dome - v), inv) || full(heartTerm(u, v), inv)) return null;
    return { top: fh > 0 ? dome - fh * (0.3 + 1.2 * t * t) : null };
  };
  const air = (u: number, v: number) => {
    const l = lungAt(u, v);
    return l !== null && (l.top === null || !underFluid(v, l.top));
  };
  lungLayers(rec, layers, air);

  const cardio = sev('Cardiomegaly');
  if (cardio) {
    // Hearts of every width share their front edge and height: a normal one, narrower, reaches a
    // little higher and lower than the wide one. The box holds both: the wide heart and where a
    // normal one would be (at a height, the heart of half width r spans -0.3 + r (1 ± w)).
    const hrxNormal = hrxOf(NORMAL_CTR[0]);
    const reach = sq(1 + (0.5 * e) / 0.1); // edge((1 - ρ) 0.1, inv) > 0 ⇔ ρ < 1 + 5e
    rec.where('Cardiomegaly', 'heart', cardio, (u, v) => {
      const w2 = reach - sq((v - hcy) / 0.16);
      if (w2 <= 0 || !inTorso(u, v)) return false;
      const w = Math.sqrt(w2);
      return u > -0.3 + Math.min(hrx * (1 - w), hrxNormal * (1 - w)) && u < -0.3 + hrx * (1 + w);
    });
  }
  const ecm = sev('Enlarged Cardiomediastinum');
  if (ecm) rec.where('Enlarged Cardiomediastinum', 'mediastinum', ecm, (u, v) => inTorso(u, v) && touches(0.1 - Math.sqrt(sq((u + 0.22) / 1.2) + sq((v + 0.2) / 1.6)), inv));
  const eff = sev('Pleural Effusion');
  if (eff && fh > 0) {
    rec.where('Pleural Effusion', 'fluid', eff, (u, v) => {
      const l = lungAt(u, v);
      return l !== null && v > l.top! - 0.012;
    });
  }
  const edema = sev('Edema');
  if (edema) rec.where('Edema', 'lung', edema, air);
}
