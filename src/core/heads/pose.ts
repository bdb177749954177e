import type { Pose } from './head.js';

/**
 * InsightFace's mean 3-D face shape for 68 landmarks (python-package data/objects/meanshape_68.pkl, MIT licence),
 * the float32 values row by row (x, y, z): the pose is the rotation that best maps it onto a face's landmark3d68.
 */
export const MEANSHAPE_68: Float32Array = Float32Array.from([
  -0.62669504, -0.2926997, -0.31400186,
  -0.5996649, -0.12250272, -0.29244095,
  -0.5710261, 0.0511874, -0.2549465,
  -0.5338567, 0.21284838, -0.18663338,
  -0.47973323, 0.35064596, -0.047699932,
  -0.39575565, 0.44651166, 0.07328663,
  -0.29880843, 0.5106606, 0.17977794,
  -0.18838681, 0.55444044, 0.31666005,
  0.0014708323, 0.5844392, 0.38841578,
  0.19099054, 0.5517071, 0.31433114,
  0.32692856, 0.48957568, 0.16839953,
  0.44002613, 0.402358, 0.03596243,
  0.50687873, 0.31162494, -0.094760634,
  0.5408946, 0.20452619, -0.20267142,
  0.57411844, 0.045703296, -0.2841765,
  0.59914166, -0.14585932, -0.29649565,
  0.6275436, -0.30774805, -0.30199483,
  -0.47466812, -0.43760464, 0.2364871,
  -0.41665992, -0.471756, 0.31599256,
  -0.3475388, -0.48407802, 0.36611354,
  -0.26063988, -0.476391, 0.39923173,
  -0.16712302, -0.45777544, 0.4166092,
  0.12317404, -0.45874012, 0.42506194,
  0.20636158, -0.48041934, 0.4157839,
  0.28667304, -0.4901494, 0.39195377,
  0.36239693, -0.47686017, 0.3527863,
  0.42556816, -0.45005804, 0.29531878,
  -0.0076279375, -0.32308865, 0.46194378,
  -0.007876847, -0.25573877, 0.51046944,
  -0.0076875454, -0.1991799, 0.55254567,
  -0.0073451204, -0.14261691, 0.5986667,
  -0.14496188, 0.03312694, 0.419691,
  -0.08434254, 0.031273607, 0.4731741,
  -0.0054996856, 0.03975145, 0.5146696,
  0.06346293, 0.046135165, 0.47922406,
  0.13398391, 0.022040257, 0.41907868,
  -0.38675082, -0.31339756, 0.25963187,
  -0.3166608, -0.3500716, 0.328527,
  -0.23413791, -0.35491428, 0.33349338,
  -0.15516235, -0.31524932, 0.3143281,
  -0.23092176, -0.2842704, 0.32558286,
  -0.31750903, -0.28516537, 0.30988252,
  0.13895708, -0.30982405, 0.3182836,
  0.21945593, -0.35319215, 0.3380276,
  0.30174652, -0.3496651, 0.3331023,
  0.37665316, -0.31351814, 0.26322857,
  0.2966948, -0.28714398, 0.32201305,
  0.21462442, -0.29052764, 0.3312418,
  -0.20143844, 0.23736143, 0.37953663,
  -0.13732077, 0.18578564, 0.46525246,
  -0.07648587, 0.15119343, 0.5035717,
  -0.0025358852, 0.168727, 0.51643765,
  0.06442103, 0.1508802, 0.5045241,
  0.1264653, 0.17947596, 0.46859166,
  0.21824785, 0.23899227, 0.37567368,
  0.1328826, 0.2839284, 0.4400509,
  0.06802233, 0.2973543, 0.47740418,
  -0.0004690653, 0.3000407, 0.48710942,
  -0.06934267, 0.2969686, 0.48054048,
  -0.14252016, 0.27430332, 0.4380802,
  -0.17813474, 0.23059049, 0.39635897,
  -0.07403064, 0.21471879, 0.46532628,
  -0.0026362243, 0.21414155, 0.4832296,
  0.059816167, 0.21076396, 0.4722441,
  0.16690002, 0.231271, 0.396789,
  0.059809282, 0.22376429, 0.46641338,
  -0.0014343614, 0.22575909, 0.47524396,
  -0.07522077, 0.23065609, 0.46714753,
]);

