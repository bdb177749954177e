import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FaceprintError } from '../../core/errors.js';

/** The schemes a monitor reads; a path is a local file (looped) or a V4L2 device. */
const URL_SCHEMES = ['rtsp:', 'rtsps:', 'http:', 'https:'];

/** A monitor's source checked: an rtsp(s)/http(s) URL, a /dev/video device or an absolute file path. */
export function checkSource(source: string): string {
  const s = source.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new FaceprintError('INVALID_INPUT', 'source: not a valid URL');
    }
    if (!URL_SCHEMES.includes(url.protocol)) throw new FaceprintError('INVALID_INPUT', `source: ${url.protocol} is not a stream faceprint reads (rtsp, rtsps, http, https, a /dev/video device or a file)`);
    return s;
  }
  if (!s.startsWith('/')) throw new FaceprintError('INVALID_INPUT', 'source: a URL, a /dev/video device or an absolute file path');
  return s;
}

/** A source as it may be shown and logged: a URL's password (and a user alone) replaced by ***. */
export function redactSource(source: string): string {
  try {
    const url = new URL(source);
    if (!url.username && !url.password) return source;
    const user = url.password ? `${decodeURIComponent(url.username)}:***` : '***';
    return `${url.protocol}//${user}@${url.host}${url.pathname}${url.search}`;
  } catch {
    return source;
  }
}

/** A file source loops (a demo or test camera); devices and streams are live. */
export function isFileSource(source: string): boolean {
  return source.startsWith('/') && !source.startsWith('/dev/');
}

/**
 * A secret kept in a file of its own: read as it is, or made by `make` (text) and written 0600 when the file is
 * not there yet. The monitor key and the webhook secret both live this way.
 */
export async function secretFile(path: string, make: () => string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const secret = make();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, secret + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return secret;
  }
}

/**
 * Sources at rest: AES-256-GCM with a key kept in a file of its own (0600, made when the first monitor is saved),
 * so a copy of the gallery store alone does not give away the cameras' passwords.
 */
export class SourceBox {
  private key: Promise<Buffer> | null = null;

  constructor(private readonly path: string) {}

  private secret(): Promise<Buffer> {
    this.key ??= (async () => {
      const key = Buffer.from(await secretFile(this.path, () => randomBytes(32).toString('base64')), 'base64');
      if (key.length !== 32) throw new FaceprintError('INVALID_INPUT', `${this.path}: not a monitor secret (32 bytes, base64)`);
      return key;
    })();
    return this.key;
  }

  async seal(source: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.secret(), iv);
    const sealed = Buffer.concat([cipher.update(source, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  async open(sealed: string): Promise<string> {
    const raw = Buffer.from(sealed.replace(/^v1:/, ''), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', await this.secret(), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new FaceprintError('STORE_INVALID', 'a monitor\'s source cannot be opened with this monitor secret (another server\'s?)');
    }
  }
}
