/**
 * From a scene and its drawn layers to pixels: the density of each view (torso, lungs, heart,
 * mediastinum, spine, pleural fluid, pneumothorax and the in-lung findings), then the film response
 * that turns density into 8-bit grey. regions.ts mirrors the shapes drawn here (where each sign can
 * change a pixel): change one, change the other.
 */
import type { Rng } from '../../util/rng.js';
import { bodyCoords, boxBlur, clamp01, edge, smoothstep, sq, type Layer } from './raster.js';
import { APEX, THORAX, domeAt, lungLateral, type Scene } from './scene.js';

/** The in-lung part shared by both views: air, fluid, haze, patches, markings. */
function lungDensity(i: number, visible: number, fluid: number, haze: number, rim: number, opac: Layer, vessels: Layer, consol: Layer): number {
  const air = visible * (1 - fluid);
  const con = consol.a[i]!;
  const solid = con > 0.3 ? 0.36 * smoothstep(0.35, 0.65, con) : 0;
  return -0.34 * air + air * (opac.a[i]! + haze + solid + (1 - rim) * vessels.a[i]! * (1 - clamp01(haze * 3))) + 0.06 * visible * fluid;
}

/** Frontal view density: torso, lungs, heart, mediastinum, spine and the in-lung findings. */
export function frontalDensity(sc: Scene, w: number, h: number, opac: Layer, vessels: Layer, consol: Layer, texture: Float32Array): Float32Array {
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
export function lateralDensity(sc: Scene, w: number, h: number, opac: Layer, vessels: Layer, consol: Layer, texture: Float32Array): Float32Array {
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

/** The film's blur radius in pixels for an image `w` wide (a sign's pixels spread this far). */
export function blurRadius(w: number): number {
  return Math.round(w / 256);
}

/** Film response: a little blur (scatter), exposure with a gentle heel effect, quantum noise, 8 bits. */
export function toGrey(dens: Float32Array, w: number, h: number, sc: Scene, heel: Float32Array, rng: Rng): Uint8Array {
  const r = blurRadius(w);
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
