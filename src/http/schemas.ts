/** JSON schemas of the API: they validate requests, shape responses and are the OpenAPI document. */

const box = { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[x1, y1, x2, y2] in image pixels' } as const;
const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } as const;
const metadata = { type: 'object', additionalProperties: true, description: 'free-form JSON attributes' } as const;

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const;

export const faceSchema = {
  type: 'object',
  required: ['bbox', 'kps', 'score'],
  properties: {
    bbox: box,
    kps: { type: 'array', items: point, description: 'left eye, right eye, nose, left and right mouth corners' },
    score: { type: 'number', description: 'detector confidence' },
    embeddingNorm: { type: ['number', 'null'], description: 'norm of the raw embedding (a quality signal); null without a recognizer' },
    embedding: { type: ['array', 'null'], items: { type: 'number' }, description: 'L2-normalised embedding (with ?embeddings=true)' },
    landmark2d106: { type: 'array', items: point, minItems: 106, maxItems: 106, description: '106 2-D landmarks in image pixels (2d106det head)' },
    landmark3d68: {
      type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 }, minItems: 68, maxItems: 68,
      description: '68 3-D landmarks: x, y in image pixels, z on the same scale (1k3d68 head)',
    },
    pose: {
      type: 'object', required: ['pitch', 'yaw', 'roll'], description: 'head pose in degrees, fitted to landmark3d68 (1k3d68 head)',
      properties: { pitch: { type: 'number' }, yaw: { type: 'number' }, roll: { type: 'number' } },
    },
    gender: { type: 'integer', enum: [0, 1], description: '0 female, 1 male (genderage head)' },
    sex: { type: 'string', enum: ['F', 'M'] },
    age: { type: 'integer', description: 'years (genderage head)' },
  },
} as const;

export const subjectSchema = {
  type: 'object',
  required: ['id', 'name', 'metadata', 'faceCount', 'createdAt', 'updatedAt'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, metadata, faceCount: { type: 'integer' }, createdAt: { type: 'string' }, updatedAt: { type: 'string' } },
} as const;

export const storedFaceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, imageSha256: { type: 'string' }, source: { type: 'string' }, bbox: box, score: { type: 'number' },
    quality: { type: 'number' }, clusterId: { type: ['string', 'null'] }, createdAt: { type: 'string' },
    thumbnail: { type: 'boolean', description: 'a thumbnail was kept (GET …/faces/{faceId}/thumbnail.jpg)' },
  },
} as const;

const thresholdSource = {
  type: 'string', enum: ['given', 'collection', 'calibration', 'known-model'],
  description: 'where the threshold came from: the request, the gallery calibration, or the known-model table (by the recognizer\'s sha256)',
} as const;

/** The detection an answer was made with: SCRFD's square input sizes, merged by one NMS when several. */
export const detSizesSchema = {
  type: 'array', items: { type: 'integer' },
  description: 'the detector sizes in force ([128, 640]: InsightFace 1.0\'s Auto; [640]: InsightFace 0.7.3\'s single pass)',
} as const;

/** ?detSizes=128,640 on the routes that detect. */
export const detSizesQuery = {
  type: 'string', pattern: '^\\d+(,\\d+){0,3}$',
  description: 'detector sizes, comma-separated (multiples of 32, 32–2048, at most 4); default: the gallery\'s',
} as const;

/** GET /v1/threshold: the threshold in force without a request's own. */
export const thresholdSchema = {
  type: 'object', required: ['threshold', 'thresholdSource', 'basis'],
  properties: { threshold: { type: 'number' }, thresholdSource, basis: { type: 'string' }, detSizes: detSizesSchema, maxDistance: { type: 'number', description: 'the clustering default: 1 − threshold' } },
} as const;

const match = { type: 'object', properties: { subjectId: { type: 'string' }, name: { type: 'string' }, score: { type: 'number' } } } as const;

