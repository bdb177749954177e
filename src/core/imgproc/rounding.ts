/** cvRound: round half to even (lrint in the default FP mode). Math.round rounds halves up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}
