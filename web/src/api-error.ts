/** A failed call, with the API's error code (its own module: the on-device chunk, which onnxruntime-web's worker
 * threads load too, must not import the page's entry chunk). */
export class ApiCallError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}
