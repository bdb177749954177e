;; Int8 dot-product scan for the exact gallery search.
;; Rows are int8 codes of length `stride` (a multiple of 16, zero padded); the query is pre-widened to int16 so
;; each 16 codes cost two sign-extends and two i32x4.dot_i16x8_s (pmaddwd on x86). Four rows are scored per pass
;; so eight independent accumulators hide the multiply-add latency and each query load serves four rows.
;; out[r] = dot(codes[r], query) * scales[r] for r in [from, to).
;; The memory declaration is replaced by the build script: one variant imports a shared memory (worker threads),
;; one not.
(module
  (import "env" "memory" MEMORY_DECL)

  ;; horizontal sum of two i32x4 accumulators, times the row's scale, stored to out[row]
  (func $finish (param $a v128) (param $b v128) (param $scales i32) (param $out i32) (param $row i32)
    (local $s v128)
    (local.set $s (i32x4.add (local.get $a) (local.get $b)))
    (f32.store
      (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 2)))
      (f32.mul
        (f32.convert_i32_s
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
            (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))
        (f32.load (i32.add (local.get $scales) (i32.shl (local.get $row) (i32.const 2)))))))

  (func (export "scan")
    (param $query i32) (param $codes i32) (param $scales i32) (param $out i32)
    (param $from i32) (param $to i32) (param $stride i32)
    (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $ql v128) (local $qh v128) (local $v v128)
    (local $a0l v128) (local $a0h v128) (local $a1l v128) (local $a1h v128) (local $a2l v128) (local $a2h v128) (local $a3l v128) (local $a3h v128)
    (local.set $row (local.get $from))
    ;; blocks of four rows
    (block $done4
      (loop $rows4
        (br_if $done4 (i32.gt_u (i32.add (local.get $row) (i32.const 4)) (local.get $to)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (local.get $stride)))
        (local.set $q (local.get $query))
        (local.set $a0l (v128.const i32x4 0 0 0 0))
        (local.set $a0h (v128.const i32x4 0 0 0 0))
        (local.set $a1l (v128.const i32x4 0 0 0 0))
        (local.set $a1h (v128.const i32x4 0 0 0 0))
        (local.set $a2l (v128.const i32x4 0 0 0 0))
        (local.set $a2h (v128.const i32x4 0 0 0 0))
        (local.set $a3l (v128.const i32x4 0 0 0 0))
        (local.set $a3h (v128.const i32x4 0 0 0 0))
        (loop $cols4
          (local.set $ql (v128.load (local.get $q)))
          (local.set $qh (v128.load offset=16 (local.get $q)))
          (local.set $v (v128.load (local.get $p)))
          (local.set $a0l (i32x4.add (local.get $a0l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a0h (i32x4.add (local.get $a0h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 1)))))
          (local.set $a1l (i32x4.add (local.get $a1l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a1h (i32x4.add (local.get $a1h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 2)))))
          (local.set $a2l (i32x4.add (local.get $a2l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a2h (i32x4.add (local.get $a2h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3)))))
          (local.set $a3l (i32x4.add (local.get $a3l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a3h (i32x4.add (local.get $a3h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $cols4 (i32.lt_u (local.get $p) (local.get $end))))
        (call $finish (local.get $a0l) (local.get $a0h) (local.get $scales) (local.get $out) (i32.add (local.get $row) (i32.const 0)))
        (call $finish (local.get $a1l) (local.get $a1h) (local.get $scales) (local.get $out) (i32.add (local.get $row) (i32.const 1)))
        (call $finish (local.get $a2l) (local.get $a2h) (local.get $scales) (local.get $out) (i32.add (local.get $row) (i32.const 2)))
        (call $finish (local.get $a3l) (local.get $a3h) (local.get $scales) (local.get $out) (i32.add (local.get $row) (i32.const 3)))
        (local.set $row (i32.add (local.get $row) (i32.const 4)))
        (br $rows4)))
    ;; the remaining 0-3 rows, one at a time
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $to)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (local.get $stride)))
        (local.set $q (local.get $query))
        (local.set $a0l (v128.const i32x4 0 0 0 0))
        (local.set $a0h (v128.const i32x4 0 0 0 0))
        (loop $cols
          (local.set $v (v128.load (local.get $p)))
          (local.set $a0l (i32x4.add (local.get $a0l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $q)))))
          (local.set $a0h (i32x4.add (local.get $a0h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $q)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $cols (i32.lt_u (local.get $p) (local.get $end))))
        (call $finish (local.get $a0l) (local.get $a0h) (local.get $scales) (local.get $out) (local.get $row))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; 1-bit sketch scan (the fast first stage): rows are sign bits of the rotated vector (`stride` bytes, a multiple
  ;; of 16, at most 256 so the byte counters cannot overflow); the query is four bit-planes of its 4-bit
  ;; quantization, plane j at planes + j·stride. raw = Σ_j 2^j · popcount(row & plane_j) = Σ_{bits set} u_i; then
  ;; out[r] = (a·raw + b·pop_r + c) · invf_r with factors[r] = (pop_r, invf_r) as two f32.
  (func (export "sketch")
    (param $planes i32) (param $codes i32) (param $factors i32) (param $out i32)
    (param $from i32) (param $to i32) (param $stride i32)
    (param $a f32) (param $b f32) (param $c f32)
    (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $v v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $s v128) (local $f i32) (local $raw i32)
    (local.set $row (local.get $from))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $to)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (local.get $stride)))
        (local.set $q (local.get $planes))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0))
        (loop $cols
          (local.set $v (v128.load (local.get $p)))
          (local.set $c0 (i8x16.add (local.get $c0) (i8x16.popcnt (v128.and (local.get $v) (v128.load (local.get $q))))))
          (local.set $c1 (i8x16.add (local.get $c1) (i8x16.popcnt (v128.and (local.get $v) (v128.load (i32.add (local.get $q) (local.get $stride)))))))
          (local.set $c2 (i8x16.add (local.get $c2) (i8x16.popcnt (v128.and (local.get $v) (v128.load (i32.add (local.get $q) (i32.shl (local.get $stride) (i32.const 1))))))))
          (local.set $c3 (i8x16.add (local.get $c3) (i8x16.popcnt (v128.and (local.get $v) (v128.load (i32.add (local.get $q) (i32.mul (local.get $stride) (i32.const 3))))))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br_if $cols (i32.lt_u (local.get $p) (local.get $end))))
        ;; weight the planes in 16-bit lanes (≤ 256·15), then sum the lanes
        (local.set $s (i16x8.extadd_pairwise_i8x16_u (local.get $c0)))
        (local.set $s (i16x8.add (local.get $s) (i16x8.shl (i16x8.extadd_pairwise_i8x16_u (local.get $c1)) (i32.const 1))))
        (local.set $s (i16x8.add (local.get $s) (i16x8.shl (i16x8.extadd_pairwise_i8x16_u (local.get $c2)) (i32.const 2))))
        (local.set $s (i16x8.add (local.get $s) (i16x8.shl (i16x8.extadd_pairwise_i8x16_u (local.get $c3)) (i32.const 3))))
        (local.set $s (i32x4.extadd_pairwise_i16x8_u (local.get $s)))
        (local.set $raw
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
            (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))
        (local.set $f (i32.add (local.get $factors) (i32.shl (local.get $row) (i32.const 3))))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 2)))
          (f32.mul
            (f32.add
              (f32.add (f32.mul (local.get $a) (f32.convert_i32_u (local.get $raw))) (f32.mul (local.get $b) (f32.load (local.get $f))))
              (local.get $c))
            (f32.load offset=4 (local.get $f))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))
)