export const verificationSchema = {
  type: 'object',
  required: ['score', 'threshold', 'thresholdSource', 'same', 'margin', 'basis'],
  properties: {
    score: { type: 'number', description: 'cosine similarity' }, threshold: { type: 'number' }, thresholdSource, basis: { type: 'string' },
    same: { type: 'boolean' }, margin: { type: 'number', description: 'score − threshold' }, subject: subjectSchema, detSizes: detSizesSchema,
  },
} as const;

export const identifySchema = {
  type: 'object',
  properties: {
    detSizes: detSizesSchema,
    faces: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          face: faceSchema,
          subject: { anyOf: [match, { type: 'null' }], description: 'best subject at or above the threshold, else null (unknown)' },
          candidates: { type: 'array', items: match },
          threshold: { type: 'number' },
          thresholdSource,
          basis: { type: 'string', description: 'where the threshold came from, in words' },
        },
      },
    },
  },
} as const;

const reviewPart = {
  type: 'object',
  properties: { name: { type: 'string', enum: ['sharpness', 'brightness', 'contrast', 'size', 'score', 'pose'] }, value: { type: 'number' }, min: { type: 'number' }, max: { type: 'number' }, ok: { type: 'boolean' } },
} as const;

export const enrollSchema = {
  type: 'object',
  properties: {
    subject: subjectSchema,
    accepted: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, faceId: { type: 'string' }, quality: { type: 'number', description: 'the review\'s quality, 0–1 (absent with review off)' } } } },
    refused: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          source: { type: 'string' },
          reason: { type: 'string', description: 'NO_FACE, MULTIPLE_FACES, LOW_SCORE, TOO_SMALL, POSE, LOW_QUALITY, MISLABELLED, DUPLICATE_IMAGE, or the image\'s error code' },
          message: { type: 'string' },
          review: { type: 'object', description: 'LOW_QUALITY: every part with its value and limit', properties: { quality: { type: 'number' }, ok: { type: 'boolean' }, parts: { type: 'array', items: reviewPart } } },
          matches: {
            type: 'object', description: 'MISLABELLED: the person it was enrolled to (score null: new) and the one it matches better',
            properties: { claimed: { type: 'object', properties: { name: { type: 'string' }, score: { type: ['number', 'null'] } } }, closest: { type: 'object', properties: { name: { type: 'string' }, score: { type: 'number' } } } },
          },
        },
      },
    },
  },
} as const;

const clusterList = {
  clusters: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        id: { type: 'string' }, size: { type: 'integer' },
        faces: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, source: { type: 'string' }, bbox: box } } },
      },
    },
  },
  unclustered: { type: 'integer', description: 'faces not (yet) in any cluster' },
} as const;

export const clustersSchema = { type: 'object', properties: { ...clusterList, nextCursor: { type: ['string', 'null'] } } } as const;
export const clusterReportSchema = {
  type: 'object',
  properties: { ...clusterList, maxDistance: { type: 'number' }, minFaces: { type: 'integer' }, newlyAssigned: { type: 'integer' } },
} as const;

/** The image part of a request, for the document (images are read by readImages, not by the validator). */
export function imageBody(fields: string, description: string): Record<string, unknown> {
  const image = { type: 'string', description: 'base64 (a data: URL too), or {"base64": …} / {"url": …} (URL only where enabled)' };
  return {
    description,
    content: {
      'multipart/form-data': { schema: { type: 'object', properties: Object.fromEntries(fields.split(',').map((f) => [f, { type: 'string', format: 'binary' }])) } },
      'application/json': { schema: { type: 'object', properties: Object.fromEntries(fields.split(',').map((f) => [f, f === 'images' ? { type: 'array', items: image } : image])) } },
      'image/*': { schema: { type: 'string', format: 'binary' } },
    },
  };
}

export const errorResponses = {
  400: { description: 'bad input', ...errorSchema },
  401: { description: 'no key, or an unknown or revoked one', ...errorSchema },
  403: { description: 'the key lacks the scope', ...errorSchema },
  413: { description: 'body, file or image too large', ...errorSchema },
  415: { description: 'unsupported content type or image format', ...errorSchema },
  429: { description: 'rate limit of the key', ...errorSchema },
  503: { description: 'past capacity (Retry-After) or shutting down', ...errorSchema },
} as const;
