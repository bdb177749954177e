// Detect: a photo or a webcam frame in; every face boxed with its landmarks, and per face its aligned crop, score
// and the heads' outputs; the JSON answer one click away. On this device the webcam can also identify live.
import type { PageFace } from '../backend.js';
import { $, act, h } from '../dom.js';
import { drawFaces, fitWidth } from '../draw.js';
import { chosenFiles, onFiles } from '../drop-zone.js';
import { alignedCanvas, bitmapOf } from '../face-crops.js';
import { app, thresholdOf } from '../state.js';
import { say, text } from '../strings.js';

/** A face as a card: its aligned crop, its number and score, what the heads said. */
export function faceCard(photo: ImageBitmap, f: PageFace, n: number, extra: (Node | string)[] = []): HTMLLIElement {
  const crop = alignedCanvas(photo, f.kps);
  crop.setAttribute('aria-hidden', 'true');
  return h('li', { className: 'face-card', 'data-face': n }, crop, h('div', {}, h('p', { text: say.faceLine(n, f.score, say.heads(f)) }), ...extra));
}

async function analyzeBlob(blob: Blob): Promise<void> {
  const canvas = $<HTMLCanvasElement>('analyze-canvas');
  $('analyze-faces').replaceChildren();
  $('analyze-json-box').hidden = true;
  await act($('analyze-result'), async () => {
    const r = await app.backend.analyze(blob);
    await drawFaces(canvas, blob, r.faces, r.faces.map((_, i) => `#${i + 1}`), fitWidth(canvas));
    const photo = await bitmapOf(blob);
    $('analyze-faces').replaceChildren(...r.faces.map((f, i) => faceCard(photo, f, i + 1)));
    $('analyze-json').textContent = JSON.stringify(r, null, 2);
    $('analyze-json-box').hidden = false;
    return say.facesIn(r.faces.length, r.width, r.height);
  }, canvas);
}

export function initDetect(): void {
  onFiles('analyze-file', (files) => files[0] && void analyzeBlob(files[0].file));
  const video = $<HTMLVideoElement>('webcam');
  $('webcam-start').addEventListener('click', () => void act($('analyze-result'), async () => {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    video.hidden = false;
    $('webcam-snap').hidden = false;
    $('webcam-live').hidden = !app.local || app.backend !== app.local;
    return say.webcamOn;
  }));
  $('webcam-snap').addEventListener('click', () => {
    const c = document.createElement('canvas');
    c.width = video.videoWidth;
    c.height = video.videoHeight;
    c.getContext('2d')!.drawImage(video, 0, 0);
    c.toBlob((blob) => blob && void analyzeBlob(blob), 'image/jpeg', 0.95);
  });
  initLive(video);
}

/** The webcam identified live on this device: the core's tracker, names per track, fps and recognizer runs shown. */
function initLive(video: HTMLVideoElement): void {
  let live = false;
  $('webcam-live').addEventListener('click', () => void act($('analyze-result'), async () => {
    live = !live;
    $('webcam-live').textContent = live ? text['webcam.stop'] : text['webcam.live'];
    const local = app.local;
    if (!live || !local) return say.liveStopped;
    // detection on every frame, an embedding only when a track is new or its face got clearly better, names
    // decided per track (with hysteresis). ?cuts=off: no shot-cut detection; ?cutRatio=N: its sensitivity
    const params = app.params;
    const cuts = params.get('cuts') === 'off' ? false : params.has('cutRatio') ? { ratio: Number(params.get('cutRatio')) } : undefined;
    const session = await local.liveSession(thresholdOf('identify-threshold'), cuts);
    const canvas = $<HTMLCanvasElement>('analyze-canvas');
    const started = performance.now();
    const recent: number[] = [];
    (window as unknown as { faceprint: Record<string, unknown> }).faceprint.live = session.stats;
    const loop = async (): Promise<void> => {
      if (!live || app.local !== local) return;
      const frame = await createImageBitmap(video);
      const result = await session.push(await local.analyzer.decode(frame), performance.now() - started);
      const labels = result.faces.map((f) => `#${f.trackId} ${f.subject ? f.subject.name : say.unknown}`);
      await drawFaces(canvas, frame, result.faces.map((f) => ({ bbox: f.bbox, kps: [] })), labels, 640, result.faces.map((f) => !f.subject));
      frame.close();
      recent.push(performance.now());
      if (recent.length > 30) recent.shift();
      const fps = recent.length > 1 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]) : 0;
      $('analyze-result').textContent = say.live(result.faces.map((f) => (f.subject ? f.subject.name : say.unknown)), fps, session.stats.recognizerRuns, session.stats.frames);
      requestAnimationFrame(() => void loop());
    };
    void loop();
    return say.liveStarting;
  }));
}

