import { spawn, type ChildProcess } from 'node:child_process';
import { FaceprintError } from '../../core/errors.js';
import { rgbImage, type RgbImage } from '../../core/image.js';

/**
 * Video in and out through the system's ffmpeg (Debian package `ffmpeg`), spawned: frames come as raw RGB over a
 * pipe, annotated frames go back the same way. Files, RTSP/HTTP streams and V4L2 devices alike.
 */

const MISSING = 'ffmpeg was not found on PATH: video needs the system\'s ffmpeg (Debian/Ubuntu: apt install ffmpeg)';

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second (the stream's average rate). */
  fps: number;
  /** Seconds, when known (files). */
  durationS: number | null;
  /** Frames, when known. */
  frames: number | null;
}

/** Whether ffmpeg and ffprobe run; a FaceprintError naming the package otherwise. */
export async function requireFfmpeg(): Promise<void> {
  for (const tool of ['ffmpeg', 'ffprobe']) {
    await new Promise<void>((resolve, reject) => {
      const p = spawn(tool, ['-version'], { stdio: 'ignore' });
      p.on('error', (e: NodeJS.ErrnoException) => reject(new FaceprintError('FFMPEG_MISSING', e.code === 'ENOENT' ? MISSING.replace('ffmpeg was', `${tool} was`) : `${tool}: ${e.message}`)));
      p.on('exit', () => resolve());
    });
  }
}

/**
 * For a file someone else sent (POST /v1/video): local files only and container formats only. A playlist
 * (HLS, concat) uploaded as a "video" would otherwise make ffmpeg fetch URLs or read other local files.
 */
const UNTRUSTED = ['-protocol_whitelist', 'file', '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ivf,h264,hevc,mjpeg'];

/** ffmpeg's input options for a source: a V4L2 device, an RTSP stream over TCP, else a file or URL. */
function inputArgs(source: string, untrusted = false): string[] {
  if (untrusted) return [...UNTRUSTED, '-i', source];
  if (source.startsWith('/dev/video')) return ['-f', 'v4l2', '-i', source];
  if (/^rtsps?:\/\//.test(source)) return ['-rtsp_transport', 'tcp', '-i', source];
  return ['-i', source];
}

function run(tool: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => { stdout += d; });
    p.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new FaceprintError('FFMPEG_MISSING', MISSING) : e);
    });
    // 'close', not 'exit': the process can exit before its output has been read (under load ffprobe's whole
    // answer was still in the pipe, and a successful probe looked like an empty one)
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Size, rate and length of a source's first video stream (ffprobe). */
export async function probeVideo(source: string, timeoutMs = 15_000, untrusted = false): Promise<VideoInfo> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration', '-of', 'json'];
  const { code, stdout, stderr } = await run('ffprobe', [...args, ...inputArgs(source, untrusted)], timeoutMs);
  let stream: { streams?: Record<string, string | number>[]; format?: { duration?: string } } | null = null;
  try {
    if (code === 0) stream = JSON.parse(stdout);
  } catch {
    // cut short: as unreadable as no answer
  }
  const s = stream?.streams?.[0];
  if (!s?.width || !s?.height) {
    // someone else's upload: said in our words, without the server's temp path or ffprobe's text
    if (untrusted) throw new FaceprintError('VIDEO_UNREADABLE', 'the clip has no video stream that can be read (a container such as MP4, Matroska/WebM, AVI or MPEG-TS is expected)');
    throw new FaceprintError('VIDEO_UNREADABLE', `${source}: no video stream ffmpeg can read${stderr ? ` (${stderr.trim().split('\n').pop()})` : ''}`);
  }
  const rate = (r: unknown) => {
    const [n, d] = String(r ?? '0/1').split('/').map(Number);
    return d ? n / d : 0;
  };
  const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate) || 25;
  const duration = Number(s.duration ?? stream?.format?.duration);
  const frames = Number(s.nb_frames);
  return {
    width: Number(s.width), height: Number(s.height), fps,
    durationS: Number.isFinite(duration) ? duration : null,
    frames: Number.isFinite(frames) && frames > 0 ? frames : Number.isFinite(duration) ? Math.round(duration * fps) : null,
  };
}

export interface ReadFramesOptions {
  /** Resample to this rate (ffmpeg's fps filter); default: the source's. */
  fps?: number;
  /** Scale to this width (height follows the aspect ratio, even); default: the source's size. */
  width?: number;
  /**
   * Frames of exactly this size whatever the source's (scaled to fit, centred, black bars): a live source need not
   * be probed first (a stream that takes one client at a time would lose it to the probe).
   */
  fitInto?: [number, number];
  /** Read a file at its own pace, as a live stream would arrive (ffmpeg -re). */
  realtime?: boolean;
  /** Play a file over and over (ffmpeg -stream_loop -1): a demo or test camera. */
  loop?: boolean;
  /** A file from someone else: local file protocol and container formats only (see UNTRUSTED). */
  untrusted?: boolean;
  /**
   * Stop after this many frames, counted as they come (a container may declare fewer than it holds): the
   * generator then ends with onStop('max-frames').
   */
  maxFrames?: number;
  /** Told why the frames ended early without an error: the frame limit, or ffmpeg failing after some frames. */
  onStop?: (reason: 'max-frames' | 'decode-error') => void;
  /** ffmpeg's decoding threads (its memory grows with them); default: ffmpeg's own choice. */
  threads?: number;
  signal?: AbortSignal;
}

