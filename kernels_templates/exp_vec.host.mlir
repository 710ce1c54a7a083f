// exp_vec.host.mlir: exp of W lanes at once, for the CPU kernels that take
// many (attention's softmax, silu): Cephes' expf (range reduction by ln 2 in
// two parts, a degree-5 polynomial; about 1 ulp, like libm's, whose call per
// element made them their step's bottleneck). x is clamped to [-87, HI] so
// 2^n stays a normal float: exp(-87) ~ 1.6e-38 stands in for anything
// smaller (HI = 0 where every x <= 0, attention's shifted scores; 88 at most,
// exp(88) ~ 1.65e38). Every lane is computed alike: an element's bits do not
// depend on which lane, or a vector or a broadcast scalar, carried it.
//   params: NAME, W (lanes), HI (f32 literal)
func.func private @{{NAME}}_exp(%x0: vector<{{W}}xf32>) -> vector<{{W}}xf32> {
  %lo = arith.constant dense<-87.0> : vector<{{W}}xf32>
  %hi = arith.constant dense<{{HI}}> : vector<{{W}}xf32>
  %log2e = arith.constant dense<1.44269504088896341> : vector<{{W}}xf32>
  %ln2_hi = arith.constant dense<0.693359375> : vector<{{W}}xf32>
  %ln2_lo = arith.constant dense<-2.12194440e-4> : vector<{{W}}xf32>
  %p0 = arith.constant dense<1.9875691500e-4> : vector<{{W}}xf32>
  %p1 = arith.constant dense<1.3981999507e-3> : vector<{{W}}xf32>
  %p2 = arith.constant dense<8.3334519073e-3> : vector<{{W}}xf32>
  %p3 = arith.constant dense<4.1665795894e-2> : vector<{{W}}xf32>
  %p4 = arith.constant dense<1.6666665459e-1> : vector<{{W}}xf32>
  %p5 = arith.constant dense<5.0000001201e-1> : vector<{{W}}xf32>
  %one = arith.constant dense<1.0> : vector<{{W}}xf32>
  %bias = arith.constant dense<127> : vector<{{W}}xi32>
  %shift = arith.constant dense<23> : vector<{{W}}xi32>
  %x1 = arith.maximumf %x0, %lo : vector<{{W}}xf32>
  %x = arith.minimumf %x1, %hi : vector<{{W}}xf32>
  %nx = arith.mulf %x, %log2e : vector<{{W}}xf32>
  // Round to nearest even by adding and subtracting 1.5 * 2^23 (|nx| <=
  // 126 here), which every target does in two instructions; math.roundeven
  // is a libm call per lane where SSE4.1 is missing (x86-64).
  %magic = arith.constant dense<12582912.0> : vector<{{W}}xf32>
  %nm = arith.addf %nx, %magic : vector<{{W}}xf32>
  %n = arith.subf %nm, %magic : vector<{{W}}xf32>
  %nh = arith.mulf %n, %ln2_hi : vector<{{W}}xf32>
  %r1 = arith.subf %x, %nh : vector<{{W}}xf32>
  %nl = arith.mulf %n, %ln2_lo : vector<{{W}}xf32>
  %r = arith.subf %r1, %nl : vector<{{W}}xf32>
  %m0 = arith.mulf %p0, %r fastmath<contract> : vector<{{W}}xf32>
  %q0 = arith.addf %m0, %p1 fastmath<contract> : vector<{{W}}xf32>
  %m1 = arith.mulf %q0, %r fastmath<contract> : vector<{{W}}xf32>
  %q1 = arith.addf %m1, %p2 fastmath<contract> : vector<{{W}}xf32>
  %m2 = arith.mulf %q1, %r fastmath<contract> : vector<{{W}}xf32>
  %q2 = arith.addf %m2, %p3 fastmath<contract> : vector<{{W}}xf32>
  %m3 = arith.mulf %q2, %r fastmath<contract> : vector<{{W}}xf32>
  %q3 = arith.addf %m3, %p4 fastmath<contract> : vector<{{W}}xf32>
  %m4 = arith.mulf %q3, %r fastmath<contract> : vector<{{W}}xf32>
  %q4 = arith.addf %m4, %p5 fastmath<contract> : vector<{{W}}xf32>
  %rr = arith.mulf %r, %r : vector<{{W}}xf32>
  %q5 = arith.mulf %q4, %rr : vector<{{W}}xf32>
  %q6 = arith.addf %q5, %r : vector<{{W}}xf32>
  %y = arith.addf %q6, %one : vector<{{W}}xf32>
  %ni = arith.fptosi %n : vector<{{W}}xf32> to vector<{{W}}xi32>
  %eb = arith.addi %ni, %bias : vector<{{W}}xi32>
  %e = arith.shli %eb, %shift : vector<{{W}}xi32>
  %scale = arith.bitcast %e : vector<{{W}}xi32> to vector<{{W}}xf32>
  %out = arith.mulf %y, %scale : vector<{{W}}xf32>
  return %out : vector<{{W}}xf32>
}
