// faceprint/client against the server's own OpenAPI document: every operation has its method, every method's
// answer type equals the document's response schema (types generated from the document and compared with the
// client's by tsc, both ways), and the answers of a real session validate against those schemas.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv } from 'ajv';
import { FaceprintApiError, FaceprintClient, OPERATIONS } from '../src/client/index.js';
import { ROOT } from './helpers/cli.js';
import { SHARED } from './fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const photo = (p: string, n: number) => ({ data: readFileSync(join(SHARED, 'faces/identities/bbt', p, `${p}${n}.png`)), name: `${p}${n}.png` });
/** Operations that answer with something other than JSON (text, images, streams). */
const NOT_JSON = new Set(['metrics', 'model', 'thumbnail', 'monitorEventStream', 'monitorSnapshot', 'monitorPreview']);

let s: TestServer;
let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };
before(async () => {
  s = await startTestServer({ offerModels: true, monitors: { secretFile: join(mkdtempSync(join(tmpdir(), 'faceprint-client-')), 'monitor.key') } });
  doc = await (await fetch(`${s.url}/openapi.json`)).json();
});
after(async () => {
  await s?.close();
});

/** The document's success schema of an operation (200 or 201, JSON). */
function responseSchema(op: string): unknown {
  const [method, path] = op.split(' ');
  const responses = doc.paths[path][method.toLowerCase()].responses;
  return (responses['200'] ?? responses['201'])?.content?.['application/json']?.schema;
}

test('every operation of the OpenAPI document has its client method, and every method its operation', () => {
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  assert.deepEqual([...new Set(Object.values(OPERATIONS))].sort(), documented);
  for (const name of Object.keys(OPERATIONS)) assert.equal(typeof (FaceprintClient.prototype as unknown as Record<string, unknown>)[name], 'function', `FaceprintClient.${name}`);
});

/** A TypeScript type for a JSON schema of the document (what the server's answers look like); OpenAPI 3 says
 * "may be null" with `nullable`. */
function tsType(schema: any): string {
  if (!schema) return 'unknown';
  if (schema.nullable) return `(${tsType({ ...schema, nullable: false })}) | null`;
  if (schema.anyOf) return schema.anyOf.map(tsType).join(' | ');
  if (schema.enum) return schema.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.map((t) => {
    if (t === 'string') return 'string';
    if (t === 'number' || t === 'integer') return 'number';
    if (t === 'boolean') return 'boolean';
    if (t === 'null') return 'null';
    if (t === 'array') {
      const n = schema.minItems;
      return n !== undefined && n === schema.maxItems && n <= 4 ? `[${Array(n).fill(tsType(schema.items)).join(', ')}]` : `(${tsType(schema.items)})[]`;
    }
    if (t === 'object') {
      const props = Object.entries(schema.properties ?? {}).map(([k, v]) => `${JSON.stringify(k)}?: ${tsType(v)};`);
      if (typeof schema.additionalProperties === 'object') props.push(`[key: string]: ${tsType(schema.additionalProperties)};`);
      else if (props.length === 0) props.push('[key: string]: unknown;');
      return `{ ${props.join(' ')} }`;
    }
    return 'unknown';
  }).join(' | ');
}

test('each method\'s answer type is the document\'s response schema: the same fields with the same types, both ways (tsc)', () => {
  const lines = [
    `import type { FaceprintClient } from '../../src/client/index.js';`,
    'type DeepRequired<T> = T extends (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<Exclude<T[K], undefined>> } : T;',
    'type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
    'type Answer<M extends keyof FaceprintClient> = FaceprintClient[M] extends (...a: any[]) => Promise<infer R> ? R : never;',
  ];
  let checked = 0;
  for (const [name, op] of Object.entries(OPERATIONS)) {
    if (NOT_JSON.has(name)) continue;
    const schema = responseSchema(op);
    assert.ok(schema, `${op} documents its answer`);
    lines.push(`type Doc_${name} = ${tsType(schema)};`, `export const ${name}: Same<DeepRequired<Doc_${name}>, DeepRequired<Answer<'${name}'>>> = true;`);
    checked++;
  }
  const dir = join(ROOT, 'scratch/client-types');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'check.ts'), lines.join('\n') + '\n');
  const options = { noEmit: true, strict: true, skipLibCheck: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', types: [], lib: ['es2022', 'dom'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['check.ts'] }));
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (e) {
    assert.fail(`the client's types differ from the document:\n${String((e as { stdout?: Buffer }).stdout)}`);
  }
  assert.equal(checked, Object.keys(OPERATIONS).length - NOT_JSON.size);
});