export interface VideoFrame {
  index: number;
  /** Presentation time from the frame rate. */
  timeMs: number;
  image: RgbImage;
  /**
   * The consumer is done with this frame's pixels (nothing holds `image` any more): its buffer is reused for a
   * later frame. Optional; a frame never released is simply collected. At 1080p a fresh 6 MB buffer per frame
   * kept the garbage collector busy for a sixth of the time.
   */
  release(): void;
}

/** Released frame buffers kept for reuse (the read-ahead queue's depth and some). */
const FREE_FRAMES = 8;

/** How a child process ended; resolved once, whenever the caller asks (an 'exit' already past included). */
function exitOf(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    // spawn failures emit 'error' and may never emit 'exit'
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
}

/**
 * The frames of a source as RGB images, in order. Every way out — the end, a limit, an abort, the consumer
 * stopping early, ffmpeg dying — ends ffmpeg and returns: nothing waits on an exit that already happened.
 */
export async function* readFrames(source: string, info: VideoInfo, options: ReadFramesOptions = {}): AsyncGenerator<VideoFrame> {
  const fit = options.fitInto;
  const width = fit ? fit[0] : options.width ? Math.round(options.width / 2) * 2 : info.width;
  const height = fit ? fit[1] : options.width ? Math.round((info.height * width) / info.width / 2) * 2 : info.height;
  const fps = options.fps ?? info.fps;
  const scale = fit
    ? [`scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=bilinear`, `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`]
    : options.width ? [`scale=${width}:${height}:flags=bilinear`] : [];
  const filters = [...(options.fps ? [`fps=${options.fps}`] : []), ...scale];
  // -map 0:v:0: the stream probeVideo measured, not whichever one the container flags as default
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...(options.threads ? ['-threads', String(options.threads)] : []),
    ...(options.realtime ? ['-re'] : []), ...(options.loop ? ['-stream_loop', '-1'] : []), ...inputArgs(source, options.untrusted), '-map', '0:v:0',
    ...(filters.length ? ['-vf', filters.join(',')] : []), '-an', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = exitOf(proc);
  let spawnError: Error | null = null;
  proc.on('error', (e: NodeJS.ErrnoException) => { spawnError = e.code === 'ENOENT' ? new FaceprintError('FFMPEG_MISSING', MISSING) : e; });
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  const onAbort = () => proc.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const frameBytes = width * height * 3;
  // each frame is assembled in its own buffer as the pipe's chunks arrive: no chunk is copied twice
  const free: Uint8Array[] = [];
  const buffer = () => free.pop() ?? new Uint8Array(frameBytes);
  const releaser = (data: Uint8Array) => {
    let released = false;
    return () => {
      if (released || free.length >= FREE_FRAMES) return;
      released = true;
      free.push(data);
    };
  };
  let frame = buffer();
  let filled = 0;
  let index = 0;
  try {
    if (options.signal?.aborted) return;
    for await (const chunk of proc.stdout! as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled < frameBytes) break;
        if (options.maxFrames !== undefined && index >= options.maxFrames) {
          options.onStop?.('max-frames');
          return;
        }
        yield { index, timeMs: (index * 1000) / fps, image: rgbImage(width, height, frame), release: releaser(frame) };
        index++;
        frame = buffer();
        filled = 0;
      }
    }
    const { code } = await exited;
    if (spawnError) throw spawnError;
    options.signal?.throwIfAborted();
    if (code !== 0 && index > 0) options.onStop?.('decode-error');
    if (code !== 0 && index === 0) throw new FaceprintError('VIDEO_UNREADABLE', `${options.untrusted ? 'the clip' : source}: ffmpeg could not decode it${options.untrusted ? '' : ` (${stderr.trim().split('\n').pop() ?? `exit ${code}`})`}`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    proc.stdout!.destroy();
    await exited;
  }
}

/** Encodes RGB frames into a video file (H.264 in MP4 by the extension) through ffmpeg. */
export class VideoWriter {
  private readonly proc: ChildProcess;
  private readonly done: Promise<void>;
  private stderr = '';

  constructor(path: string, width: number, height: number, fps: number) {
    this.proc = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', path], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d) => { this.stderr = (this.stderr + d).slice(-2000); });
    this.done = new Promise((resolve, reject) => {
      this.proc.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new FaceprintError('FFMPEG_MISSING', MISSING) : e));
      this.proc.on('close', (code) => (code === 0 ? resolve() : reject(new FaceprintError('VIDEO_WRITE_FAILED', `${path}: ffmpeg exited ${code} (${this.stderr.trim().split('\n').pop() ?? ''})`))));
    });
    this.done.catch(() => undefined);
  }

  async write(image: RgbImage): Promise<void> {
    if (!this.proc.stdin!.write(image.data)) await new Promise<void>((r) => this.proc.stdin!.once('drain', () => r()));
  }

  async close(): Promise<void> {
    this.proc.stdin!.end();
    await this.done;
  }
}
