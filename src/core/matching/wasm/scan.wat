;; Int8 dot-product scan for the exact gallery search.
;; Rows are int8 codes of length `stride` (a multiple of 16, zero padded); the query is pre-widened to int16 so
;; each 16 codes cost two sign-extends and two i32x4.dot_i16x8_s (pmaddwd on x86). Four rows are scored per pass
;; so eight independent accumulators hide the multiply-add latency and each query load serves four rows.
;; out[r] = dot(codes[r], query) * scales[r] for r in [from, to).
;; The memory declaration is replaced by the build script: one variant imports a shared memory (worker threads),
;; one not.
(module
  (import "env" "memory" MEMORY_DECL)

  ;; horizontal sum of two i32x4 accumulators, times the scale of `row`, stored to out[slot]
  (func $finish (param $a v128) (param $b v128) (param $scales i32) (param $row i32) (param $out i32) (param $slot i32)
    (local $s v128)
    (local.set $s (i32x4.add (local.get $a) (local.get $b)))
    (f32.store
      (i32.add (local.get $out) (i32.shl (local.get $slot) (i32.const 2)))
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
        (call $finish (local.get $a0l) (local.get $a0h) (local.get $scales) (i32.add (local.get $row) (i32.const 0)) (local.get $out) (i32.add (local.get $row) (i32.const 0)))
        (call $finish (local.get $a1l) (local.get $a1h) (local.get $scales) (i32.add (local.get $row) (i32.const 1)) (local.get $out) (i32.add (local.get $row) (i32.const 1)))
        (call $finish (local.get $a2l) (local.get $a2h) (local.get $scales) (i32.add (local.get $row) (i32.const 2)) (local.get $out) (i32.add (local.get $row) (i32.const 2)))
        (call $finish (local.get $a3l) (local.get $a3h) (local.get $scales) (i32.add (local.get $row) (i32.const 3)) (local.get $out) (i32.add (local.get $row) (i32.const 3)))
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
        (call $finish (local.get $a0l) (local.get $a0h) (local.get $scales) (local.get $row) (local.get $out) (local.get $row))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; int8 score of one row: dot(codes[row], query) · scales[row]
  (func $rowScore (param $query i32) (param $codes i32) (param $scales i32) (param $row i32) (param $stride i32) (result f32)
    (local $p i32) (local $q i32) (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $s v128)
    (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
    (local.set $end (i32.add (local.get $p) (local.get $stride)))
    (local.set $q (local.get $query))
    (loop $cols
      (local.set $v (v128.load (local.get $p)))
      (local.set $lo (i32x4.add (local.get $lo) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $q)))))
      (local.set $hi (i32x4.add (local.get $hi) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $q)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $q (i32.add (local.get $q) (i32.const 32)))
      (br_if $cols (i32.lt_u (local.get $p) (local.get $end))))
    (local.set $s (i32x4.add (local.get $lo) (local.get $hi)))
    (f32.mul
      (f32.convert_i32_s
        (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
          (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))
      (f32.load (i32.add (local.get $scales) (i32.shl (local.get $row) (i32.const 2))))))

  ;; int8 scores of listed rows: out[i] = dot(codes[list[i]], query) · scales[list[i]] for i in [from, to) (the
  ;; sketch stage's candidates, scattered over the codes: one call instead of one per row). Four rows at a time,
  ;; so four rows' cache misses are in flight together.
  (func (export "gather")
    (param $query i32) (param $codes i32) (param $scales i32) (param $out i32)
    (param $list i32) (param $from i32) (param $to i32) (param $stride i32)
    (local $i i32) (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $q i32) (local $k i32)
    (local $ql v128) (local $qh v128) (local $v v128)
    (local $a0l v128) (local $a0h v128) (local $a1l v128) (local $a1h v128) (local $a2l v128) (local $a2h v128) (local $a3l v128) (local $a3h v128)
    (local.set $i (local.get $from))
    (block $done4
      (loop $rows4
        (br_if $done4 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $to)))
        (local.set $r0 (i32.load (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $r1 (i32.load offset=4 (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $r2 (i32.load offset=8 (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $r3 (i32.load offset=12 (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p0 (i32.add (local.get $codes) (i32.mul (local.get $r0) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $codes) (i32.mul (local.get $r1) (local.get $stride))))
        (local.set $p2 (i32.add (local.get $codes) (i32.mul (local.get $r2) (local.get $stride))))
        (local.set $p3 (i32.add (local.get $codes) (i32.mul (local.get $r3) (local.get $stride))))
        (local.set $q (local.get $query))
        (local.set $k (i32.const 0))
        (local.set $a0l (v128.const i32x4 0 0 0 0))
        (local.set $a0h (v128.const i32x4 0 0 0 0))
        (local.set $a1l (v128.const i32x4 0 0 0 0))
        (local.set $a1h (v128.const i32x4 0 0 0 0))
        (local.set $a2l (v128.const i32x4 0 0 0 0))
        (local.set $a2h (v128.const i32x4 0 0 0 0))
        (local.set $a3l (v128.const i32x4 0 0 0 0))
        (local.set $a3h (v128.const i32x4 0 0 0 0))
        (loop $cols
          (local.set $ql (v128.load (local.get $q)))
          (local.set $qh (v128.load offset=16 (local.get $q)))
          (local.set $v (v128.load (i32.add (local.get $p0) (local.get $k))))
          (local.set $a0l (i32x4.add (local.get $a0l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a0h (i32x4.add (local.get $a0h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p1) (local.get $k))))
          (local.set $a1l (i32x4.add (local.get $a1l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a1h (i32x4.add (local.get $a1h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p2) (local.get $k))))
          (local.set $a2l (i32x4.add (local.get $a2l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a2h (i32x4.add (local.get $a2h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $v (v128.load (i32.add (local.get $p3) (local.get $k))))
          (local.set $a3l (i32x4.add (local.get $a3l) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $ql))))
          (local.set $a3h (i32x4.add (local.get $a3h) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $qh))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $cols (i32.lt_u (local.get $k) (local.get $stride))))
        (call $finish (local.get $a0l) (local.get $a0h) (local.get $scales) (local.get $r0) (local.get $out) (local.get $i))
        (call $finish (local.get $a1l) (local.get $a1h) (local.get $scales) (local.get $r1) (local.get $out) (i32.add (local.get $i) (i32.const 1)))
        (call $finish (local.get $a2l) (local.get $a2h) (local.get $scales) (local.get $r2) (local.get $out) (i32.add (local.get $i) (i32.const 2)))
        (call $finish (local.get $a3l) (local.get $a3h) (local.get $scales) (local.get $r3) (local.get $out) (i32.add (local.get $i) (i32.const 3)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows4)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $r0 (i32.load (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (call $rowScore (local.get $query) (local.get $codes) (local.get $scales) (local.get $r0) (local.get $stride)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Upper bounds of 4 rows from their raw sums (i32 lanes of $raw): the estimate (a·raw + b·pop + c) · invF plus
  ;; eps · √(var + (rs · invF)²), the row's own error (var) and the query's rounding (rs), in quadrature. The
  ;; factors of a 16-row block are 16 f32 pops, 16 inverse factors, 16 variances.
  (func $estimate4 (param $raw v128) (param $f i32) (param $o i32) (param $a v128) (param $b v128) (param $c v128) (param $eps v128) (param $rs v128)
    (local $invF v128) (local $r v128)
    (local.set $invF (v128.load offset=64 (local.get $f)))
    (local.set $r (f32x4.mul (local.get $rs) (local.get $invF)))
    (v128.store (local.get $o)
      (f32x4.add
        (f32x4.mul
          (f32x4.add
            (f32x4.add (f32x4.mul (local.get $a) (f32x4.convert_i32x4_u (local.get $raw)))
                       (f32x4.mul (local.get $b) (v128.load (local.get $f))))
            (local.get $c))
          (local.get $invF))
        (f32x4.mul (local.get $eps)
          (f32x4.sqrt (f32x4.add (v128.load offset=128 (local.get $f)) (f32x4.mul (local.get $r) (local.get $r))))))))

  ;; 1-bit sketch scan (the fast first stage), in blocks of 16 rows laid out transposed: byte j of row l of a
  ;; block is at block + 16·j + l, so one 16-byte load holds bits 8j..8j+7 of 16 rows. Each nibble of it indexes a
  ;; 16-entry table of the query (luts + 16·m for nibble m: the sum of the query's 4-bit codes over the bits set
  ;; in the nibble), so one swizzle scores 16 rows for 4 bits. A table entry is ≤ 60, so four nibbles (two bytes)
  ;; sum in 8-bit lanes (≤ 240); those are added to 16-bit lanes as pairs (even row + 256 · odd row) and, shifted,
  ;; as odd rows alone, which recovers both without widening every step. raw ≤ 30,720 for 2048 bits: 16-bit lanes
  ;; hold it. `from` is a multiple of 16; rows are scored in whole blocks up to the first multiple of 16 at or after
  ;; `to` (the memory past the last row is zero). out[row] = the row's upper bound (the estimate when eps = 0).
  (func (export "sketch")
    (param $luts i32) (param $codes i32) (param $factors i32) (param $out i32)
    (param $from i32) (param $to i32) (param $stride i32)
    (param $a f32) (param $b f32) (param $c f32) (param $eps f32) (param $rs f32)
    (local $row i32) (local $p i32) (local $l i32) (local $end i32) (local $v v128) (local $w v128) (local $s v128)
    (local $pairs v128) (local $odd v128) (local $even v128) (local $m v128) (local $f i32) (local $o i32)
    (local $va v128) (local $vb v128) (local $vc v128) (local $r v128) (local $veps v128) (local $vrs v128)
    (local.set $m (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vrs (f32x4.splat (local.get $rs)))
    (local.set $row (local.get $from))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $row) (local.get $to)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 4))))
        (local.set $l (local.get $luts))
        (local.set $pairs (v128.const i32x4 0 0 0 0))
        (local.set $odd (v128.const i32x4 0 0 0 0))
        (loop $bytes
          (local.set $v (v128.load (local.get $p)))
          (local.set $w (v128.load offset=16 (local.get $p)))
          (local.set $s
            (i8x16.add
              (i8x16.add
                (i8x16.swizzle (v128.load (local.get $l)) (v128.and (local.get $v) (local.get $m)))
                (i8x16.swizzle (v128.load offset=16 (local.get $l)) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m))))
              (i8x16.add
                (i8x16.swizzle (v128.load offset=32 (local.get $l)) (v128.and (local.get $w) (local.get $m)))
                (i8x16.swizzle (v128.load offset=48 (local.get $l)) (v128.and (i16x8.shr_u (local.get $w) (i32.const 4)) (local.get $m))))))
          (local.set $pairs (i16x8.add (local.get $pairs) (local.get $s)))
          (local.set $odd (i16x8.add (local.get $odd) (i16x8.shr_u (local.get $s) (i32.const 8))))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $l (i32.add (local.get $l) (i32.const 64)))
          (br_if $bytes (i32.lt_u (local.get $p) (local.get $end))))
        ;; even rows = pairs − 256 · odd (mod 2^16, exact since each sum < 2^16); interleave back to row order
        (local.set $even (i16x8.sub (local.get $pairs) (i16x8.shl (local.get $odd) (i32.const 8))))
        (local.set $f (i32.add (local.get $factors) (i32.mul (local.get $row) (i32.const 12))))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 2))))
        (local.set $r (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $even) (local.get $odd)))
        (call $estimate4 (i32x4.extend_low_i16x8_u (local.get $r)) (local.get $f) (local.get $o) (local.get $va) (local.get $vb) (local.get $vc) (local.get $veps) (local.get $vrs))
        (call $estimate4 (i32x4.extend_high_i16x8_u (local.get $r)) (i32.add (local.get $f) (i32.const 16)) (i32.add (local.get $o) (i32.const 16)) (local.get $va) (local.get $vb) (local.get $vc) (local.get $veps) (local.get $vrs))
        (local.set $r (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $even) (local.get $odd)))
        (call $estimate4 (i32x4.extend_low_i16x8_u (local.get $r)) (i32.add (local.get $f) (i32.const 32)) (i32.add (local.get $o) (i32.const 32)) (local.get $va) (local.get $vb) (local.get $vc) (local.get $veps) (local.get $vrs))
        (call $estimate4 (i32x4.extend_high_i16x8_u (local.get $r)) (i32.add (local.get $f) (i32.const 48)) (i32.add (local.get $o) (i32.const 48)) (local.get $va) (local.get $vb) (local.get $vc) (local.get $veps) (local.get $vrs))
        (local.set $row (i32.add (local.get $row) (i32.const 16)))
        (br $blocks))))

  ;; Rows in [from, to) whose score is ≥ cut: their numbers written to list, their count returned (the sketch
  ;; stage's candidates, without a pass over every estimate in JavaScript).
  (func (export "select") (param $scores i32) (param $from i32) (param $to i32) (param $cut f32) (param $list i32) (result i32)
    (local $row i32) (local $n i32) (local $mask i32) (local $vcut v128) (local $end4 i32)
    (local.set $vcut (f32x4.splat (local.get $cut)))
    (local.set $row (local.get $from))
    (local.set $end4 (i32.and (local.get $to) (i32.const -4)))
    (block $done4
      (loop $quads
        (br_if $done4 (i32.ge_u (local.get $row) (local.get $end4)))
        (local.set $mask (i32x4.bitmask (f32x4.ge (v128.load (i32.add (local.get $scores) (i32.shl (local.get $row) (i32.const 2)))) (local.get $vcut))))
        (block $none
          (br_if $none (i32.eqz (local.get $mask)))
          (loop $bits
            (i32.store (i32.add (local.get $list) (i32.shl (local.get $n) (i32.const 2))) (i32.add (local.get $row) (i32.ctz (local.get $mask))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            (br_if $bits (local.get $mask))))
        (local.set $row (i32.add (local.get $row) (i32.const 4)))
        (br $quads)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $row) (local.get $to)))
        (if (f32.ge (f32.load (i32.add (local.get $scores) (i32.shl (local.get $row) (i32.const 2)))) (local.get $cut))
          (then
            (i32.store (i32.add (local.get $list) (i32.shl (local.get $n) (i32.const 2))) (local.get $row))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rest)))
    (local.get $n))
)
