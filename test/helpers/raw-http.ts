// Requests with any headers, Host and Origin included (fetch would set or refuse them), as a hostile page's
// browser or a DNS-rebinding attacker would send them.
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array | string): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    // no Host unless the caller gives one: the probes choose it
    const req = request({ host: u.hostname, port: u.port, method, path, setHost: false, headers: { ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // HTML, plain text
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A multipart/form-data body with one file part, built by hand (what a cross-site HTML form posts). */
export function multipartBody(field: string, filename: string, data: Uint8Array, type = 'image/png'): { body: Buffer; contentType: string } {
  const boundary = '----faceprintprobe' + Math.random().toString(16).slice(2);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="${filename}"\r\ncontent-type: ${type}\r\n\r\n`),
    Buffer.from(data),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
