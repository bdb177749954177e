// The entry only loads the page code in a document: onnxruntime-web's worker threads load the on-device chunk,
// which may import this entry chunk, and must not run page code there.
if (typeof document !== 'undefined') void import('./page.js');
