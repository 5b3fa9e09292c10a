/**
 * The phantom's bones, drawn over everything: ribs, clavicles, humeral heads and scapulae on a
 * frontal view, vertebrae, sternum and ribs on a lateral one, and the rib fractures of Fracture
 * (drawn with the finding's pens, which record where they are).
 */
import type { Rng } from '../../util/rng.js';
import type { Pen } from './raster.js';
import type { PartPen, SignPen } from './regions.js';
import { SIDES } from './scene.js';

/**
 * Frontal view: posterior and anterior ribs, clavicles, humeral heads, scapula edges; `fracture` a
 * severity, drawn with `fx` (a hidden fracture leaves the ribs whole).
 */
export function drawFrontalBones(c: Pen, rng: Rng, ap: boolean, fracture: number, fx: SignPen): void {
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
        // The rib's outer piece, moved: the box holds it and where it would be, whole.
        const rib = fx.part('rib');
        c.polyline(pts.slice(0, fracAt + 1), 0.024, 0.045);
        if (fx.hidden) c.polyline(pts.slice(fracAt), 0.024, 0.045);
        rib.markPolyline(pts.slice(fracAt), 0.024);
        const outer = pts.slice(fracAt).map(([u, v], j) => [u + (j === 0 ? side * gap : 0), v + off] as [number, number]);
        rib.polyline(outer, 0.024, 0.045);
        const [bu, bv] = pts[fracAt]!;
        callus(fx.part('callus'), bu + (side * gap) / 2, bv + off / 2, fracture);
        // Air leaks into the chest wall over a displaced fracture: dark streaks in the soft tissue.
        const air = fracture === 2 ? fx.part('air') : null;
        if (air) for (let j = 0; j < 2; j++) air.segment(side * rng.uniform(0.45, 0.48), bv + rng.uniform(-0.04, 0.08), side * rng.uniform(0.47, 0.52), bv + rng.uniform(0.12, 0.2), 0.014, -0.16);
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

/** Lateral view: vertebral bodies, sternum, ribs; `fracture` a severity, drawn with `fx`. */
export function drawLateralBones(c: Pen, rng: Rng, fracture: number, fx: SignPen): void {
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
    for (let k = k0; k < k0 + (fracture === 2 ? 3 : 1); k++) callus(fx.part('callus'), 0.27, ribBack(k) + 0.05 * (ribFront(k) - ribBack(k)), fracture);
  }
}

/** Callus at a rib fracture: a dense knot (strong) or a faint thickening (weak). */
function callus(c: PartPen, u: number, v: number, fracture: number): void {
  if (fracture === 2) c.blob(u, v, 0.03, 0.28, false);
  else c.blob(u, v, 0.012, 0.06, true);
}
