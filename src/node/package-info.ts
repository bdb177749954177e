import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** faceprint's own folder (the one with its package.json), from src/ or dist/ alike. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The version in faceprint's package.json ('unknown' if it cannot be read). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** faceprint's own folder in the user's home: $FACEPRINT_HOME, default ~/.faceprint (packs, caches, secrets). */
export function faceprintHome(): string {
  return process.env.FACEPRINT_HOME ?? join(homedir(), '.faceprint');
}
