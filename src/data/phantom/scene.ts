/**
 * What one phantom image's drawing decided (the Scene), and the body outlines every part of the
 * drawing shares: the lungs' apex and lateral edges, the hemidiaphragm domes, the thorax width.
 */
import { clamp01, sq, type Frame } from './raster.js';

/** What one image's drawing decided, from the study's severities and the image's stream. */
export interface Scene {
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

/** The two sides as the sign of u: image left (the patient's right on a frontal view), image right. */
export const SIDES = [-1, 1] as const;
/** Height of the lung apices. */
export const APEX = -0.48;
/** Thorax width (the heart is `ctr` of it). */
export const THORAX = 0.88;
/** The cardiothoracic ratio of a normal heart (PA; AP films add 0.02). */
export const NORMAL_CTR = [0.39, 0.47] as const;

/** Lateral edge of a lung (distance from the midline) at height v: a rounded apex, widening down. */
export function lungLateral(v: number): number {
  const t = clamp01((v - APEX) / 0.34);
  return 0.08 + 0.33 * (1 - (1 - t) * (1 - t)) + 0.03 * clamp01(v / 0.4);
}

/** Hemidiaphragm at distance a from the midline: a dome peaking mid-lung, down to the costophrenic angle. */
export function domeAt(a: number, d: number): number {
  const t = (a - 0.2) / 0.22;
  return d + 0.1 * t * t;
}

/** Back edge of the lung on a lateral view. */
export function lateralBack(v: number): number {
  return 0.31 * Math.sqrt(Math.max(0, 1 - sq((v + 0.04) / 0.5)));
}
