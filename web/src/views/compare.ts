// Compare: two photos side by side, their aligned crops, the score on a bar with the threshold marked, and the
// decision in words.
import { $, act, h } from '../dom.js';
import { drawPhoto } from '../draw.js';
import { chosenFiles, onFiles } from '../drop-zone.js';
import { alignedCanvas, bitmapOf } from '../face-crops.js';
import { app, thresholdOf } from '../state.js';
import { say } from '../strings.js';

/** The bar runs from cosine 0 to 1 (unrelated faces sit near 0, one person's photos well above the threshold). */
const onBar = (v: number): string => `${(Math.min(1, Math.max(0, v)) * 100).toFixed(1)}%`;

async function compareChosen(): Promise<void> {
  const meter = $('compare-meter');
  const decision = $('compare-decision');
  decision.textContent = '';
  await act($('compare-result'), async () => {
    const a = chosenFiles('compare-a')[0]?.file;
    const b = chosenFiles('compare-b')[0]?.file;
    meter.hidden = true;
    $('compare-crops').replaceChildren();
    if (!a || !b) throw new Error(say.twoPhotos);
    await Promise.all([drawPhoto($<HTMLCanvasElement>('compare-canvas-a'), a, 320), drawPhoto($<HTMLCanvasElement>('compare-canvas-b'), b, 320)]);
    const v = await app.backend.verify(a, b, thresholdOf('compare-threshold'));
    meter.hidden = false;
    meter.classList.toggle('same', v.same);
    meter.querySelector<HTMLElement>('.meter-fill')!.style.width = onBar(v.score);
    meter.querySelector<HTMLElement>('.meter-mark')!.style.left = onBar(v.threshold);
    meter.setAttribute('role', 'meter');
    meter.setAttribute('aria-valuenow', v.score.toFixed(3));
    meter.setAttribute('aria-label', say.decision(v.same));
    decision.textContent = say.decision(v.same);
    decision.className = `decision ${v.same ? 'same' : 'different'}`;
    void showCrops(a, b);
    return say.compared(v.same, v.score, v.threshold, v.basis);
  });
}

/** The face each photo gave (its first, as the comparison takes it), aligned as the recognizer sees it. */
async function showCrops(a: File, b: File): Promise<void> {
  const crops = await Promise.all([a, b].map(async (photo) => {
    const r = await app.backend.analyze(photo).catch(() => null);
    return r?.faces[0] ? alignedCanvas(await bitmapOf(photo), r.faces[0].kps) : h('span');
  }));
  $('compare-crops').replaceChildren(...crops);
}

export function initCompare(): void {
  $('compare-submit').addEventListener('click', () => void compareChosen());
  const bothChosen = () => chosenFiles('compare-a').length > 0 && chosenFiles('compare-b').length > 0;
  // both photos there: compared at once, and again when the threshold changes
  for (const id of ['compare-a', 'compare-b']) onFiles(id, () => bothChosen() && void compareChosen());
  $('compare-threshold').addEventListener('change', () => bothChosen() && void compareChosen());
}
