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

  ;; int8 scores of listed rows: out[i] = dot(codes[list[i]], query) · scales[list[i]] for i in [0, n) (the
  ;; sketch stage's candidates, scattered over the codes: one call instead of one per row).
  (func (export "gather")
    (param $query i32) (param $codes i32) (param $scales i32) (param $out i32)
    (param $list i32) (param $n i32) (param $stride i32)
    (local $i i32) (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $s v128)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $row (i32.load (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (local.get $stride)))
        (local.set $q (local.get $query))
        (local.set $lo (v128.const i32x4 0 0 0 0))
        (local.set $hi (v128.const i32x4 0 0 0 0))
        (loop $cols
          (local.set $v (v128.load (local.get $p)))
          (local.set $lo (i32x4.add (local.get $lo) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $q)))))
          (local.set $hi (i32x4.add (local.get $hi) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $q)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $cols (i32.lt_u (local.get $p) (local.get $end))))
        (local.set $s (i32x4.add (local.get $lo) (local.get $hi)))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.mul
            (f32.convert_i32_s
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
                (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))
            (f32.load (i32.add (local.get $scales) (i32.shl (local.get $row) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; out[row] = (a·raw + b·pop + c) · invF, with factors[row] = (pop, invF) as two f32
  (func $estimate (param $raw i32) (param $row i32) (param $factors i32) (param $out i32) (param $a f32) (param $b f32) (param $c f32)
    (local $f i32)
    (local.set $f (i32.add (local.get $factors) (i32.shl (local.get $row) (i32.const 3))))
    (f32.store
      (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 2)))
      (f32.mul
        (f32.add
          (f32.add (f32.mul (local.get $a) (f32.convert_i32_u (local.get $raw))) (f32.mul (local.get $b) (f32.load (local.get $f))))
          (local.get $c))
        (f32.load offset=4 (local.get $f)))))

  ;; 1-bit sketch scan (the fast first stage), in blocks of 16 rows laid out transposed: byte j of row l of a
  ;; block is at block + 16·j + l, so one 16-byte load holds bits 8j..8j+7 of 16 rows. Each nibble of it indexes a
  ;; 16-entry table of the query (luts + 16·m for nibble m: the sum of the query's 4-bit codes over the bits set
  ;; in the nibble), so one swizzle scores 16 rows for 4 bits. raw = Σ over the row's set bits of the query codes
  ;; (≤ 60 per nibble, ≤ 30720 for 2048 bits: 16-bit lanes hold it). `from` is a multiple of 16; rows are scored
  ;; in whole blocks up to the first multiple of 16 at or after `to` (the memory past the last row is zero).
  (func (export "sketch")
    (param $luts i32) (param $codes i32) (param $factors i32) (param $out i32)
    (param $from i32) (param $to i32) (param $stride i32)
    (param $a f32) (param $b f32) (param $c f32)
    (local $row i32) (local $p i32) (local $l i32) (local $end i32) (local $v v128) (local $s v128)
    (local $lo v128) (local $hi v128)
    (local.set $row (local.get $from))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $row) (local.get $to)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 4))))
        (local.set $l (local.get $luts))
        (local.set $lo (v128.const i32x4 0 0 0 0))
        (local.set $hi (v128.const i32x4 0 0 0 0))
        (loop $bytes
          (local.set $v (v128.load (local.get $p)))
          (local.set $s
            (i8x16.add
              (i8x16.swizzle (v128.load (local.get $l)) (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
              (i8x16.swizzle (v128.load offset=16 (local.get $l)) (i8x16.shr_u (local.get $v) (i32.const 4)))))
          (local.set $lo (i16x8.add (local.get $lo) (i16x8.extend_low_i8x16_u (local.get $s))))
          (local.set $hi (i16x8.add (local.get $hi) (i16x8.extend_high_i8x16_u (local.get $s))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $l (i32.add (local.get $l) (i32.const 32)))
          (br_if $bytes (i32.lt_u (local.get $p) (local.get $end))))
        (call $estimate (i16x8.extract_lane_u 0 (local.get $lo)) (i32.add (local.get $row) (i32.const 0)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 1 (local.get $lo)) (i32.add (local.get $row) (i32.const 1)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 2 (local.get $lo)) (i32.add (local.get $row) (i32.const 2)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 3 (local.get $lo)) (i32.add (local.get $row) (i32.const 3)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 4 (local.get $lo)) (i32.add (local.get $row) (i32.const 4)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 5 (local.get $lo)) (i32.add (local.get $row) (i32.const 5)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 6 (local.get $lo)) (i32.add (local.get $row) (i32.const 6)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 7 (local.get $lo)) (i32.add (local.get $row) (i32.const 7)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 0 (local.get $hi)) (i32.add (local.get $row) (i32.const 8)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 1 (local.get $hi)) (i32.add (local.get $row) (i32.const 9)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 2 (local.get $hi)) (i32.add (local.get $row) (i32.const 10)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 3 (local.get $hi)) (i32.add (local.get $row) (i32.const 11)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 4 (local.get $hi)) (i32.add (local.get $row) (i32.const 12)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 5 (local.get $hi)) (i32.add (local.get $row) (i32.const 13)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 6 (local.get $hi)) (i32.add (local.get $row) (i32.const 14)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (call $estimate (i16x8.extract_lane_u 7 (local.get $hi)) (i32.add (local.get $row) (i32.const 15)) (local.get $factors) (local.get $out) (local.get $a) (local.get $b) (local.get $c))
        (local.set $row (i32.add (local.get $row) (i32.const 16)))
        (br $blocks))))
)
