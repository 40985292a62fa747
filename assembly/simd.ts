// a·b + c per lane. The package builds this module twice: with relaxed SIMD it is a single FMA
// instruction (twice the throughput of mul+add on x86), without it the exact mul+add.
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