test('a session through the client: answers validate against the document; errors are typed; subjects page by cursor', async () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const client = new FaceprintClient({ baseUrl: s.url, apiKey: s.key.admin });
  const seen = new Set<string>();
  const valid = <T>(name: keyof typeof OPERATIONS, answer: T): T => {
    const check = ajv.compile(responseSchema(OPERATIONS[name]) as object);
    assert.ok(check(answer), `${name}: ${ajv.errorsText(check.errors)}`);
    seen.add(name);
    return answer;
  };
  valid('health', await client.health());
  valid('ready', await client.ready());
  valid('info', await client.info());
  valid('system', await client.system());
  valid('threshold', await client.threshold());
  valid('analyze', await client.analyze(photo('amy', 1), { embeddings: true }));
  for (const [n, p] of [[1, 'amy'], [2, 'amy'], [1, 'penny'], [2, 'penny'], [1, 'raj']] as const) valid('enroll', await client.enroll(p, [photo(p, n)], { create: true }));
  valid('verify', await client.verify(photo('amy', 3), photo('amy', 4)));
  valid('verifySubject', await client.verifySubject(photo('amy', 3), 'amy') as never);
  const identified = valid('identify', await client.identify(photo('penny', 3)));
  assert.equal(identified.faces[0].subject?.name, 'penny');
  const emb = valid('embeddings', await client.embeddings(photo('penny', 4), { select: 'center_largest' }));
  assert.equal(emb.face.embedding?.length, 128);
  valid('importEmbeddings', await client.importEmbeddings('penny', emb.contract.id, [emb.face.embedding!]));
  valid('createSubject', await client.createSubject('zed', { metadata: { team: 'x' } }));
  valid('updateSubject', await client.updateSubject('zed', { name: 'zed 2' }));
  valid('subject', await client.subject('amy'));
  const faces = valid('faces', await client.faces('amy', { limit: 1 }));
  assert.equal(faces.faces.length, 1);
  assert.ok(faces.nextCursor);
  valid('deleteFace', await client.deleteFace('amy', faces.faces[0].id));
  valid('deleteSubject', await client.deleteSubject('zed 2'));
  // every subject, two a page
  const names: string[] = [];
  for await (const subj of client.allSubjects({ limit: 2 })) names.push(subj.name);
  assert.deepEqual(names, ['amy', 'penny', 'raj']);
  valid('listSubjects', await client.listSubjects({ limit: 2 }));
  valid('cluster', await client.cluster([1, 2, 3].map((n) => photo('howard', n)), { maxDistance: 0.6 }));
  const groups = valid('clusters', await client.clusters());
  valid('promote', await client.promote(groups.clusters[0].id, 'howard'));
  valid('createCollection', await client.createCollection('visitors', { threshold: 0.35 }));
  valid('collection', await client.collection('visitors'));
  valid('updateCollection', await client.updateCollection('visitors', { review: 'strict' }));
  valid('listCollections', await client.listCollections());
  valid('deleteCollection', await client.deleteCollection('visitors'));
  const m = valid('createMonitor', await client.createMonitor({ name: 'door', source: '/nonexistent/clip.mp4', enabled: false }));
  valid('monitor', await client.monitor(m.id));
  valid('updateMonitor', await client.updateMonitor(m.id, { fps: 2 }));
  valid('listMonitors', await client.listMonitors());
  valid('monitorEvents', await client.monitorEvents(m.id));
  valid('deleteMonitor', await client.deleteMonitor(m.id));
  assert.ok(seen.size >= 30, `${seen.size} operations validated`);
  // errors: the API's code, status and request id
  await assert.rejects(client.subject('nobody'), (e: unknown) => e instanceof FaceprintApiError && e.code === 'SUBJECT_NOT_FOUND' && e.status === 404 && !!e.requestId);
  await assert.rejects(new FaceprintClient({ baseUrl: s.url }).info().then(() => new FaceprintClient({ baseUrl: s.url }).system()), (e: unknown) => e instanceof FaceprintApiError && e.code === 'UNAUTHORIZED');
  await assert.rejects(client.importEmbeddings('penny', 'fpemb-v1-other', [emb.face.embedding!]), (e: unknown) => e instanceof FaceprintApiError && e.code === 'CONTRACT_MISMATCH' && e.status === 409);
});

test('the client imports nothing from Node: it type-checks with the DOM alone and its build has no node: import', () => {
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'src/client/tsconfig.json')], { stdio: 'pipe' });
  for (const f of ['index.js', 'types.js']) assert.doesNotMatch(readFileSync(join(ROOT, 'dist/client', f), 'utf8'), /from ['"](node:|\.\.\/)/, f);
});
