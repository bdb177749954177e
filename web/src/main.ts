// The entry only loads the page code in a document: onnxruntime-web's worker threads load the on-device chunk,
// which may import this entry chunk, and must not run page code there.
import { isolateByServiceWorker } from './isolation.js';

if (typeof document !== 'undefined' && !(await isolateByServiceWorker())) void import('./page.js');