/**
 * Head pose from 68 3-D landmarks, as InsightFace computes it: the float64 least-squares affine map from the
 * homogeneous mean shape to the landmarks (transform.estimate_affine_matrix_3d23d), its first two rows normalised
 * and crossed into a rotation (P2sRt), Euler angles in degrees (matrix2angle), cast to float32. The landmarks' z
 * does not enter it. The normal equations give the same float32 angles as numpy's lstsq on every reference face.
 */
export function poseFromLandmarks3d68(landmarks: readonly (readonly number[])[]): Pose {
  // Normal equations of the 68×4 system [meanshape | 1]·Q = landmarks: (4×4)·Q = 4×3, Q = Pᵀ.
  const a = new Float64Array(16);
  const b = new Float64Array(12);
  const row = new Float64Array(4);
  for (let i = 0; i < 68; i++) {
    row[0] = MEANSHAPE_68[3 * i];
    row[1] = MEANSHAPE_68[3 * i + 1];
    row[2] = MEANSHAPE_68[3 * i + 2];
    row[3] = 1;
    const y = landmarks[i];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) a[r * 4 + c] += row[r] * row[c];
      for (let c = 0; c < 3; c++) b[r * 3 + c] += row[r] * y[c];
    }
  }
  const q = solve4x3(a, b); // column j of q is row j of the 3×4 affine P
  const r1 = unit(q[0], q[3], q[6]);
  const r2 = unit(q[1], q[4], q[7]);
  const r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
  const sy = Math.sqrt(r1[0] * r1[0] + r2[0] * r2[0]);
  const [x, y, z] = sy >= 1e-6
    ? [Math.atan2(r3[1], r3[2]), Math.atan2(-r3[0], sy), Math.atan2(r2[0], r1[0])]
    : [Math.atan2(-r2[2], r2[1]), Math.atan2(-r3[0], sy), 0];
  const degrees = (v: number) => Math.fround((v * 180) / Math.PI);
  return { pitch: degrees(x), yaw: degrees(y), roll: degrees(z) };
}

function unit(x: number, y: number, z: number): [number, number, number] {
  const n = Math.sqrt(x * x + y * y + z * z);
  return [x / n, y / n, z / n];
}

/** Solves A·X = B (A 4×4, B 4×3, row-major) by Gaussian elimination with partial pivoting, as LAPACK's gesv. */
function solve4x3(a: Float64Array, b: Float64Array): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let k = 0; k < 4; k++) {
    let pivot = k;
    for (let r = k + 1; r < 4; r++) if (Math.abs(m[r * 4 + k]) > Math.abs(m[pivot * 4 + k])) pivot = r;
    if (pivot !== k) {
      for (let c = 0; c < 4; c++) [m[k * 4 + c], m[pivot * 4 + c]] = [m[pivot * 4 + c], m[k * 4 + c]];
      for (let c = 0; c < 3; c++) [x[k * 3 + c], x[pivot * 3 + c]] = [x[pivot * 3 + c], x[k * 3 + c]];
    }
    for (let r = k + 1; r < 4; r++) {
      const f = m[r * 4 + k] / m[k * 4 + k];
      for (let c = k; c < 4; c++) m[r * 4 + c] -= f * m[k * 4 + c];
      for (let c = 0; c < 3; c++) x[r * 3 + c] -= f * x[k * 3 + c];
    }
  }
  for (let k = 3; k >= 0; k--) {
    for (let c = 0; c < 3; c++) {
      let v = x[k * 3 + c];
      for (let j = k + 1; j < 4; j++) v -= m[k * 4 + j] * x[j * 3 + c];
      x[k * 3 + c] = v / m[k * 4 + k];
    }
  }
  return x;
}
