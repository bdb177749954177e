// Models on this device: the detector, recognizer and heads the page runs with ONNX Runtime Web — the server's
// own copies (checked by the sha256 it gives), files picked here, or URLs.
import { $ } from '../dom.js';
import type { LocalBackend } from '../local-backend.js';
import { app } from '../state.js';
import { say } from '../strings.js';

const field = (id: string): HTMLInputElement => $<HTMLInputElement>(id);

/** Fills the fields with what the server offers (and the page's ?detector=, ?recognizer=, ?heads=). */
export function showOffer(): void {
  const offered = app.info?.models ?? [];
  const detector = offered.find((m) => m.role === 'detector');
  const recognizer = offered.find((m) => m.role === 'recognizer');
  if (detector) field('model-detector').value = detector.url;
  if (recognizer) field('model-recognizer').value = recognizer.url;
  const heads = offered.filter((m) => m.role === 'head');
  if (heads.length) field('model-heads').value = heads.map((m) => m.url).join(', ');
  $('models-offer').textContent = detector ? say.modelsOffered(offered.map((m) => m.url.split('/').pop()!)) : say.modelsNotOffered;
  for (const [param, id] of [['detector', 'model-detector'], ['recognizer', 'model-recognizer'], ['heads', 'model-heads']] as const) {
    const v = app.params.get(param);
    if (v) field(id).value = v;
  }
}

/** Loads the models into the page (URL fields or picked files) and opens the IndexedDB gallery. */
export async function loadModels(): Promise<{ local: LocalBackend; words: string }> {
  const detFile = field('model-detector-file').files?.[0];
  const recFile = field('model-recognizer-file').files?.[0];
  // a model the server offers is checked against the sha256 it gave, when its URL is the one used
  const offeredSha = (url: string): string | undefined => app.info?.models?.find((m) => new URL(m.url, location.href).href === url)?.sha256;
  const detUrl = new URL(field('model-detector').value, location.href).href;
  const recUrl = new URL(field('model-recognizer').value, location.href).href;
  const headUrls = field('model-heads').value.split(',').map((u) => u.trim()).filter(Boolean).map((u) => new URL(u, location.href).href);
  if (!detFile && !field('model-detector').value.trim()) throw new Error(say.pickDetector);
  const progress = $<HTMLProgressElement>('models-progress');
  const { LocalBackend, loadModelBytes } = await import('../local-backend.js');
  const started = performance.now();
  const params = app.params;
  await app.local?.analyzer.close();
  const local = await LocalBackend.open({
    detector: detFile ?? detUrl,
    recognizer: recFile ?? recUrl,
    heads: headUrls,
    ...(detFile ? {} : { detectorSha256: offeredSha(detUrl) }),
    ...(recFile ? {} : { recognizerSha256: offeredSha(recUrl) }),
    headsSha256: headUrls.every((u) => offeredSha(u)) ? headUrls.map((u) => offeredSha(u)!) : undefined,
    // onnxruntime-web's default is half the cores; a page doing one thing at a time gains from all of them
    numThreads: params.has('threads') ? Number(params.get('threads')) : Math.min(4, navigator.hardwareConcurrency || 1),
    // ?detInput=image: the detector sized to each photo (faster on small photos; not bit-exact with InsightFace)
    detInput: params.get('detInput') === 'image' ? 'image' : 'model',
    // ?detSize=N: one detector size (InsightFace 0.7.3's single pass at 640); small values suit one large face a photo
    ...(params.has('detSize') ? { detSize: Number(params.get('detSize')) } : {}),
    // ?detSizes=128,640: sizes merged by one NMS; the default without either is InsightFace 1.0's Auto (128,640)
    ...(params.has('detSizes') ? { detSizes: params.get('detSizes')!.split(',').map(Number) } : {}),
    executionProviders: params.get('ep') === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    onProgress: (_model, loaded, total) => {
      progress.value = total ? loaded / total : 0;
    },
  });
  progress.value = 1;
  // for tests and the curious: the engine this page runs
  (window as unknown as { faceprint: unknown }).faceprint = { local, loadModelBytes, crossOriginIsolated: self.crossOriginIsolated };
  return { local, words: say.modelsLoaded((performance.now() - started) / 1000, local.analyzer.recognizerName ?? say.noRecognizer, local.analyzer.embeddingSize, self.crossOriginIsolated) };
}
