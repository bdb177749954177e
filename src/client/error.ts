// The client's error on its own: the page's on-device chunk (which onnxruntime-web's worker threads load too)
// recognises API errors without loading the client.

/** An error answer: the API's code (docs/service.md lists them), its words, the HTTP status. */
export class FaceprintApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number, readonly requestId: string | null) {
    super(message);
    this.name = 'FaceprintApiError';
  }
}
