/**
 * The phantom's support devices, drawn over everything: tubes, a central line, a pacemaker and ECG
 * electrodes (a strong sign), or a faint partly seen line (a weak one). Each device is a part of the
 * sign (lines one box per segment, so a box follows the line), named as in the switch below.
 */
import type { Rng } from '../../util/rng.js';
import type { SignPen } from './regions.js';
import type { Scene } from './scene.js';

/** Support devices of severity `sev`, drawn with the finding's pens (the nasogastric tube passes the scene's left hemidiaphragm). */
export function drawDevices(pen: SignPen, rng: Rng, sev: number, lateral: boolean, sc: Scene): void {
  if (!sev) return;
  if (sev === 1) {
    // A faint line, partly seen.
    pen.part('line', true).segment(rng.uniform(-0.3, 0.3), -0.7, rng.uniform(-0.1, 0.1), -0.2, 0.006, 0.12);
    return;
  }
  const x = lateral ? -0.05 : 0;
  const devices = rng.shuffle(['ett', 'ng', 'line', 'pacer', 'ecg']).slice(0, 1 + rng.int(3));
  for (const d of devices) {
    switch (d) {
      case 'ett': // endotracheal tube down the trachea, its tip above the carina
        pen.part('ett', true).segment(x, -0.9, x + 0.005, -0.28, 0.032, 0.38);
        break;
      case 'ng': // nasogastric tube through the diaphragm into the stomach
        pen.part('ng', true).polyline([[x - 0.02, -0.9], [x - 0.01, 0], [x + 0.06, sc.dome[1] + 0.05], [x + 0.2, sc.dome[1] + 0.15]], 0.022, 0.34);
        break;
      case 'line': {
        // central venous catheter from a subclavian vein to the cava
        const side = rng.bernoulli(0.5) ? -1 : 1;
        pen.part('line', true).polyline([[side * 0.42, -0.6], [side * 0.2, -0.5], [side * 0.06, -0.35], [x - 0.04, -0.12]], 0.022, 0.42);
        break;
      }
      case 'pacer': // generator box and a lead into the heart
        pen.part('pacer').segment(0.27, -0.47, 0.35, -0.47, 0.055, 0.9);
        pen.part('lead', true).polyline([[0.27, -0.45], [0.1, -0.38], [-0.02, -0.1], [0.08, 0.22]], 0.022, 0.55);
        break;
      case 'ecg': // electrodes on the skin: a ring with a metal stud in the middle
        for (let k = 0; k < 3; k++) {
          const [u, v] = [rng.uniform(-0.4, 0.4), rng.uniform(-0.55, 0.35)];
          const ecg = pen.part('ecg');
          ecg.blob(u, v, 0.04, 0.3, false);
          ecg.blob(u, v, 0.024, -0.25, false);
          ecg.blob(u, v, 0.01, 0.4, false);
        }
        break;
    }
  }
}
